#include "mpi/mpi_collectives.h"

#include <ATen/ATen.h>

#include "mpi/tensor_comm.h"

namespace rr::mpi {

at::Tensor MpiCollectives::allgather_rows(const at::Tensor& local) const {
  at::Tensor host = local.to(at::kCPU, at::kFloat).contiguous();
  std::vector<float> mine(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
  std::vector<float> all = comm_.allgatherv(mine);
  const int64_t cols = host.dim() > 1 ? host.size(1) : 1;
  return at::from_blob(all.data(), {static_cast<int64_t>(all.size()) / cols, cols}, at::kFloat)
      .clone()
      .to(local.device());
}

void MpiCollectives::allreduce_sum(at::Tensor& t) const {
  mpi::allreduce_sum(comm_, t);  // the free function (tensor_comm.h)
}

}  // namespace rr::mpi
