#!/usr/bin/python3
"""The scaling model of rr on MS MARCO: bytes moved and memory per rank, for T experts on P ranks.
Every number is a formula over the sizes below (see the comments); nothing is measured here.
Usage: scaling_model.py [P=64]"""
import sys

P = int(sys.argv[1]) if len(sys.argv) > 1 else 64
N = 8_841_823          # MS MARCO passages
d = 768                # Contriever hidden size
Q_dev = 6_980          # MS MARCO dev queries (evaluation)
Q_train = 500_000      # training queries scored per expert (a subsample of the 532k)
k = 1000               # hits kept per query
layers, r = 12, 8      # LoRA on query and value of every layer: 2 x (r x d + d x r) per layer
hit = 8 + 4 + 8        # one hit: doc row (int64), score (float32), tie key (int64)

def mb(x): return f"{x / 2**20:,.1f} MB"
def gb(x): return f"{x / 2**30:,.1f} GB"

adapter = layers * 2 * (r * d + d * r) * 4
rows = []
for T in (7, 100):
    index32, index16 = N * d * 4, N * d * 2
    shard = index32 / P
    routers = 12 + T                                     # every router and baseline row, single experts included
    q_gather = Q_dev * d * 4                             # all-gathered query embeddings, per router
    topk_tree = Q_dev * k * hit * max(1, (P - 1).bit_length())   # tree merge: log2 P levels into rank 0
    score_gather = Q_train * d * 4                       # per expert: training-query embeddings, all-gathered
    score_topk = Q_train * 11 * hit * max(1, (P - 1).bit_length())
    rows.append((T, [
        ("index (fp32 / fp16), whole", f"{gb(index32)} / {gb(index16)}"),
        ("index shard per rank (fp32)", gb(shard)),
        ("encode: bytes written per rank (fp32)", gb(shard)),
        ("adapters held by every rank", mb(T * adapter)),
        ("pilot library (T x T pilots)", mb(T * T * d * 4)),
        ("score: all-gathered query vectors per rank", gb(T * score_gather)),
        ("score: top-11 lists into rank 0 (tree)", gb(T * score_topk)),
        ("evaluate: all-gathered query vectors per rank", gb(routers * q_gather)),
        ("evaluate: top-k lists into rank 0 (tree)", gb(routers * topk_tree)),
        ("evaluate: rank 0 peak for one router's lists", mb(2 * Q_dev * k * hit)),
        ("search memory per rank (scores of 256 q x 16384 rows)", mb(256 * 16384 * 4)),
    ]))

print(f"# Scaling model: MS MARCO ({N:,} passages x {d}), {P} ranks, k = {k}\n")
print("| quantity | " + " | ".join(f"T = {T} experts" for T, _ in rows) + " |")
print("|---|" + "---:|" * len(rows))
for i, (name, _) in enumerate(rows[0][1]):
    print(f"| {name} | " + " | ".join(r[1][i][1] for r in rows) + " |")
print(f"\nOne LoRA adapter (r {r}, query and value of {layers} layers): {adapter / 2**20:.2f} MB. "
      "Documents never move between ranks: each rank encodes and searches only its shard; "
      "queries are small and are all-gathered; only top-k lists travel to rank 0.")
