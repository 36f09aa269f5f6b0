#include "model/pytorch_bin.h"

#include <ATen/ops/empty.h>

#include <cstring>
#include <map>
#include <tuple>

#include "model/finite_weights.h"
#include "model/torch_save_format.h"

namespace rr {

namespace {

at::ScalarType scalar_type(const std::string& dtype) {
  static const std::map<std::string, at::ScalarType> kTypes{
      {"F32", at::kFloat}, {"F64", at::kDouble}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
      {"I64", at::kLong},  {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},
      {"U8", at::kByte},   {"BOOL", at::kBool}};
  return kTypes.at(dtype);
}

}  // namespace

TensorMap read_pytorch_bin(const std::filesystem::path& path) {
  const TorchSaveFile file = parse_torch_save(path);
  // One copy of each storage, however many views of it the dict holds (tied weights, slices).
  std::map<std::tuple<uint64_t, std::string, int64_t>, at::Tensor> storages;
  TensorMap out;
  for (const TorchSaveTensor& e : file.tensors) {
    at::Tensor& storage = storages[{e.storage_begin, e.dtype, e.storage_numel}];
    if (!storage.defined()) {
      storage = at::empty({e.storage_numel}, at::TensorOptions().dtype(scalar_type(e.dtype)));
      if (e.storage_numel > 0)
        std::memcpy(storage.data_ptr(), file.bytes.data() + e.storage_begin,
                    static_cast<size_t>(e.storage_numel) * e.element_size);
    }
    const at::Tensor view = storage.as_strided(e.sizes, e.strides, e.storage_offset);
    out.insert_or_assign(e.name,
                         view.is_floating_point() ? view.to(at::kFloat).contiguous() : view.contiguous());
  }
  check_finite_weights(out, path);
  return out;
}

}  // namespace rr
