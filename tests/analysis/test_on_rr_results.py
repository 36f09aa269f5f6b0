"""The analysis tools on a results file rr itself wrote: the tiny e2e pipeline at np 1 (about 5 s), run once.

The executable is $RR_EXECUTABLE (CTest sets it), else build/mpi/routerretriever of this checkout.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "analysis" / "rr_analysis.py"
sys.path.insert(0, str(TOOL.parent))
import rr_analysis  # noqa: E402

RR = Path(os.environ.get("RR_EXECUTABLE", ROOT / "build" / "mpi" / "routerretriever"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The output folder of the tiny pipeline."""
    if not RR.is_file():
        pytest.skip(f"no routerretriever at {RR} (build it, or set RR_EXECUTABLE)")
    work = tmp_path_factory.mktemp("tiny")
    subprocess.run([sys.executable, ROOT / "tests" / "e2e" / "make_tiny_data.py", work / "data"], check=True,
                   capture_output=True)
    config = json.loads((ROOT / "tests" / "e2e" / "tiny.json").read_text().replace("DATA", str(work / "data")))
    config["output_dir"] = str(work / "out")
    (work / "tiny.json").write_text(json.dumps(config))
    env = {**os.environ, "RR_LOG_LEVEL": "warn"}
    done = subprocess.run([RR, "pipeline", "--config", work / "tiny.json", "--threads", "1"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return work / "out"


def tool(*args):
    return subprocess.run([sys.executable, TOOL, *map(str, args)], capture_output=True, text=True)


def test_table_holds_the_stored_means(run):
    results = run / "results.h5"
    frame = rr_analysis.load_results(results)
    table = rr_analysis.make_table([frame], "ndcg_cut_10", "csv")
    with h5py.File(results, "r") as f:
        measures = [m.decode() if isinstance(m, bytes) else m for m in f["metrics/astro/bm25"].attrs["measures"]]
        want = 100 * f["metrics/astro/bm25/mean"][()][measures.index("ndcg_cut_10")]
    row = next(line for line in table.splitlines() if line.split(",")[0] in ("bm25", "BM25"))
    header = table.splitlines()[0].split(",")
    assert float(row.split(",")[header.index("astro")]) == pytest.approx(want, abs=0.05)


def test_export_trec_equals_the_runs_rr_wrote(run, tmp_path):
    done = tool("export-trec", run / "results.h5", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    exported = sorted(tmp_path.glob("*.trec"))
    assert len(exported) == 3 * 14, [p.name for p in exported]  # 3 datasets x 14 routers
    compared = 0
    for path in exported:
        if not (run / "runs" / path.name).exists():  # rr writes no TREC file for the oracles
            assert "oracle" in path.name, path.name
            continue
        compared += 1
        by_query = lambda rows: sorted(rows, key=lambda r: (r[0], int(r[3])))  # noqa: E731 (files differ in query order)
        ours = by_query(line.split() for line in path.read_text().splitlines())
        theirs = by_query(line.split() for line in (run / "runs" / path.name).read_text().splitlines()
                          if int(line.split()[3]) <= 20)  # results.h5 stores store_k = 20 of k = 100
        assert [r[:4] for r in ours] == [r[:4] for r in theirs], path.name
        assert np.allclose([float(r[4]) for r in ours], [float(r[4]) for r in theirs], rtol=0, atol=1e-6)
    assert compared == 3 * 12


def test_compare_on_rr_results(run):
    done = tool("compare", run / "results.h5", "--baseline", "base", "--json", "--permutations", "200")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 3 * 13  # every router but the base, on every dataset
    bm25 = next(r for r in records if r["dataset"] == "astro" and r["system"] == "bm25")
    assert bm25["wins"] + bm25["ties"] + bm25["losses"] == bm25["queries"] > 0
    with h5py.File(run / "results.h5", "r") as f:
        m = [x.decode() if isinstance(x, bytes) else x for x in f["metrics/astro/bm25"].attrs["measures"]]
        col = m.index("ndcg_cut_10")
        diff = f["metrics/astro/bm25/per_query"][()][:, col] - f["metrics/astro/base/per_query"][()][:, col]
    assert bm25["wins"] == int((diff > 0).sum()) and bm25["losses"] == int((diff < 0).sum())


def test_routing_counts_show_the_ties_rr_recorded(run):
    results = rr_analysis.load_results(run / "results.h5")
    counts = rr_analysis.routing_counts(results, "instance-oracle")
    with h5py.File(run / "results.h5", "r") as f:
        queries = len(f["datasets/astro/query_ids/test"])
    assert counts.loc["astro"].sum() == queries


def test_provenance_of_rr_results(run):
    done = tool("provenance", "--verify", "--json", run / "results.h5")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["config_sha256"] == hashlib.sha256(record["config"].encode()).hexdigest()
    assert len(record["inputs"]) == 21 and all(row["now"] == "same" for row in record["inputs"])
    digest = tool("digest", run / "results.h5").stdout
    assert "/provenance" not in digest and "/metrics/astro/bm25/mean" in digest
    # One changed byte: --verify names it and exits 1.
    qrels = next(Path(r["path"]) for r in record["inputs"] if r["name"] == "qrels/all.tsv")
    text = qrels.read_bytes()
    qrels.write_bytes(text[:-2] + (b"2" if text[-2:-1] != b"2" else b"3") + text[-1:])
    try:
        done = tool("provenance", "--verify", run / "results.h5")
        assert done.returncode == 1
        assert f"{qrels}  [changed]" in done.stdout
    finally:
        qrels.write_bytes(text)
