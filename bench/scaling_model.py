#!/usr/bin/python3
"""Projects rr's memory per rank and traffic to MS MARCO (8.84M passages, 502,939 training queries, d = 768)
with T = 7 and 100 experts on P = 64 and 512 ranks, from the formulas of docs/scaling.md and coefficients
measured by bench/scale_bench.py (its --json output):
  base      the process without data (torch, MPI, the tiny model): the pilot stage's peak at np 1;
  per_doc   resident bytes per document of a rank's shard beyond its vectors (the tie key, the index
            read buffers; BM25 postings in evaluate): (peak at np 1 - peak at np 4) / (3/4 of the documents),
            minus the vectors' d x 4 bytes;
  per_query resident bytes per training query in score at np 2 (the ids every rank reads once, its own
            blocks' texts and judgments): from Q x 4; an upper bound for more ranks (the own share shrinks);
  time      seconds per document encoded and per query x expert scored, from the np 1 run (tiny BERT: a
            lower bound; BERT-base costs ~110M/0.03M as much per token).
Usage: scaling_model.py MEASURED.json"""
import json, sys

m = json.load(open(sys.argv[1]))
docs_total = m["docs"] * m["experts"]             # the bench has one dataset per expert
q_total = m["queries"] * m["experts"]
d_bench = m["d"]
base, x4q = m["base"], m["queries_x4"]


def peak(run, np, stage):
    return max(run[str(np)][stage]["peak_rss_bytes"])


proc = peak(base, 1, "pilot")
per_doc = {s: max(0.0, (peak(base, 1, s) - peak(base, 4, s)) / (0.75 * docs_total) - d_bench * 4)
           for s in ("score", "evaluate")}
per_query = max(0.0, (peak(x4q, 2, "score") - peak(base, 2, "score")) / (3 * q_total))
enc_s_per_doc = base["1"]["encode"]["wall_s"] / docs_total
score_s_per_pair = base["1"]["score"]["wall_s"] / (q_total * m["experts"])

N, Q, d, Qdev, k, store_k = 8_841_823, 502_939, 768, 6_980, 1000, 100
pairs, dev_corpus_max, pseudo = 532_761, 200_000, 20_000   # MS MARCO's judged training pairs; rr's defaults
model = 440e6             # BERT-base fp32
adapter = 16 * 8 * d * 12  # one expert: LoRA r 8 on query and value of BERT-base's 12 layers (1.18 MB)
ids_bytes = 50            # one id held while a corpus is mapped (rank 0, once)
GB = 1e9
# Measured by scale_bench.py --random-experts 100 (BENCHMARKS.md, "Scale benchmark at T = 100 experts").
lists_per_hit, owner_per_hit, classifier_per_expert = 40, 200, 40
single_bytes = store_k * 20 + 25 * 8 + 40   # rank 0, per single expert and test query: hits and measures


def row(T, P):
    shard = N / P * d * 4
    held = min(T, 256) * adapter       # the expert cache (max_loaded_experts 256) holds every expert up to 256
    buffer = 256 * min(4096, N / P) * 4  # exact search's score buffer
    score = (proc + model + held + shard + N / P * per_doc["score"] + Q * per_query + 256 * P * (d * 4 + 11 * 20)
             + buffer)
    score_rank0 = score + Q * T * 16   # a dataset's T columns and their Q x T stack while /scores is written
    # evaluate: one single expert's query vectors at a time and the mixture's k = 2 terms (was all T); every
    # rank its shard's lists of every query, the owner the measure step of its Q'/P queries; rank 0 receives
    # each router's per-query measures and stored rows, and keeps the singles' stored hits and measures (all T
    # singles: evaluation.singles "all"; "own" runs one on MS MARCO).
    evaluate = (proc + model + held + shard + N / P * per_doc["evaluate"] + buffer + (3 + 2) * Qdev * d * 4
                + Qdev * (k + 1) * lists_per_hit + Qdev / P * (k + 1) * owner_per_hit + T * Qdev * single_bytes
                + Qdev * (25 * 8 + store_k * 12))
    score_traffic = T * (Q * d * 4 + Q * 11 * 20 * max(1, (P - 1).bit_length()))
    # train expert (the rows it trains on and searches for dev nDCG, the judged ids, one 2^20-id chunk of the
    # pass over the corpus map; no corpus text): independent of T and P.
    train = proc + model + min(N, pairs + dev_corpus_max + pseudo) * d * 4 + 80 * pairs + 2**20 * ids_bytes
    # pilot (one rank): the routing training set (base embeddings, scores, query ids) and the classifiers'
    # standardised copy of the labelled rows.
    # the classifiers' copy and full-batch logits, targets and gradients of the labelled rows: every training
    # query is the bound (the T = 100 bench labelled 11%: a unique best expert).
    pilot = proc + Q * (d * 4 + T * 8 + 50) + Q * T * 8 + Q * (d * 4 + classifier_per_expert * T)
    return [f"T {T}, P {P}", f"{shard / GB:.2f}", f"{train / GB:.2f}", f"{score / GB:.2f} / {score_rank0 / GB:.2f}",
            f"{evaluate / GB:.2f}", f"{pilot / GB:.2f}", f"{N * ids_bytes / GB:.2f}", f"{score_traffic / GB:.1f}"]


print(f"Coefficients measured by scale_bench (N {m['docs']} x {m['experts']} datasets, Q {m['queries']}, "
      f"d {d_bench}): process {proc / 1e6:.0f} MB; beyond the vectors, score {per_doc['score']:.0f} B and "
      f"evaluate {per_doc['evaluate']:.0f} B per shard document; score {per_query:.0f} B per training query; "
      f"encode {1e6 * enc_s_per_doc:.0f} us per document and score {1e6 * score_s_per_pair:.0f} us per query x "
      "expert (tiny BERT, one thread).\n")
print("| MS MARCO | index shard GB | train expert peak per rank GB | score peak per rank / rank 0 GB | evaluate peak, "
      "rank 0 GB | pilot, one rank GB | prepare's rank 0 ids while mapping, once GB | score traffic per rank GB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for T in (7, 100):
    for P in (64, 512):
        print("| " + " | ".join(row(T, P)) + " |")
print("\nFormulas: shard = N/P x d x 4; train expert = process + model + min(N, pairs + dev_corpus_max + 20000) "
      "x 4d + 80 pairs + 2^20 x 50 (no corpus text: it is read through the corpus map); score = process + model + "
      "min(T, 256) A + shard + N/P x per_doc + Q x per_query + 256 P (4d + 220) + 256 min(4096, N/P) 4, rank 0 + "
      "16 Q T (A = 16 r d x 12 = 1.18 MB: one expert's adapter); evaluate = process + model + min(T, 256) A + "
      "shard + N/P x per_doc + 256 min(4096, N/P) 4 + (3 + 2) Q' 4d + 40 Q' (k + 1) + 200 Q'/P (k + 1) + "
      "T Q' (20 store_k + 240) + Q' (200 + 12 store_k) (one single expert's vectors at a time and the "
      "mixture's terms; every rank its shard's lists of every query, the owner the measure step of its share; "
      "rank 0: every single's stored hits and measures for the oracles and each router's measures and stored "
      "rows; the routers come fitted from pilot); pilot = process + Q (4d + 8T + 50) + 8 Q T + Q (4d + 40 T) "
      "(one rank: the routing training set, the scores as read, the classifiers' copy, logits, targets and "
      "gradients of the labelled rows, bounded by Q); score traffic = T (4 Q d + 220 Q log2 P).")
