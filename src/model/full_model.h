// A query model with every weight its own (e.g. the multi-task baseline with full fine-tuning): a BertModel
// directory; it shares nothing with the base at inference.
#pragma once

#include "model/query_model.h"

namespace rr {

class FullModel final : public QueryModel {
 public:
  explicit FullModel(BertEncoder model) : model_(std::move(model)) {}
  at::Tensor embed(const at::Tensor& ids, const at::Tensor& mask, const ForwardMode& mode) const override {
    return model_.embed(ids, mask, nullptr, mode);
  }
  BertEncoder inference_encoder() const override { return model_; }
  const LinearDelta* delta() const override { return nullptr; }
  std::map<std::string, at::Tensor> trainable() override;
  void save(const std::filesystem::path& dir) const override { model_.save(dir); }
  int64_t weight_bytes() const override;

 private:
  BertEncoder model_;
};

}  // namespace rr
