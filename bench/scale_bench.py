#!/usr/bin/python3
"""Scale benchmark: a synthetic BEIR experiment (seeded) run stage by stage at np 1, 2 and 4, with each
rank's peak RSS (VmHWM), MPI payload traffic and the wall time per stage, as the stages themselves record
them in <output_dir>/resources/<stage>.json. Then the checks of the scale issue:
  - Q x 4 training queries at fixed N and np: score's peak RSS per rank grows by <= 10%;
  - N x 4 documents on 4x the ranks: the per-rank peak RSS stays within 15% (encode, train expert, score,
    evaluate);
  - rank 0's peak exceeds the median rank's by <= 25% in every stage, by <= 10% in evaluate;
  - evaluate's wall time at np 4 and np 2 over its np 1 time (<= 0.5 at np 4 on a machine with 4 cores; on 2
    cores np 4 shares them, so np 2 is the figure that can reach 0.5).
Usage: scale_bench.py [--docs N] [--queries Q] [--tests Q'] [--experts T] [--work DIR] [--json OUT]
(prints Markdown; --json writes the measurements that bench/scaling_model.py projects from)"""
import argparse, json, os, random, shutil, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RR = os.path.join(os.environ.get("RR_BUILD_DIR", os.path.join(ROOT, "build")), "mpi", "routerretriever")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_pml="ob1",
           OMPI_MCA_btl="self,vader", RR_LOG_LEVEL="warn")
# (record name, command words): the stages measured at every rank count, in pipeline order.
STAGES = [("encode", ["encode"]), ("train-expert", ["train", "expert"]), ("score", ["score"]),
          ("pilot", ["pilot"]), ("evaluate", ["evaluate"])]


def make_dataset(path, name, docs, queries, seed, tests=200):
    """BEIR folder: `docs` short documents over a domain vocabulary, `queries` judged training queries (3-5
    words of their document) plus `tests` test queries."""
    rng = random.Random(f"{name}-{seed}")
    words = [f"{name}{i}" for i in range(3000)] + "the of and to in is was for on with as by".split()
    os.makedirs(os.path.join(path, "qrels"), exist_ok=True)
    texts = []
    with open(os.path.join(path, "corpus.jsonl"), "w") as c:
        for i in range(docs):
            t = [rng.choice(words) for _ in range(rng.randint(8, 24))]
            texts.append(t)
            c.write(json.dumps({"_id": f"{name}-d{i}", "title": "", "text": " ".join(t)}) + "\n")
    with open(os.path.join(path, "queries.jsonl"), "w") as q, \
         open(os.path.join(path, "qrels", "train.tsv"), "w") as tr, \
         open(os.path.join(path, "qrels", "test.tsv"), "w") as te:
        tr.write("query-id\tcorpus-id\tscore\n")
        te.write("query-id\tcorpus-id\tscore\n")
        for i in range(queries + tests):
            doc = rng.randrange(docs)
            q.write(json.dumps({"_id": f"{name}-q{i}", "text": " ".join(rng.sample(texts[doc], 3))}) + "\n")
            (tr if i < queries else te).write(f"{name}-q{i}\t{name}-d{doc}\t1\n")


def make_experiment(work, docs, queries, experts, base_dir=None, tests=200):
    data = os.path.join(work, "data")
    names = [chr(ord("a") + i) * 3 for i in range(experts)]
    for n in names:
        make_dataset(os.path.join(data, n), n, docs, queries, 7, tests)
    cfg = {
        "name": "scale", "seed": 7, "output_dir": os.path.join(work, "run"),
        "datasets": [{"name": n, "path": os.path.join(data, n), "train_split": "train", "test_split": "test",
                      "dev_source": "holdout", "dev_holdout": 50, "pseudo_queries": "none"} for n in names],
        # A vocabulary that holds the domain words and enough steps to pass train base's held-back check
        # (a base no better than its untrained weights is refused); trained once, then given to the other
        # experiments (their documents come from the same generator).
        "base": {"train": True, "training": {"vocab_size": 4000, "hidden_size": 32, "layers": 1, "heads": 2,
                                             "intermediate_size": 64, "steps": 200, "batch_size": 16,
                                             "max_length": 32, "bf16": False}}
                if base_dir is None else {"train": False, "path": base_dir},
        "experts": [{"name": n} for n in names],
        "expert_training": {"steps": 2, "batch_size": 16, "eval_every": 0, "max_query_length": 16},
        "train_multitask": False,
        "routing": {"routers": ["base", "pilot-mean", "pilot-max", "single", "instance-oracle"]},
        "evaluation": {"max_doc_length": 32, "max_query_length": 16, "k": 100, "store_k": 10},
    }
    path = os.path.join(work, "scale.json")
    json.dump(cfg, open(path, "w"), indent=1)
    return path


def rr(np, *args):
    cmd = ["mpirun", "-np", str(np), "--oversubscribe", RR, *args, "--threads", "1"]
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL)


def measure(work, docs, queries, experts, ranks, base_dir=None, tests=200):
    """Stage records for each rank count: {np: {stage: resources json}}. base_dir: a trained base to use (else
    one is trained, and kept at <work>/../rr-scale-base)."""
    if os.path.exists(work):
        shutil.rmtree(work)
    cfg = make_experiment(work, docs, queries, experts, base_dir, tests)
    rr(1, "prepare", "--config", cfg)
    if base_dir is None:
        rr(1, "train", "base", "--config", cfg)
        kept = os.path.join(os.path.dirname(work.rstrip("/")), "rr-scale-base")
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(os.path.join(work, "run", "base"), kept)
    out = {}
    for np in ranks:
        out[np] = {}
        for name, words in STAGES:
            rr(np, *words, "--config", cfg, "--force")
            out[np][name] = json.load(open(os.path.join(work, "run", "resources", name + ".json")))
    return out


def mb(x):
    return x / 1e6


def table(title, runs):
    lines = [f"### {title}", "",
             "| np | stage | wall s | peak RSS rank 0 MB | median MB | max MB | rank 0 / median | sent+recv per rank MB (max) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for np, stages in runs.items():
        for s, _ in STAGES:
            r = stages[s]
            peaks = r["peak_rss_bytes"]
            med = statistics.median(peaks)
            traffic = max(a + b for a, b in zip(r["sent_bytes"], r["received_bytes"]))
            lines.append(f"| {np} | {s} | {r['wall_s']:.1f} | {mb(peaks[0]):.0f} | {mb(med):.0f} | {mb(max(peaks)):.0f} "
                         f"| {peaks[0] / med:.2f} | {mb(traffic):.1f} |")
    return "\n".join(lines)


def peak_max(run, stage):
    return max(run[stage]["peak_rss_bytes"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--experts", type=int, default=2)
    ap.add_argument("--tests", type=int, default=2000, help="test queries per dataset (evaluate's work)")
    ap.add_argument("--work", default="/tmp/rr-scale-bench")
    ap.add_argument("--json", help="write the measurements here")
    a = ap.parse_args()
    base = measure(a.work, a.docs, a.queries, a.experts, [1, 2, 4], tests=a.tests)
    trained = os.path.join(os.path.dirname(a.work.rstrip("/")), "rr-scale-base")
    more_q = measure(a.work, a.docs, 4 * a.queries, a.experts, [2], trained, a.tests)
    more_n = measure(a.work, 4 * a.docs, a.queries, a.experts, [4], trained, a.tests)
    if a.json:
        json.dump({"docs": a.docs, "queries": a.queries, "experts": a.experts, "d": 32,
                   "base": base, "queries_x4": more_q, "docs_x4": more_n}, open(a.json, "w"), indent=1)
    print(f"N = {a.docs} documents, Q = {a.queries} training queries and Q' = {a.tests} test queries per dataset, "
          f"T = {a.experts} experts, tiny BERT (d = 32); one thread per rank, {os.cpu_count()} cores.\n")
    print(table(f"N {a.docs}, Q {a.queries}", base) + "\n")
    print(table(f"Q x 4 ({4 * a.queries}) at np 2", more_q) + "\n")
    print(table(f"N x 4 ({4 * a.docs}) at np 4", more_n) + "\n")
    checks = []
    g = peak_max(more_q[2], "score") / peak_max(base[2], "score") - 1
    checks.append(("Q x 4: score's peak RSS per rank (np 2) grows", f"{100 * g:+.1f}%", g <= 0.10))
    for s in ("encode", "train-expert", "score", "evaluate"):
        g = peak_max(more_n[4], s) / peak_max(base[1], s) - 1
        checks.append((f"N x 4 on 4x the ranks: {s} peak RSS per rank changes", f"{100 * g:+.1f}%", abs(g) <= 0.15))
    worst = max((r["peak_rss_bytes"][0] / statistics.median(r["peak_rss_bytes"]), np, s)
                for runs in (base, more_q, more_n) for np, st in runs.items() for s, r in st.items() if np > 1)
    checks.append((f"rank 0 / median peak RSS, worst stage ({worst[2]} at np {worst[1]})", f"{worst[0]:.2f}",
                   worst[0] <= 1.25))
    ev = max((st["evaluate"]["peak_rss_bytes"][0] / statistics.median(st["evaluate"]["peak_rss_bytes"]), np)
             for runs in (base, more_q, more_n) for np, st in runs.items() if np > 1)
    checks.append((f"evaluate: rank 0 / median peak RSS, worst (np {ev[1]})", f"{ev[0]:.2f}", ev[0] <= 1.10))
    for np in (2, 4):
        r = base[np]["evaluate"]["wall_s"] / base[1]["evaluate"]["wall_s"]
        checks.append((f"evaluate: wall time np {np} / np 1", f"{r:.2f}", r <= 0.5 if np <= (os.cpu_count() or 1) else None))
    print("| check | measured | target met |\n|---|---:|---|")
    for c, v, ok in checks:
        print(f"| {c} | {v} | {'yes' if ok else 'NO' if ok is not None else f'- (np above the {os.cpu_count()} cores)'} |")


if __name__ == "__main__":
    sys.exit(main())
