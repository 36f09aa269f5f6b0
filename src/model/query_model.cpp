#include "model/query_model.h"

#include <ATen/ATen.h>

namespace rr {

at::Tensor LoraExpert::embed(const at::Tensor& ids, const at::Tensor& mask, const ForwardMode& mode) const {
  const DeltaBatch deltas{{&adapter_}, {}};
  return base_.embed(ids, mask, &deltas, mode);
}

std::map<std::string, at::Tensor> LoraExpert::trainable() {
  std::map<std::string, at::Tensor> out;
  for (auto& [m, ab] : adapter_.modules) {
    out["base_model.model." + m + ".lora_A.weight"] = ab.first;
    out["base_model.model." + m + ".lora_B.weight"] = ab.second;
  }
  return out;
}

std::map<std::string, at::Tensor> FullModel::trainable() {
  return {model_.params().begin(), model_.params().end()};
}

std::unique_ptr<QueryModel> load_query_model(const std::filesystem::path& dir, const BertEncoder& base) {
  if (std::filesystem::exists(dir / "adapter_config.json"))
    return std::make_unique<LoraExpert>(base, LoraAdapter::load(dir, base));
  BertEncoder full = BertEncoder::load(dir);
  full.to(base.device());
  return std::make_unique<FullModel>(std::move(full));
}

}  // namespace rr
