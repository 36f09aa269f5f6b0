#include "model/safetensors_format.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "common/error.h"

namespace rr {

SafetensorsFile parse_safetensors(const std::filesystem::path& path, bool header_only) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open", path.string());
  const auto file_size = static_cast<uint64_t>(std::filesystem::file_size(path));
  uint64_t header_len = 0;
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(&header_len), 8))
    RR_THROW(Input, "{}: truncated safetensors file (no header length)", path.string());
  if (header_len > file_size - 8 || header_len > (uint64_t{100} << 20))
    RR_THROW(Input,
             "{}: safetensors header length {} exceeds the file ({} bytes): truncated or not safetensors",
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
  SafetensorsFile out;
  const uint64_t data_size = file_size - 8 - header_len;
  if (!header_only) {
    out.data.resize(data_size);
    if (!in.read(out.data.data(), static_cast<std::streamsize>(data_size)))
      RR_THROW(Input, "{}: cannot read tensor data", path.string());
  }
  for (auto& item : j.items()) {
    const std::string name = item.key();
    auto& info = item.value();
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& what) {
      RR_THROW(Input, "{}: tensor '{}': {}", path.string(), name, what);
    };
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
        !info.contains("data_offsets"))
      bad("needs dtype, shape and data_offsets");
    SafetensorsEntry e;
    e.name = name;
    e.dtype = info["dtype"].is_string() ? info["dtype"].get<std::string>() : "";
    if (!info["shape"].is_array()) bad("bad shape");
    uint64_t numel = 1;
    for (auto& d : info["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 40))
        bad("bad shape");
      e.shape.push_back(d.get<int64_t>());
      if (numel > (uint64_t{1} << 62) / (static_cast<uint64_t>(e.shape.back()) + 1)) bad("shape too large");
      numel *= static_cast<uint64_t>(e.shape.back());
    }
    auto& off = info["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad("bad data_offsets");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      bad(fmt::format("data [{}, {}) outside the {} data bytes (truncated file?)", e.begin, e.end,
                      data_size));
    if (e.dtype == "F32" || e.dtype == "I32")
      e.element_size = 4;
    else if (e.dtype == "F16" || e.dtype == "BF16")
      e.element_size = 2;
    else if (e.dtype == "F64" || e.dtype == "I64")
      e.element_size = 8;
    else
      bad(fmt::format("unsupported dtype '{}' (F32, F16, BF16, F64, I64, I32)", e.dtype));
    if (numel * e.element_size != e.end - e.begin)
      bad(fmt::format("shape needs {} bytes of {}, data_offsets give {}", numel * e.element_size, e.dtype,
                      e.end - e.begin));
    out.entries.push_back(std::move(e));
  }
  return out;
}

}  // namespace rr
