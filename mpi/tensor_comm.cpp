#include "mpi/tensor_comm.h"

#include <cstring>

#include <ATen/ATen.h>

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

void bcast(const Comm& comm, at::Tensor& tensor, int root) {
  if (comm.size() == 1) return;
  std::vector<int64_t> header;  // dtype, then the sizes
  if (comm.rank() == root) {
    tensor = tensor.to(at::kCPU).contiguous();
    header.push_back(static_cast<int64_t>(tensor.scalar_type()));
    for (int64_t s : tensor.sizes()) header.push_back(s);
  }
  comm.bcast(header, root);
  if (comm.rank() != root)
    tensor = at::empty(std::vector<int64_t>(header.begin() + 1, header.end()),
                       at::TensorOptions().dtype(static_cast<at::ScalarType>(header[0])));
  comm.bcast_bytes(tensor.data_ptr(), static_cast<int64_t>(tensor.nbytes()), root);
}

void bcast(const Comm& comm, std::map<std::string, at::Tensor>& tensors, int root) {
  if (comm.size() == 1) return;
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors) names.push_back(name);
  int64_t n = comm.bcast_value(static_cast<int64_t>(names.size()), root);
  names.resize(static_cast<size_t>(n));
  for (auto& name : names) name = comm.bcast_string(name, root);
  std::map<std::string, at::Tensor> out;
  for (const auto& name : names) {
    at::Tensor t = comm.rank() == root ? tensors.at(name) : at::Tensor();
    bcast(comm, t, root);
    out[name] = t;
  }
  tensors = std::move(out);
}

at::Tensor gather_rows(const Comm& comm, const at::Tensor& local, int root) {
  const at::Tensor mine = local.contiguous();
  const int64_t width = mine.dim() > 1 ? mine.size(1) : 1, row_bytes = width * mine.element_size();
  std::vector<int64_t> counts;
  const std::vector<char> bytes =
      comm.gatherv_bytes(mine.data_ptr(), mine.numel() * mine.element_size(), counts, false, root);
  if (comm.rank() != root) return {};
  at::Tensor out = at::empty({static_cast<int64_t>(bytes.size()) / std::max<int64_t>(row_bytes, 1), width},
                             mine.options());
  if (!bytes.empty()) std::memcpy(out.data_ptr(), bytes.data(), bytes.size());
  return out;
}

}  // namespace rr::mpi
