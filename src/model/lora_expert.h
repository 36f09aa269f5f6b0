// The paper's experts: a PEFT LoRA adapter (model/lora.h) on the frozen, shared base encoder.
#pragma once

#include "model/lora.h"
#include "model/query_model.h"

namespace rr {

class LoraExpert final : public QueryModel {
 public:
  // `base` must outlive the expert.
  LoraExpert(const BertEncoder& base, LoraAdapter adapter) : base_(base), adapter_(std::move(adapter)) {}
  at::Tensor embed(const at::Tensor& ids, const at::Tensor& mask, const ForwardMode& mode) const override;
  BertEncoder inference_encoder() const override { return adapter_.merged_into(base_); }
  const LinearDelta* delta() const override { return &adapter_; }
  std::map<std::string, at::Tensor> trainable() override;
  void save(const std::filesystem::path& dir) const override { adapter_.save(dir); }
  int64_t weight_bytes() const override;
  const LoraAdapter& adapter() const { return adapter_; }

 private:
  const BertEncoder& base_;
  LoraAdapter adapter_;
};

}  // namespace rr
