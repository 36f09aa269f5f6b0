// Distributed exact top-k: every rank holds the top-k of its corpus shard for the same queries (global
// document rows); rank `root` receives the global top-k, equal to a single-process search, ties included.
#pragma once

#include "mpi/comm.h"
#include "search/topk.h"

namespace rr::mpi {

// Collective; merged along a binary tree (rank 0 receives log2 P lists). Returns the merged lists on rank 0
// (root must be 0) and an empty TopK elsewhere.
TopK gather_topk(const Comm& comm, const TopK& local, int root = 0);

}  // namespace rr::mpi
