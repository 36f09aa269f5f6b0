#include "mpi/tensor_allreduce.h"

#include "common/error.h"

namespace rr::mpi {

void allreduce_sum(const Comm& comm, at::Tensor& tensor) {
  if (comm.size() == 1) return;
  at::Tensor host = tensor.to(at::kCPU).contiguous();
  switch (host.scalar_type()) {
    case at::kFloat:
      comm.allreduce_sum_float(host.data_ptr<float>(), host.numel());
      break;
    case at::kDouble:
      comm.allreduce_sum_double(host.data_ptr<double>(), host.numel());
      break;
    default:
      RR_THROW(Runtime, "allreduce_sum: unsupported dtype {}",
               std::string(c10::toString(host.scalar_type())));
  }
  if (host.data_ptr() != tensor.data_ptr()) tensor.copy_(host);
}

}  // namespace rr::mpi
