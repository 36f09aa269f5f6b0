// Tensors over a communicator: gradient all-reduce, broadcasts of tensors and named tensor sets (router
// states), and rows gathered in rank order. Any device: CUDA tensors go through host memory (Debian's Open
// MPI is not CUDA-aware).
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

#include "mpi/comm.h"

namespace rr::mpi {

// In place; every rank ends with the same sum. float32 and float64 tensors.
void allreduce_sum(const Comm& comm, at::Tensor& tensor);

// Root's tensor (any shape, a numeric dtype) on every rank, on the CPU; other ranks' input is ignored.
void bcast(const Comm& comm, at::Tensor& tensor, int root = 0);

// Root's named tensors on every rank.
void bcast(const Comm& comm, std::map<std::string, at::Tensor>& tensors, int root = 0);

// Every rank's rows (n_r x width, the same dtype and width everywhere, CPU) stacked in rank order on `root`
// (an undefined tensor elsewhere).
at::Tensor gather_rows(const Comm& comm, const at::Tensor& local, int root = 0);

}  // namespace rr::mpi
