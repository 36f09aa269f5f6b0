#include "model/pytorch_bin.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>

#include "common/error.h"

namespace rr {

TensorMap read_pytorch_bin(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open", path.string());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(bytes);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    RR_THROW(Input, "{}: not a readable PyTorch checkpoint (truncated or corrupt?): {}", path.string(),
             msg.substr(0, msg.find('\n')));
  }
  if (!value.isGenericDict()) RR_THROW(Input, "{}: checkpoint is not a dict of tensors", path.string());
  TensorMap out;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor()) continue;
    at::Tensor t = item.value().toTensor();
    out.emplace(item.key().toStringRef(),
                t.is_floating_point() ? t.to(at::kFloat).contiguous() : t.contiguous());
  }
  return out;
}

}  // namespace rr
