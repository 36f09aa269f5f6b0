// Queries are embedded in blocks of kQueryBlock rows dealt round-robin over the ranks (block b on rank
// b % P), so that the rows each block holds never depend on P (search/search_layout.h).
#pragma once

#include <ATen/core/Tensor.h>

#include "mpi/comm.h"

namespace rr::mpi {

// The rows of Q queries from each rank's blocks (`local`: this rank's blocks in order, rows x width), in
// query order: Q x width on every rank (all) or on rank 0 only (undefined elsewhere).
at::Tensor gather_query_blocks(const Comm& comm, const at::Tensor& local, int64_t Q, bool all);

}  // namespace rr::mpi
