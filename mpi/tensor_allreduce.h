// Sum of a tensor over the ranks of a communicator (gradient all-reduce). Any device: CUDA tensors go
// through host memory (Debian's Open MPI is not CUDA-aware).
#pragma once

#include <ATen/core/Tensor.h>

#include "mpi/comm.h"

namespace rr::mpi {

// In place; every rank ends with the same sum. float32 and float64 tensors.
void allreduce_sum(const Comm& comm, at::Tensor& tensor);

}  // namespace rr::mpi
