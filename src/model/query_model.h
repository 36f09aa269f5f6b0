// A query model: what embeds queries for one expert or baseline on top of the shared base encoder.
// LoraExpert (the paper's experts: a PEFT LoRA adapter on the frozen base) and FullModel (every weight
// trained, e.g. the multi-task baseline with full fine-tuning). Documents are always embedded by the base.
//
// Adding an expert type: a class deriving from QueryModel, and a branch in load_query_model().
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "model/bert_encoder.h"
#include "model/lora.h"

namespace rr {

class QueryModel {
 public:
  virtual ~QueryModel() = default;
  // Pooled B x H embeddings of padded token ids (B x T on the device), with dropout when mode.training.
  virtual at::Tensor embed(const at::Tensor& ids, const at::Tensor& mask, const ForwardMode& mode) const = 0;
  // The encoder that embeds whole batches with this model alone at inference (LoRA: weights merged).
  virtual BertEncoder inference_encoder() const = 0;
  // What this model adds to the shared base in mixed-expert batches; null when it cannot share the base.
  virtual const LinearDelta* delta() const = 0;
  // The trainable tensors by name (PEFT names for an adapter, HF names for a full model): handles.
  virtual std::map<std::string, at::Tensor> trainable() = 0;
  // Writes the model in its Hugging Face format (a PEFT adapter directory, or a BertModel directory).
  virtual void save(const std::filesystem::path& dir) const = 0;
};

class LoraExpert final : public QueryModel {
 public:
  // `base` must outlive the expert.
  LoraExpert(const BertEncoder& base, LoraAdapter adapter) : base_(base), adapter_(std::move(adapter)) {}
  at::Tensor embed(const at::Tensor& ids, const at::Tensor& mask, const ForwardMode& mode) const override;
  BertEncoder inference_encoder() const override { return adapter_.merged_into(base_); }
  const LinearDelta* delta() const override { return &adapter_; }
  std::map<std::string, at::Tensor> trainable() override;
  void save(const std::filesystem::path& dir) const override { adapter_.save(dir); }
  const LoraAdapter& adapter() const { return adapter_; }

 private:
  const BertEncoder& base_;
  LoraAdapter adapter_;
};

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

 private:
  BertEncoder model_;
};

// Reads a query model directory: a PEFT adapter (adapter_config.json) on `base`, else a full BertModel
// directory (moved to the base's device).
std::unique_ptr<QueryModel> load_query_model(const std::filesystem::path& dir, const BertEncoder& base);

}  // namespace rr
