// What training needs from a group of ranks, without MPI in the core: rr's mpi/ layer implements it over
// a communicator; Solo is the single-process group.
#pragma once

#include <ATen/core/Tensor.h>

namespace rr {

class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rows of every rank's tensor (same shape on every rank), concatenated in rank order, on every rank.
  virtual at::Tensor allgather_rows(const at::Tensor& local) const = 0;
  // In-place sum over ranks (float32 or float64).
  virtual void allreduce_sum(at::Tensor& t) const = 0;
  // Rank 0's value of x on every rank.
  virtual double broadcast(double x) const = 0;
};

class Solo final : public Collectives {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  at::Tensor allgather_rows(const at::Tensor& local) const override { return local; }
  void allreduce_sum(at::Tensor&) const override {}
  double broadcast(double x) const override { return x; }
};

}  // namespace rr
