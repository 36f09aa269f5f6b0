// The trainers' collectives (train/collectives.h) over an MPI communicator.
#pragma once

#include "mpi/comm.h"
#include "train/collectives.h"

namespace rr::mpi {

class MpiCollectives final : public Collectives {
 public:
  explicit MpiCollectives(const Comm& comm) : comm_(comm) {}
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  at::Tensor allgather_rows(const at::Tensor& local) const override;
  void allreduce_sum(at::Tensor& t) const override;
  double broadcast(double x) const override { return comm_.bcast_value(x, 0); }

 private:
  const Comm& comm_;
};

}  // namespace rr::mpi
