#include "model/safetensors.h"

#include <ATen/ops/empty.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "common/atomic_output.h"
#include "common/error.h"

namespace rr {

TensorMap read_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open", path.string());
  const auto file_size = static_cast<uint64_t>(std::filesystem::file_size(path));
  uint64_t header_len = 0;
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(&header_len), 8))
    RR_THROW(Input, "{}: truncated safetensors file (no header length)", path.string());
  if (header_len > file_size - 8 || header_len > (uint64_t{100} << 20))
    RR_THROW(Input, "{}: safetensors header length {} exceeds the file ({} bytes): truncated or not safetensors",
             path.string(), header_len, file_size);
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    RR_THROW(Input, "{}: invalid safetensors header JSON: {}", path.string(), e.what());
  }
  if (!j.is_object()) RR_THROW(Input, "{}: safetensors header is not a JSON object", path.string());
  const uint64_t data_begin = 8 + header_len, data_size = file_size - data_begin;
  std::vector<char> data(data_size);
  if (!in.read(data.data(), static_cast<std::streamsize>(data_size)))
    RR_THROW(Input, "{}: cannot read tensor data", path.string());
  TensorMap out;
  for (auto& [name, info] : j.items()) {
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& what) { RR_THROW(Input, "{}: tensor '{}': {}", path.string(), name, what); };
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      bad("needs dtype, shape and data_offsets");
    const std::string dtype = info["dtype"].is_string() ? info["dtype"].get<std::string>() : "";
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (auto& d : info["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) bad("bad shape");
      shape.push_back(d.get<int64_t>());
      numel *= shape.back();
    }
    auto& off = info["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad("bad data_offsets");
    const uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    if (b > e || e > data_size) bad(fmt::format("data [{}, {}) outside the {} data bytes (truncated file?)", b, e, data_size));
    size_t elem;
    at::ScalarType target = at::kFloat;
    if (dtype == "F32") elem = 4;
    else if (dtype == "F16" || dtype == "BF16") elem = 2;
    else if (dtype == "F64") elem = 8;
    else if (dtype == "I64") elem = 8, target = at::kLong;
    else if (dtype == "I32") elem = 4, target = at::kInt;
    else bad(fmt::format("unsupported dtype '{}' (F32, F16, BF16, F64, I64, I32)", dtype));
    if (static_cast<uint64_t>(numel) * elem != e - b)
      bad(fmt::format("shape needs {} bytes of {}, data_offsets give {}", static_cast<uint64_t>(numel) * elem, dtype, e - b));
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(target));
    const char* src = data.data() + b;
    if (dtype == "F32" || dtype == "I64" || dtype == "I32") {
      std::memcpy(t.data_ptr(), src, e - b);
    } else {
      float* dst = t.data_ptr<float>();
      for (int64_t i = 0; i < numel; ++i) {
        if (dtype == "F16") {
          c10::Half h;
          std::memcpy(&h.x, src + 2 * i, 2);
          dst[i] = static_cast<float>(h);
        } else if (dtype == "BF16") {
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
    out.emplace(name, t);
  }
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
  for (const auto& t : payload) f.stream().write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * 4));
  f.commit();
}

}  // namespace rr
