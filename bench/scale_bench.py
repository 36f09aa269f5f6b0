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
(prints Markdown; --json writes the measurements that bench/scaling_model.py projects from)

--random-experts T (issue 31, item 7): instead, --datasets D datasets (N documents, Q training queries after the
dev hold-out, Q' test queries each) and T experts whose PEFT LoRA adapters are random (written here, used
read-only through "trained_models"); prepare, encode (once), train expert (the read-only check), score, pilot
and evaluate at np 1, 2 and 4, and a null run (no data) the same way; prints each stage's peak per rank and
rank 0's against rr check's estimate and the corrected formulas (within 15%).
  scale_bench.py --random-experts 100 --docs 5000 --queries 5000 --tests 1000 [--json OUT]
  scale_bench.py --report OUT   (the table again from a saved --json)"""
import argparse, json, os, random, re, shutil, statistics, struct, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RR = os.path.join(os.environ.get("RR_BUILD_DIR", os.path.join(ROOT, "build")), "mpi", "routerretriever")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_pml="ob1",
           OMPI_MCA_btl="self,vader", RR_LOG_LEVEL="warn")
# (record name, command words): the stages measured at every rank count, in pipeline order.
STAGES = [("encode", ["encode"]), ("train-expert", ["train", "expert"]), ("score", ["score"]),
          ("pilot", ["pilot"]), ("evaluate", ["evaluate"])]
# The tiny base every experiment here uses (trained once, then given to the others).
BASE_TRAINING = {"vocab_size": 4000, "hidden_size": 32, "layers": 1, "heads": 2, "intermediate_size": 64,
                 "steps": 200, "batch_size": 16, "max_length": 32, "bf16": False}


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
        "base": {"train": True, "training": BASE_TRAINING} if base_dir is None else {"train": False, "path": base_dir},
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


# --- T experts with random LoRA adapters (--random-experts T) -------------------------------------------------
# Issue 31, item 7: memory per rank and rank 0 of score, pilot and evaluate at T = 100 against the projection of
# the stage formulas. The experts are PEFT adapters written here (r 8 on query and value, A and B random, B
# nonzero) as another run's output, <work>/models/experts/<name>, and used read-only through "trained_models";
# expert i trains on dataset i mod D, so score fills T columns per training dataset and evaluation.singles "own"
# runs each dataset's own T / D single experts (what a T = 100 run asks for: "all" would be T searches per
# dataset). The projection: rr's own estimate (`routerretriever check --ranks P`, the stages' *_peak functions)
# at the bench's N, Q, Q', T, P and d, less the same estimate for a run without data (a null run: the same
# datasets with 512 documents, one query block, 16 test queries and one expert each), plus that null run's
# measured peak (the process: LibTorch, MPI, HDF5, the tiny model); and the same with the formulas corrected
# here (formula()).

RANDOM_STAGES = [("train-expert", ["train", "expert"]), ("score", ["score"]), ("pilot", ["pilot"]),
                 ("evaluate", ["evaluate"])]
ROUTERS_T100 = ["base", "expert-classifier", "classification-head", "pilot-mean", "pilot-max", "single",
                "instance-oracle"]


def write_safetensors(path, tensors):
    """safetensors: u64 little-endian header length, the JSON header {name: {dtype, shape, data_offsets}}
    (padded with spaces to 8 bytes, as rr writes it), then the raw little-endian bytes in header order."""
    import numpy as np
    header, blobs, at = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [at, at + a.nbytes]}
        blobs.append(a.tobytes())
        at += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_random_adapter(path, hidden, layers, r, seed):
    """A PEFT LoRA adapter directory as rr's LoraAdapter::save writes it: adapter_config.json and
    adapter_model.safetensors with base_model.model.encoder.layer.<l>.attention.self.{query,value}.lora_{A,B}.weight
    (A [r, hidden] uniform as PEFT initialises it, B [hidden, r] normal: nonzero, so each expert ranks differently)."""
    import numpy as np
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = {}
    for layer in range(layers):
        for m in ("query", "value"):
            p = f"base_model.model.encoder.layer.{layer}.attention.self.{m}"
            t[p + ".lora_A.weight"] = rng.uniform(-hidden ** -0.5, hidden ** -0.5, (r, hidden))
            t[p + ".lora_B.weight"] = rng.normal(0.0, 0.1, (hidden, r))
    write_safetensors(os.path.join(path, "adapter_model.safetensors"), t)
    cfg = {"base_model_name_or_path": "", "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
           "init_lora_weights": True, "layers_pattern": None, "layers_to_transform": None, "lora_alpha": 32,
           "lora_dropout": 0.1, "modules_to_save": None, "peft_type": "LORA", "r": r, "revision": None,
           "target_modules": ["query", "value"], "task_type": None}
    json.dump(cfg, open(os.path.join(path, "adapter_config.json"), "w"), indent=2)


def random_experiment(work, n_datasets, docs, queries, tests, experts, base_dir, r=8):
    """D datasets (as make_dataset makes them: `queries` judged training queries, 50 of them held out for dev)
    and T experts with random adapters in <work>/models (trained_models); expert i trains on dataset i mod D."""
    data, models = os.path.join(work, "data"), os.path.join(work, "models")
    names = [chr(ord("a") + i) * 3 for i in range(n_datasets)]
    for n in names:
        make_dataset(os.path.join(data, n), n, docs, queries, 7, tests)
    bert = json.load(open(os.path.join(base_dir, "config.json")))
    xs = [f"x{i:03d}" for i in range(experts)]
    for i, x in enumerate(xs):
        write_random_adapter(os.path.join(models, "experts", x), bert["hidden_size"], bert["num_hidden_layers"],
                             r, seed=1000 + i)
    cfg = {
        "name": "scale-random", "seed": 7, "output_dir": os.path.join(work, "run"), "trained_models": models,
        "datasets": [{"name": n, "path": os.path.join(data, n), "train_split": "train", "test_split": "test",
                      "dev_source": "holdout", "dev_holdout": 50, "pseudo_queries": "none"} for n in names],
        "base": {"train": False, "path": base_dir},
        "experts": [{"name": x, "datasets": [names[i % n_datasets]]} for i, x in enumerate(xs)],
        "train_multitask": False,
        "routing": {"routers": ROUTERS_T100},
        # BEIR's depth and rr's defaults (k 1000, store_k 100), as the MS MARCO projection has them.
        "evaluation": {"max_doc_length": 32, "max_query_length": 16, "singles": "own"},
    }
    path = os.path.join(work, "scale.json")
    json.dump(cfg, open(path, "w"), indent=1)
    return path


def random_base(work, n_datasets, docs):
    """The tiny base for the random-expert runs, trained once on these datasets' corpora and kept at <work>-base."""
    kept = work.rstrip("/") + "-base"
    if os.path.exists(os.path.join(kept, "model.safetensors")):
        return kept
    tmp = work.rstrip("/") + "-base-run"
    shutil.rmtree(tmp, ignore_errors=True)
    cfg = make_experiment(tmp, docs, 100, n_datasets)
    rr(1, "prepare", "--config", cfg)
    rr(1, "train", "base", "--config", cfg)
    shutil.copytree(os.path.join(tmp, "run", "base"), kept)
    shutil.rmtree(tmp)
    return kept


def check_estimate(cfg, ranks):
    """rr's own estimate: `check --ranks P` prints "peak memory per rank: <stage> <x> MB; ..." (1000-based)."""
    out = subprocess.run([RR, "check", "--config", cfg, "--ranks", str(ranks)], env=ENV, check=True,
                         capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("peak memory per rank:"))
    scale = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
    return {m.group(1): float(m.group(2)) * scale[m.group(3)]
            for m in re.finditer(r"([\w-]+) ([\d.]+) (B|KB|MB|GB|TB);", line.split(":", 1)[1])}


def random_counts(cfg):
    """Per dataset N, the corpus's title + text bytes, Q (training queries after the dev hold-out) and Q'."""
    c = json.load(open(cfg))
    out = []
    for d in c["datasets"]:
        n = nbytes = 0
        for line in open(os.path.join(d["path"], "corpus.jsonl")):
            doc = json.loads(line)
            n += 1
            nbytes += len(doc["title"].encode()) + len(doc["text"].encode())
        q = sum(1 for _ in open(os.path.join(d["path"], "qrels", "train.tsv"))) - 1 - d["dev_holdout"]
        qt = sum(1 for _ in open(os.path.join(d["path"], "qrels", "test.tsv"))) - 1
        out.append({"N": n, "bytes": nbytes, "Q": q, "Qt": qt})
    return out


def labelled_rows(results):
    """Training queries whose best expert is unique (what the classifier routers train on), from /scores;
    None without h5py (the formula then takes every training query)."""
    try:
        import h5py
        import numpy as np
    except ImportError:
        return None
    with h5py.File(results, "r") as f:
        n = 0
        for ds in f["scores"]:
            s = f["scores"][ds][:]
            s = s.reshape(len(s), -1)
            n += int(((s == s.max(axis=1, keepdims=True)).sum(axis=1) == 1).sum())
    return n


def run_random(work, n_datasets, docs, queries, tests, experts, ranks, base_dir, r=8):
    """{np: {stage: resources}} and {np: check's estimate} of one random-expert experiment."""
    if os.path.exists(work):
        shutil.rmtree(work)
    cfg = random_experiment(work, n_datasets, docs, queries, tests, experts, base_dir, r)
    rr(1, "prepare", "--config", cfg)
    rr(2, "encode", "--config", cfg)  # once: the index does not depend on the rank count
    out, est = {}, {}
    for np in ranks:
        out[np] = {}
        for name, words in RANDOM_STAGES:
            rr(np, *words, "--config", cfg, "--force")
            out[np][name] = json.load(open(os.path.join(work, "run", "resources", name + ".json")))
        est[np] = check_estimate(cfg, np)
    return out, est, random_counts(cfg), cfg


def model_bytes(d):
    """M as rr's plan takes it (PlanInputs::model_bytes): BERT-base's fp32 weights scaled by d / 768."""
    return 4 * 110e6 * d / 768


# The corrected formulas' coefficients, measured here (BENCHMARKS.md, "Scale benchmark at T = 100 experts"):
LISTS_BYTES_PER_HIT = 40      # evaluate, every rank: its shard's top-(k+1) lists of every test query (20 B a
                              # hit) and what the allocator keeps of them over the methods (k 1000 - k 100)
OWNER_BYTES_PER_HIT = (100, 200)  # evaluate, the owner of a query (P = 1, P > 1): its merged list (gathered
                              # over the ranks' tree), the hits' ids, the TREC run and trec_eval's copy
SINGLE_BYTES = lambda store_k: store_k * 20 + 25 * 8 + 40  # evaluate, rank 0, per single and test query:
                              # store_k hits (row, score, tie) and BEIR's 25 measures, kept for the oracles
                              # (measured 1.6-2.5 KB at store_k 100 between Q' 300 and 1000)
CLASSIFIER_BYTES_PER_EXPERT = 40  # pilot: a classifier router's full-batch logits, one-hot targets and their
                              # gradients, per labelled row and expert (measured 30-39 B)
SCORE_BUFFER = lambda n_queries, rows, C=4096: min(256, n_queries) * min(C, rows) * 4  # exact search's buffer


def formula(stage, counts, T, singles, P, d, adapter, labelled=None, k=1000, store_k=100, mix=2, bm25=False,
            classifiers=True, max_loaded=256):
    """The corrected formulas (docs/scaling.md): (rank 0, any other rank) peak bytes beyond the process.
    singles[i]: the single experts evaluate runs on dataset i (evaluation.singles); adapter: one expert's
    adapter bytes (r x (in + out) x 4 per adapted Linear); labelled: the training queries with a unique best
    expert, which the classifier routers train on (at most sum Q, the bound `check` has to take); max_loaded:
    the experts the expert cache holds at most (max_loaded_experts)."""
    M = model_bytes(d)
    E = min(T, max_loaded)
    if stage == "score":
        # Every expert's adapter stays loaded (the expert cache keeps up to max_loaded of them); rank 0 then
        # holds a dataset's T columns and their Q x T stack while it writes /scores.
        per = M + E * adapter + max(c["N"] / P * (d * 4 + 8) + 256 * P * (d * 4 + 11 * 20) + 190 * c["Q"]
                                    + SCORE_BUFFER(256 * P, c["N"] / P) for c in counts)
        return per + max(c["Q"] * T * 16 for c in counts), per
    if stage == "pilot":
        q = sum(c["Q"] for c in counts)
        L = q if labelled is None else labelled
        # base embeddings, scores, ids; one dataset's scores twice while read; the classifiers' standardised
        # copy of the labelled rows and their logits, targets and gradients (L x T each).
        return (q * (d * 4 + T * 8 + 50) + max(c["Q"] for c in counts) * T * 8
                + (L * (d * 4 + CLASSIFIER_BYTES_PER_EXPERT * T) if classifiers else 0)), 0.0
    # evaluate: E adapters (not 0.02 M each); the shard's lists of every query and the owner's measure step
    # over its Q'/P queries' k + 1 hits; BM25 only with the bm25 router; rank 0 keeps the singles that ran on
    # the dataset (not T of them).
    owner = OWNER_BYTES_PER_HIT[P > 1]
    per = [c["N"] / P * (d * 4 + 8) + SCORE_BUFFER(c["Qt"], c["N"] / P) + (3 + mix) * c["Qt"] * d * 4
           + c["Qt"] * min(k + 1, c["N"] / P) * LISTS_BYTES_PER_HIT + c["Qt"] / P * min(k + 1, c["N"]) * owner
           + (4 * (1.3 * c["bytes"] + 96 * c["N"]) / P if bm25 else 0) for c in counts]
    rank0 = [x + s * c["Qt"] * SINGLE_BYTES(store_k) for x, s, c in zip(per, singles, counts)]
    base = M + E * adapter
    return base + max(rank0), base + max(per)


def random_shape(cfg):
    """T, the singles per dataset (evaluation.singles "own"), d and one adapter's bytes of an experiment."""
    c = json.load(open(cfg))
    names = [d["name"] for d in c["datasets"]]
    singles = [sum(1 for x in c["experts"] if n in x["datasets"]) for n in names]
    bert = json.load(open(os.path.join(c["base"]["path"], "config.json")))
    x = os.path.join(c["trained_models"], "experts", c["experts"][0]["name"])
    r = json.load(open(os.path.join(x, "adapter_config.json")))["r"]
    d, layers = bert["hidden_size"], bert["num_hidden_layers"]
    return {"T": len(c["experts"]), "singles": singles, "d": d, "adapter": 2 * layers * r * (d + d) * 4,
            "bm25": "bm25" in c["routing"]["routers"],
            "classifiers": any(r in c["routing"]["routers"] for r in ("expert-classifier", "classification-head"))}


def random_report(m):
    """Markdown: measured peaks of score, pilot and evaluate against the projections (from the JSON that
    main_random writes)."""
    big, null = m["run"], m["null"]
    sb, sn = big["shape"], null["shape"]
    lines = [
        f"D = {len(big['counts'])} datasets of N = {big['counts'][0]['N']} documents, Q = {big['counts'][0]['Q']} "
        f"training queries (after the 50 held out for dev) and Q' = {big['counts'][0]['Qt']} test queries each; "
        f"T = {sb['T']} experts with random LoRA adapters (r 8, query and value; {sb['adapter']} B each), expert i "
        f"on dataset i mod D; evaluation.singles \"own\" ({sb['singles'][0]} single experts per dataset), k 1000, "
        f"store_k 100, routers {', '.join(ROUTERS_T100)}; tiny BERT (d = {sb['d']}); one thread per rank, "
        f"{os.cpu_count()} cores. Null run (the process without data): N 512, Q 256, Q' 16, T = D.",
        "",
        "Projected = the null run's measured peak + (estimate at the bench's sizes - estimate at the null run's "
        "sizes); rr check: `routerretriever check --ranks P` (one figure per rank, rank 0's where larger: "
        "compared with the largest rank); corrected: the formulas of docs/scaling.md as corrected here "
        "(bench/scale_bench.py formula()), rank 0 and the other ranks apart. data: (measured - null) / "
        "(projected - null).",
        "",
        "| stage | np | measured max rank MB | rank 0 MB | median MB | rr check projected MB | max / projected "
        "| within 15% | corrected projected rank 0 / others MB | measured / projected rank 0 / others "
        "| within 15% | data rank 0 / others |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|"]
    worst = {}
    for stage in ("score", "pilot", "evaluate"):
        for np in sorted(big["runs"], key=int):
            meas, base = big["runs"][np][stage]["peak_rss_bytes"], null["runs"][np][stage]["peak_rss_bytes"]
            P = int(np)
            est = base_max = max(base)
            est += big["check"][np][stage] - null["check"][np][stage]
            f_big = formula(stage, big["counts"], sb["T"], sb["singles"], P, sb["d"], sb["adapter"],
                            big.get("labelled"), bm25=sb["bm25"], classifiers=sb["classifiers"])
            f_null = formula(stage, null["counts"], sn["T"], sn["singles"], P, sn["d"], sn["adapter"],
                             null.get("labelled"), bm25=sn["bm25"], classifiers=sn["classifiers"])
            others, base_others = max(meas[1:], default=None), max(base[1:], default=None)
            proj0 = base[0] + f_big[0] - f_null[0]
            proj_o = None if others is None else base_others + f_big[1] - f_null[1]
            r_check = max(meas) / est
            r0 = meas[0] / proj0
            ro = None if others is None else others / proj_o
            ok_check = abs(r_check - 1) <= 0.15
            ok = abs(r0 - 1) <= 0.15 and (ro is None or abs(ro - 1) <= 0.15)
            worst[stage] = worst.get(stage, True) and ok
            d0 = (meas[0] - base[0]) / (proj0 - base[0]) if proj0 - base[0] > 1e6 else None
            do = (others - base_others) / (proj_o - base_others) if others and proj_o - base_others > 1e6 else None
            fmt = lambda x, f="{:.2f}": "-" if x is None else f.format(x)
            lines.append(
                f"| {stage} | {np} | {mb(max(meas)):.0f} | {mb(meas[0]):.0f} | {mb(statistics.median(meas)):.0f} "
                f"| {mb(est):.0f} | {r_check:.2f} | {'yes' if ok_check else 'NO'} "
                f"| {mb(proj0):.0f} / {fmt(proj_o and mb(proj_o), '{:.0f}')} | {r0:.2f} / {fmt(ro)} "
                f"| {'yes' if ok else 'NO'} | {fmt(d0)} / {fmt(do)} |")
    lines += ["", "| stage | measured within 15% of the corrected projection (rank 0 and the other ranks, every np) |",
              "|---|---|"] + [f"| {s} | {'yes' if ok else 'NO'} |" for s, ok in worst.items()]
    return "\n".join(lines)


def main_random(a):
    """--random-experts T: the null run and the T-expert run at np 1, 2 and 4, then random_report."""
    t0 = time.time()
    base = a.base or random_base(a.work, a.datasets, a.docs)
    ranks = [1, 2, 4]
    m = {}
    for key, work, sizes in (("null", a.work.rstrip("/") + "-null", (512, 256 + 50, 16, a.datasets)),
                             ("run", a.work, (a.docs, a.queries + 50, a.tests, a.random_experts))):
        runs, check, counts, cfg = run_random(work, a.datasets, *sizes, ranks, base)
        m[key] = {"runs": {str(k): v for k, v in runs.items()}, "check": {str(k): v for k, v in check.items()},
                  "counts": counts, "shape": random_shape(cfg), "config": cfg,
                  "labelled": labelled_rows(os.path.join(work, "run", "results.h5"))}
    m["wall_s"] = time.time() - t0
    if a.json:
        json.dump(m, open(a.json, "w"), indent=1)
    print(random_report(m))
    print(f"\n(whole run {m['wall_s']:.0f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--experts", type=int, default=2)
    ap.add_argument("--tests", type=int, default=2000, help="test queries per dataset (evaluate's work)")
    ap.add_argument("--work", default="/tmp/rr-scale-bench")
    ap.add_argument("--json", help="write the measurements here")
    ap.add_argument("--random-experts", type=int, metavar="T",
                    help="instead: T experts with random LoRA adapters (trained_models) on --datasets datasets; "
                         "score, pilot and evaluate peaks against the projection (issue 31, item 7)")
    ap.add_argument("--datasets", type=int, default=4, help="with --random-experts: datasets (D)")
    ap.add_argument("--base", help="with --random-experts: a trained tiny base (else one is trained, kept at "
                                   "<work>-base)")
    ap.add_argument("--report", metavar="JSON", help="with --random-experts: print the report of a saved --json")
    a = ap.parse_args()
    if a.report:
        print(random_report(json.load(open(a.report))))
        return
    if a.random_experts:
        return main_random(a)
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
