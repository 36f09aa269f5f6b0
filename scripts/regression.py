#!/usr/bin/python3
"""Golden regressions, Anserini-style: tests/regression/<suite>.tsv pins every number a suite produces, and
`check` reruns the suite and compares exactly (measures at 4 decimals, everything else bit for bit as SHA-256
prefixes), printing each difference as `key: expected X, got Y`.

    scripts/regression.py check SUITE --rr PATH [--output DIR]
    scripts/regression.py write SUITE --rr PATH        # on purpose only; the commit says why

Suites:
  tiny   the tiny e2e pipeline (tests/e2e/tiny.json on make_tiny_data.py's data) at np 1: nDCG@10 and
         recall@100 of every (dataset, router), a hash of every stored run (rows and scores), of every routing,
         and of every prepared split file (the split assignments). --output DIR checks an existing output
         folder instead of running the pipeline.
  bm25   BM25 (`routerretriever bm25`, k1 0.9, b 0.4, 1000 hits) on the classic collections in ../shared/data
         (Cranfield, CISI, MED): their statistics (documents, queries, judged queries, judgments), nDCG@10, MAP
         and recall@100 (trec_eval-exact `measure`), and a hash of each run file.
  vocab  the WordPiece vocabulary `routerretriever vocab` learns from the tiny data (size 300): its hash.
  demo   experiments/demo.json at np 2, --threads 1 (the main job; ~10 min on 2 cores, run by scripts/test.sh):
         nDCG@10 of every (dataset, router) at 4 decimals (exactly; no tolerance) and a hash of each routing.

Exit status: 0 equal (or written), 1 a difference, 2 bad usage or a failed run.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PINNED = ROOT / "tests" / "regression"
SHARED = Path(os.environ.get("RR_SHARED", ROOT.parent / "shared"))
MEASURES = ("ndcg_cut_10", "recall_100")
CLASSIC = {
    "cranfield": ["cran.all.1400", "cran.qry", "cranqrel", "--relevance", "rank"],
    "cisi": ["CISI.ALL", "CISI.QRY", "CISI.REL"],
    "med": ["MED.ALL", "MED.QRY", "MED.REL"],
}
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_pml": "ob1",
           "OMPI_MCA_btl": "self,vader", "RR_LOG_LEVEL": "warn"}


class RunFailed(Exception):
    pass


def run(cmd, **kwargs):
    """Runs cmd; RunFailed with its output's tail when it fails."""
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env={**os.environ, **MPI_ENV},
                          **kwargs)
    if done.returncode != 0:
        raise RunFailed(f"{' '.join(map(str, cmd))} exited {done.returncode}:\n{(done.stdout + done.stderr)[-2000:]}")
    return done.stdout


def digest(data):
    """16 hex digits of the SHA-256 of bytes, or of an array's dtype, shape and contiguous bytes."""
    if isinstance(data, np.ndarray):
        data = f"{data.dtype.str}{data.shape}".encode() + np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def results_values(output, measures=MEASURES, runs=True):
    """{key: value} of an output folder: measures at 4 decimals, run, routing and split hashes."""
    values = {}
    with h5py.File(output / "results.h5", "r") as f:
        for ds in sorted(f["metrics"]):
            for router in sorted(f["metrics"][ds]):
                group = f["metrics"][ds][router]
                names = [m.decode() if isinstance(m, bytes) else m for m in group.attrs["measures"]]
                mean = group["mean"][()]
                for m in measures:
                    values[f"measure\t{ds}\t{router}\t{m}"] = f"{mean[names.index(m)]:.4f}"
        for ds in sorted(f.get("routing", {})):
            for router in sorted(f["routing"][ds]):
                values[f"routing\t{ds}\t{router}"] = digest(f["routing"][ds][router][()])
        if runs:
            for ds in sorted(f.get("runs", {})):
                for router in sorted(f["runs"][ds]):
                    for part in ("doc", "score"):
                        values[f"run\t{ds}\t{router}\t{part}"] = digest(f["runs"][ds][router][part][()])
    for split in sorted((output / "data").glob("*/qrels/*.tsv")) if runs else []:
        values[f"split\t{split.parent.parent.name}\t{split.name}"] = digest(split.read_bytes())
    return values


def tiny_data(work):
    run([sys.executable, ROOT / "tests" / "e2e" / "make_tiny_data.py", work / "data"])
    config = (ROOT / "tests" / "e2e" / "tiny.json").read_text().replace("DATA", str(work / "data"))
    (work / "tiny.json").write_text(config)
    return work / "tiny.json"


def suite_tiny(rr, work, output=None):
    if output is None:
        config = tiny_data(work)
        output = work / "out"
        run(["mpirun", "-np", "1", rr, "pipeline", "--config", config, "--set", f"output_dir={output}",
             "--threads", "1"])
    return results_values(Path(output))


def suite_bm25(rr, work, output=None):
    classic = SHARED / "data" / "classic"
    if not classic.is_dir():
        raise RunFailed(f"{classic} is absent: the bm25 suite needs ../shared (set RR_SHARED)")
    values = {}
    for name, (docs, queries, qrels, *extra) in sorted(CLASSIC.items()):
        src, beir, run_file = classic / name, work / name, work / f"{name}.run"
        run([rr, "convert", "smart", "--docs", src / docs, "--queries", src / queries, "--qrels", src / qrels,
             *extra, "--out", beir])
        run([rr, "bm25", "--beir", beir, "--output", run_file])
        lines = [line.split("\t") for line in (beir / "qrels" / "test.tsv").read_text().splitlines()[1:]]
        trec_qrels = work / f"{name}.qrels"
        trec_qrels.write_text("".join(f"{q} 0 {d} {r.strip()}\n" for q, d, r in lines))
        stats = {"documents": sum(1 for _ in open(beir / "corpus.jsonl")),
                 "queries": sum(1 for _ in open(beir / "queries.jsonl")),
                 "judged_queries": len({q for q, _, _ in lines}), "judgments": len(lines)}
        for key, value in stats.items():
            values[f"stat\t{name}\t{key}"] = str(value)
        out = run([rr, "measure", "--qrels", trec_qrels, "--run", run_file, "-m", "ndcg_cut.10", "-m", "map",
                   "-m", "recall.100"])
        for line in out.splitlines():
            measure, query, value = line.split()
            if query == "all":
                values[f"measure\t{name}\tbm25\t{measure}"] = f"{float(value):.4f}"
        values[f"run\t{name}\tbm25"] = digest(run_file.read_bytes())
    return values


def suite_vocab(rr, work, output=None):
    tiny_data(work)
    vocab = work / "vocab.txt"
    run([rr, "vocab", *[x for d in ("astro", "cook", "law") for x in ("--input", work / "data" / d / "corpus.jsonl")],
         "--size", "300", "--out", vocab])
    return {"vocab\tentries": str(len(vocab.read_text().splitlines())), "vocab\tsha256": digest(vocab.read_bytes())}


def suite_demo(rr, work, output=None):
    if output is None:
        config = json.loads((ROOT / "experiments" / "demo.json").read_text())
        output = work / "demo"
        config["output_dir"] = str(output)
        (work / "demo.json").write_text(json.dumps(config))
        run(["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none", rr, "pipeline", "--config",
             work / "demo.json", "--threads", "1"], cwd=ROOT / "experiments")
    return results_values(Path(output), measures=("ndcg_cut_10",), runs=False)


SUITES = {"tiny": suite_tiny, "bm25": suite_bm25, "vocab": suite_vocab, "demo": suite_demo}


def read_pinned(path):
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit("\t", 1)
            values[key] = value
    return values


def write_pinned(path, suite, values):
    header = (f"# Pinned by scripts/regression.py write {suite}: {SUITES[suite].__name__} (see the script's help).\n"
              f"# Regenerate only on purpose, with that command, and say in the commit why the numbers move.\n")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + "".join(f"{k}\t{v}\n" for k, v in sorted(values.items())))
    os.replace(tmp, path)


def differences(expected, got):
    out = [f"{k.replace(chr(9), ' ')}: expected {v}, got {got[k]}" for k, v in expected.items()
           if k in got and got[k] != v]
    out += [f"{k.replace(chr(9), ' ')}: expected {v}, missing" for k, v in expected.items() if k not in got]
    out += [f"{k.replace(chr(9), ' ')}: not pinned, got {v}" for k, v in got.items() if k not in expected]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("check", "write"))
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("--rr", type=Path, required=True, help="the routerretriever executable")
    parser.add_argument("--output", type=Path, help="tiny, demo: check this output folder instead of running")
    args = parser.parse_args(argv)
    pinned = PINNED / f"{args.suite}.tsv"
    work = Path(tempfile.mkdtemp(prefix=f"rr-regression-{args.suite}-"))
    try:
        values = SUITES[args.suite](args.rr.resolve(), work, args.output)
    except (RunFailed, OSError, KeyError) as error:
        print(f"regression {args.suite}: {error}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.action == "write":
        write_pinned(pinned, args.suite, values)
        print(f"regression {args.suite}: wrote {len(values)} values to {pinned.relative_to(ROOT)}")
        return 0
    if not pinned.exists():
        print(f"regression {args.suite}: {pinned} is missing (scripts/regression.py write {args.suite})", file=sys.stderr)
        return 2
    diff = differences(read_pinned(pinned), values)
    for line in diff:
        print(f"regression {args.suite}: {line}")
    print(f"regression {args.suite}: {len(values)} values compared, {len(diff)} differ")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
