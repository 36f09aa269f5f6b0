#!/usr/bin/python3
"""Counts the tests that skipped in a CTest run and fails on any that tests/allowed_skips.txt does not allow.

    scripts/check_skips.py BUILD_DIR [--junit FILE]

Skips come from three places: CTest's own (a test's SKIP_RETURN_CODE, a discovered gtest that skipped: the
JUnit file `ctest --output-junit` writes), GoogleTest skips inside one CTest test (the MPI binaries:
"[  SKIPPED ] Suite.Name" in Testing/Temporary/LastTest.log) and pytest's (run with -rs: "SKIPPED [n]
file:line: reason"); the end-to-end scripts print "[  SKIPPED ] scenario.part: reason" for a part they skip.
Each skip is "name: reason"; tests/allowed_skips.txt lists regular expressions (one per line, then a tab and
why it may skip) that such a line may match. Exit 1 when an unexpected skip happened (CI requires 0).
"""
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def allowed_patterns():
    patterns = []
    for line in (ROOT / "tests" / "allowed_skips.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, _, why = line.partition("\t")
            patterns.append((re.compile(pattern), why.strip()))
    return patterns


def skips(build, junit):
    found = []
    if junit and junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            if case.get("status") in ("notrun", "skipped") or case.find("skipped") is not None:
                out = case.findtext("system-out") or ""
                reason = next((l.strip() for l in out.splitlines() if "SKIP" in l.upper()), "skipped")
                found.append(f"{case.get('name')}: {reason}")
    log = build / "Testing" / "Temporary" / "LastTest.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    current = ""
    for line in text.splitlines():
        test = re.match(r"\d+/\d+ Test: (\S+)", line)
        if test:
            current = test.group(1)
            continue
        gtest = re.search(r"\[  SKIPPED \] (\S+?)(?::\s*(.*))?$", line)
        if gtest and not current.startswith(gtest.group(1)) and "test, listed below" not in line:
            found.append(f"{current}/{gtest.group(1)}: {gtest.group(2) or 'skipped'}")
        pytest = re.match(r"SKIPPED \[\d+\] (\S+): (.*)", line)
        if pytest:
            found.append(f"{current}/{pytest.group(1)}: {pytest.group(2)}")
    return sorted(set(found))


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    build = Path(argv[0])
    junit = Path(argv[argv.index("--junit") + 1]) if "--junit" in argv else build / "ctest-junit.xml"
    patterns = allowed_patterns()
    unexpected, allowed = [], []
    for skip in skips(build, junit):
        why = next((w for p, w in patterns if p.search(skip)), None)
        (allowed if why else unexpected).append((skip, why))
    for skip, why in allowed:
        print(f"skipped (allowed: {why}): {skip}")
    for skip, _ in unexpected:
        print(f"skipped UNEXPECTEDLY: {skip}")
    print(f"check_skips: {len(allowed) + len(unexpected)} skipped, {len(unexpected)} unexpected")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
