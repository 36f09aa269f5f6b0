// Distributed exact top-k: every rank holds the top-k of its corpus shard for the same queries (global
// document rows); rank `root` receives the global top-k, equal to a single-process search, ties included.
// Any rank can be the root, so the lists of different query blocks can merge at different ranks.
#pragma once

#include "mpi/comm.h"
#include "search/topk.h"

namespace rr::mpi {

// Collective; merged along a binary tree (the root receives log2 P lists). Returns the merged lists on
// `root` and an empty TopK elsewhere.
TopK gather_topk(const Comm& comm, const TopK& local, int root = 0);

}  // namespace rr::mpi
