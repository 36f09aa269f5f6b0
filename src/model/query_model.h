// A query model: what embeds queries for one expert or baseline on top of the shared base encoder. Kinds
// (query_model_list.h): LoraExpert (lora_expert.h: the paper's experts, a PEFT LoRA adapter on the frozen
// base) and FullModel (full_model.h: every weight trained, e.g. the multi-task baseline with full
// fine-tuning). Documents are always embedded by the base.
//
// Adding an expert type: a file with a class deriving from QueryModel and `QueryModelKind
// <id>_query_model()`, and one line in query_model_list.h.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/bert_encoder.h"

namespace rr {

class QueryModel {
 public:
  virtual ~QueryModel() = default;
  // Pooled B x H embeddings of padded token ids (B x T on the device), with dropout when mode.training.
  virtual at::Tensor embed(const at::Tensor& ids, const at::Tensor& mask, const ForwardMode& mode) const = 0;
  // The encoder that embeds whole batches with this model alone at inference (LoRA: weights merged).
  virtual BertEncoder inference_encoder() const = 0;
  // What this model adds to the shared base in mixed-expert batches; null when it cannot share the base
  // (its directory is then a model of its own, with the base's tokenizer files beside it).
  virtual const LinearDelta* delta() const = 0;
  // The trainable tensors by name (PEFT names for an adapter, HF names for a full model): handles.
  virtual std::map<std::string, at::Tensor> trainable() = 0;
  // Writes the model in its Hugging Face format (a PEFT adapter directory, or a BertModel directory).
  virtual void save(const std::filesystem::path& dir) const = 0;
  // Bytes of the weights it holds beyond the shared base (an adapter's A and B; a full model's every weight).
  virtual int64_t weight_bytes() const = 0;
};

// One kind of query model directory: how to recognise it and how to read it on top of `base`.
struct QueryModelKind {
  std::string name;  // "lora", "full"
  bool (*recognises)(const std::filesystem::path& dir) = nullptr;
  std::unique_ptr<QueryModel> (*load)(const std::filesystem::path& dir, const BertEncoder& base) = nullptr;
};
const std::vector<QueryModelKind>& query_model_kinds();  // query_model_list.h's order

// Reads a query model directory by the first kind that recognises it (a PEFT adapter: adapter_config.json;
// else a full BertModel directory, moved to the base's device). `base` must outlive the model.
std::unique_ptr<QueryModel> load_query_model(const std::filesystem::path& dir, const BertEncoder& base);

}  // namespace rr
