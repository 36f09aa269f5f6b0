#!/usr/bin/python3
"""The sections of docs/architecture.md that the code states, made from the code, and README's command line
checked against the executable (CTest `docs_architecture`).

A generated section of docs/architecture.md lies between `<!-- generated: NAME -->` and
`<!-- end generated: NAME -->`; its text is made from:
  stages    `routerretriever stages --markdown` (the stage table: mpi/stages/stage.h, config/stage_list.h)
  commands  `routerretriever --help` (the command table of mpi/main.cpp and its exit-status line)
  routers   src/router/router_list.h (name, Table 1 label, per expert)
  schema    the comment at the top of h5data/schema.h (every path the file names must appear in it)
  layers    scripts/check_code_shape.py's LAYERS (what each layer may include)
README.md's command block must name every command of `--help`, and its exit-status sentence must be --help's.

Usage: architecture_sections.py --rr ROUTERRETRIEVER [--write]
  without --write: exit 1 with a diff when a section or README differs from the code (the test);
  with --write: rewrite the generated sections of docs/architecture.md (commit the result, saying why).
"""
import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import check_code_shape  # noqa: E402

DOC = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"


def run(rr, *args):
    return subprocess.run([rr, *args], check=True, capture_output=True, text=True,
                          env={"RR_LOG_LEVEL": "warn", "PATH": "/usr/bin:/bin"}).stdout


def help_commands(rr):
    """(command table lines, exit-status line) of `routerretriever --help`."""
    text = run(rr, "--help")
    commands = [line for line in text.splitlines() if line.startswith("  ")]
    status = [line for line in text.splitlines() if line.startswith("exit status:")]
    return commands, status[0] if status else ""


def routers_section():
    text = (ROOT / "src" / "router" / "router_list.h").read_text(encoding="utf-8")
    rows = ["| router (config, results) | Table 1 label | per expert |", "|---|---|---|"]
    for name, label, per_expert in re.findall(r'X\("([^"]+)",\s*"([^"]*)",\s*(true|false)', text):
        label = label.replace("{}", "&lt;expert&gt;").replace("|", "\\|")
        rows.append(f"| `{name}` | {label} | {'yes: `' + name + '-<expert>`' if per_expert == 'true' else '-'} |")
    return "\n".join(rows)


def schema_comment():
    lines = []
    for line in (ROOT / "h5data" / "schema.h").read_text(encoding="utf-8").splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[3:] if line.startswith("// ") else line[2:])
    # The first paragraph says where the comment goes; the schema starts at the first file.
    start = next(i for i, line in enumerate(lines) if line.startswith("<output_dir>"))
    return "```\n" + "\n".join(lines[start:]) + "\n```"


def schema_problems(section):
    """Paths the constants of schema.h name that its comment (the section) does not mention."""
    code = (ROOT / "h5data" / "schema.h").read_text(encoding="utf-8")
    problems = []
    for literal in sorted(set(re.findall(r'"/([a-z_]+)[/"]', code))):
        if not re.search(rf"\b{literal}\b", section):
            problems.append(f"h5data/schema.h names /{literal}, which its schema comment does not")
    return problems


def layers_section():
    rows = ["| layer (lowest first) | files | may include |", "|---|---|---|"]
    names = [name for name, _ in check_code_shape.LAYERS]
    for i, (name, prefixes) in enumerate(check_code_shape.LAYERS):
        below = ", ".join(names[:i]) or "— (the standard library and the stack's libraries only)"
        rows.append(f"| {name} | {', '.join('`' + p + '`' for p in prefixes)} | {below} |")
    return "\n".join(rows)


def sections(rr):
    commands, status = help_commands(rr)
    return {
        "stages": run(rr, "stages", "--markdown").rstrip("\n"),
        "commands": "```\n" + "\n".join(commands) + "\n```\n\n" + status,
        "routers": routers_section(),
        "schema": schema_comment(),
        "layers": layers_section(),
    }


def replace_sections(text, made):
    """The document with each generated section's text replaced; the names it has."""
    found = []

    def fill(match):
        name = match.group(1)
        found.append(name)
        if name not in made:
            raise SystemExit(f"docs/architecture.md: unknown generated section '{name}'")
        return f"<!-- generated: {name} -->\n{made[name]}\n<!-- end generated: {name} -->"

    out = re.sub(r"<!-- generated: (\w+) -->\n.*?<!-- end generated: \1 -->", fill, text, flags=re.S)
    return out, found


def readme_problems(rr):
    commands, status = help_commands(rr)
    readme = README.read_text(encoding="utf-8")
    block = readme.split("## The command line", 1)[-1].split("\n## ", 1)[0]
    problems = []
    shown = [re.split(r"[ ]", line.split("routerretriever ", 1)[1]) for line in block.splitlines()
             if line.startswith("routerretriever ")]
    for line in commands:
        words = re.split(r"\s{2,}", line.strip())[0].split()
        # "train expert" is shown by "routerretriever train base|expert|multitask ..."
        if not any(len(s) >= len(words) and all(w in s[i].split("|") for i, w in enumerate(words)) for s in shown):
            problems.append(f"README.md's command line section does not show `routerretriever {' '.join(words)}`")
    if status not in " ".join(block.split()):
        problems.append(f"README.md's command line section lacks --help's line: {status}")
    return problems


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rr", required=True, help="the routerretriever executable")
    parser.add_argument("--write", action="store_true", help="rewrite docs/architecture.md's generated sections")
    args = parser.parse_args(argv)
    made = sections(args.rr)
    text = DOC.read_text(encoding="utf-8")
    new, found = replace_sections(text, made)
    problems = [f"docs/architecture.md has no generated section '{n}'" for n in made if n not in found]
    problems += schema_problems(made["schema"]) + readme_problems(args.rr)
    if args.write:
        DOC.write_text(new, encoding="utf-8")
        print(f"architecture_sections: wrote {len(found)} sections of {DOC.relative_to(ROOT)}")
    elif new != text:
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                                   "docs/architecture.md", "made from the code"))
        problems.append("docs/architecture.md's generated sections differ from the code (diff above; regenerate "
                        "with scripts/architecture_sections.py --rr build/mpi/routerretriever --write)")
    for p in problems:
        print(p)
    print(f"architecture_sections: {len(found)} sections, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
