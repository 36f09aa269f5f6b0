#include "model/lora_expert.h"

#include <ATen/ATen.h>

namespace rr {

at::Tensor LoraExpert::embed(const at::Tensor& ids, const at::Tensor& mask, const ForwardMode& mode) const {
  const DeltaBatch deltas{{&adapter_}, {}};
  return base_.embed(ids, mask, &deltas, mode);
}

int64_t LoraExpert::weight_bytes() const {
  int64_t bytes = 0;
  for (const auto& [m, ab] : adapter_.modules) bytes += ab.first.nbytes() + ab.second.nbytes();
  return bytes;
}

std::map<std::string, at::Tensor> LoraExpert::trainable() {
  std::map<std::string, at::Tensor> out;
  for (auto& [m, ab] : adapter_.modules) {
    out["base_model.model." + m + ".lora_A.weight"] = ab.first;
    out["base_model.model." + m + ".lora_B.weight"] = ab.second;
  }
  return out;
}

QueryModelKind lora_query_model() {
  return {
      "lora",
      [](const std::filesystem::path& dir) { return std::filesystem::exists(dir / "adapter_config.json"); },
      [](const std::filesystem::path& dir, const BertEncoder& base) -> std::unique_ptr<QueryModel> {
        return std::make_unique<LoraExpert>(base, LoraAdapter::load(dir, base));
      }};
}

}  // namespace rr
