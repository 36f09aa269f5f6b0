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
ids_bytes = 50            # one id held while a corpus is mapped (rank 0, once)
GB = 1e9


def row(T, P):
    shard = N / P * d * 4
    score = proc + model + shard + N / P * per_doc["score"] + Q * per_query + 256 * P * (d * 4 + 11 * 20)
    # evaluate: one single expert's query vectors at a time and the mixture's k = 2 terms (was all T); rank 0
    # receives each router's per-query measures and stored rows, and keeps the singles' stored hits.
    evaluate = (proc + model * (1 + 0.02 * T) + shard + N / P * per_doc["evaluate"] + (3 + 2) * Qdev * d * 4
                + Qdev * (k + 1) * 20 + T * Qdev * store_k * 20 + Qdev * (25 * 8 + store_k * 12))
    score_traffic = T * (Q * d * 4 + Q * 11 * 20 * max(1, (P - 1).bit_length()))
    # train expert (the rows it trains on and searches for dev nDCG, the judged ids, one 2^20-id chunk of the
    # pass over the corpus map; no corpus text): independent of T and P.
    train = proc + model + min(N, pairs + dev_corpus_max + pseudo) * d * 4 + 80 * pairs + 2**20 * ids_bytes
    # pilot (one rank): the routing training set (base embeddings, scores, query ids) and the classifiers'
    # standardised copy of the labelled rows.
    pilot = proc + Q * (d * 4 * 2 + T * 8 + 50)
    return [f"T {T}, P {P}", f"{shard / GB:.2f}", f"{train / GB:.2f}", f"{score / GB:.2f}",
            f"{evaluate / GB:.2f}", f"{pilot / GB:.2f}", f"{N * ids_bytes / GB:.2f}", f"{score_traffic / GB:.1f}"]


print(f"Coefficients measured by scale_bench (N {m['docs']} x {m['experts']} datasets, Q {m['queries']}, "
      f"d {d_bench}): process {proc / 1e6:.0f} MB; beyond the vectors, score {per_doc['score']:.0f} B and "
      f"evaluate {per_doc['evaluate']:.0f} B per shard document; score {per_query:.0f} B per training query; "
      f"encode {1e6 * enc_s_per_doc:.0f} us per document and score {1e6 * score_s_per_pair:.0f} us per query x "
      "expert (tiny BERT, one thread).\n")
print("| MS MARCO | index shard GB | train expert peak per rank GB | score peak per rank GB | evaluate peak, "
      "rank 0 GB | pilot, one rank GB | prepare's rank 0 ids while mapping, once GB | score traffic per rank GB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for T in (7, 100):
    for P in (64, 512):
        print("| " + " | ".join(row(T, P)) + " |")
print("\nFormulas: shard = N/P x d x 4; train expert = process + model + min(N, pairs + dev_corpus_max + 20000) "
      "x 4d + 80 pairs + 2^20 x 50 (no corpus text: it is read through the corpus map); score = process + model + shard + N/P x per_doc + Q x per_query + "
      "256 P (4d + 220); evaluate = process + model (1 + 0.02 T) + shard + N/P x per_doc + (3 + 2) Q' 4d + "
      "Q' (k + 1) 20 + T Q' store_k 20 + Q' (200 + 12 store_k) (one single expert's vectors at a time and the "
      "mixture's terms; rank 0: the singles' stored hits for the oracles and each router's measures and stored "
      "rows; the routers come fitted from pilot); pilot = process + Q (8d + 8T + 50) (one rank: the routing training set and "
      "the classifiers' copy); score traffic = T (4 Q d + 220 Q log2 P).")
