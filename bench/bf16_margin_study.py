#!/usr/bin/python3
"""Issue 14's margin study for a bf16 candidate search with exact fp32 rescoring: a bf16 GEMM (torch.mm on
bfloat16, as at::mm would run it: bf16 inputs, bf16 scores) selects k + margin candidates per query, which are
rescored in fp32; a query "misses" when a document of its true fp32 top-k is not among the candidates. Prints the
share of queries that miss, for k 10 / 100 and margins 0 .. k, on an index's real vectors (each of NQ corpus rows,
held out of the corpus, as a query) and on Gaussian vectors.
Usage: bf16_margin_study.py [INDEX.h5 [NQ]]   (default: Gaussian only)"""
import sys
import numpy as np
import torch

def miss_rates(corpus, queries, ks=(10, 100)):
    exact = queries @ corpus.T
    approx = (queries.bfloat16() @ corpus.bfloat16().T).float()
    rows = []
    for k in ks:
        if k > corpus.shape[0]:
            continue
        true_top = exact.topk(k, dim=1).indices
        for margin in sorted({0, 1, k // 10, k // 4, k // 2, k}):
            cand = approx.topk(min(k + margin, corpus.shape[0]), dim=1).indices
            hit = (true_top.unsqueeze(2) == cand.unsqueeze(1)).any(2).all(1)
            rows.append((k, margin, 100.0 * (1 - hit.float().mean().item())))
    return rows

def report(name, corpus, queries):
    print(f"{name}: corpus {corpus.shape[0]} x {corpus.shape[1]}, {queries.shape[0]} queries")
    for k, margin, miss in miss_rates(corpus, queries):
        print(f"  k {k:4d}  margin {margin:4d}: {miss:6.2f}% of queries miss a true top-k document")

def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    g = torch.randn(50000, 768)
    report("gaussian", g[1000:], g[:1000])
    if len(sys.argv) > 1:
        import h5py
        nq = int(sys.argv[2]) if len(sys.argv) > 2 else 500
        with h5py.File(sys.argv[1], "r") as f:
            for name in f["index"]:
                v = torch.from_numpy(np.asarray(f["index"][name]["corpus"], dtype=np.float32))
                if v.shape[0] <= 2 * nq:
                    continue
                perm = torch.randperm(v.shape[0])
                report(f"{sys.argv[1]}:{name}", v[perm[nq:]], v[perm[:nq]])

if __name__ == "__main__":
    main()
