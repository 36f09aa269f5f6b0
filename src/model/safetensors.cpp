#include "model/safetensors.h"

#include <ATen/ops/empty.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "common/atomic_output.h"
#include "common/error.h"
#include "model/finite_weights.h"
#include "model/safetensors_format.h"

namespace rr {

TensorMap read_safetensors(const std::filesystem::path& path) {
  SafetensorsFile file = parse_safetensors(path);
  TensorMap out;
  for (const auto& e : file.entries) {
    const at::ScalarType target = e.dtype == "I64" ? at::kLong : e.dtype == "I32" ? at::kInt : at::kFloat;
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(target));
    const char* src = file.data.data() + e.begin;
    const int64_t numel = t.numel();
    if (e.dtype == "F32" || e.dtype == "I64" || e.dtype == "I32") {
      std::memcpy(t.data_ptr(), src, e.end - e.begin);
    } else {
      float* dst = t.data_ptr<float>();
      for (int64_t i = 0; i < numel; ++i) {
        if (e.dtype == "F16") {
          c10::Half h;
          std::memcpy(&h.x, src + 2 * i, 2);
          dst[i] = static_cast<float>(h);
        } else if (e.dtype == "BF16") {
          c10::BFloat16 h;
          std::memcpy(&h.x, src + 2 * i, 2);
          dst[i] = static_cast<float>(h);
        } else {
          double v;
          std::memcpy(&v, src + 8 * i, 8);
          dst[i] = static_cast<float>(v);
        }
      }
    }
    out.emplace(e.name, t);
  }
  check_finite_weights(out, path);
  return out;
}

void write_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> payload;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    at::Tensor t = tensor.detach().to(at::kCPU, at::kFloat).contiguous();
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * 4;
    header[name] = {{"dtype", "F32"}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    payload.push_back(t);
  }
  std::string h = header.dump();
  while (h.size() % 8) h.push_back(' ');
  uint64_t len = h.size();
  AtomicFile f(path, /*binary=*/true);
  f.stream().write(reinterpret_cast<const char*>(&len), 8);
  f.stream() << h;
  for (const auto& t : payload)
    f.stream().write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * 4));
  f.commit();
}

}  // namespace rr
