// A BERT encoder (Hugging Face BertModel without the pooler) over a flat map of parameters with HF's
// names, and the embedding of texts: masked mean pooling (Contriever, the default), CLS pooling, optional
// L2 normalisation. Experts change it only through per-Linear deltas (model/linear_delta.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/bert_config.h"
#include "model/embedding_rule.h"
#include "model/linear_delta.h"
#include "model/safetensors.h"

namespace rr {

class BertEncoder {
 public:
  // Validates names and shapes against the config; throws Input listing every missing or misshapen tensor.
  BertEncoder(BertConfig config, TensorMap params, const std::string& where = "model");
  // A model directory: config.json + model.safetensors or pytorch_model.bin. Checkpoints with a "bert."
  // prefix (BertForMaskedLM, ...) are accepted; heads and the pooler are ignored (logged).
  // The directory's embedding rule (read_embedding_rule) becomes the model's own.
  static BertEncoder load(const std::filesystem::path& dir);
  // Hugging Face's initialisation (normal(0, initializer_range), LayerNorm 1/0, biases 0), seeded.
  static BertEncoder random(const BertConfig& config, uint64_t seed);
  // config.json + model.safetensors that transformers' BertModel.from_pretrained reads, and the embedding
  // rule.
  void save(const std::filesystem::path& dir) const;

  // input_ids, attention_mask: B x T int64 on the encoder's device. Returns the last hidden state B x T x H.
  // mode.training: dropout on (the model's own, unless disabled below, and the deltas').
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                     const DeltaBatch* deltas = nullptr, const ForwardMode& mode = {}) const;
  // Pooled B x H embeddings, by `rule` or (nullptr) the model's own.
  at::Tensor embed(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                   const DeltaBatch* deltas = nullptr, const ForwardMode& mode = {},
                   const EmbeddingOptions* rule = nullptr) const;
  // How this model's texts become vectors everywhere (encode, score, routing, expert training, search).
  const EmbeddingOptions& embedding_rule() const { return rule_; }
  void set_embedding_rule(const EmbeddingOptions& rule) { rule_ = rule; }

  const BertConfig& config() const { return config_; }
  const TensorMap& params() const { return params_; }
  void to(const at::Device& device);
  at::Device device() const;
  void set_requires_grad(bool requires_grad);
  // A copy sharing every weight but those in `replaced` (same names and shapes; e.g. merged LoRA weights).
  BertEncoder with_params(const TensorMap& replaced) const;
  // Shape of the Linear at module_path (out, in), or throws.
  std::pair<int64_t, int64_t> linear_shape(const std::string& module_path) const;
  std::vector<std::string> linear_modules() const;  // every Linear's module path
  // Turns the model's own hidden/attention dropout off (e.g. for rank-count-invariant training tests).
  void disable_dropout() { config_.hidden_dropout_prob = config_.attention_probs_dropout_prob = 0; }

 private:
  at::Tensor linear(const at::Tensor& x, const std::string& module, const DeltaBatch* deltas,
                    const ForwardMode& mode) const;
  // Inference under CPU bf16 autocast (gradients and dropout off) runs the layers on packed bf16 weights
  // with fused epilogues (model/bf16_dense.h, model/bf16_attention.h); else the layers below.
  bool runs_packed_bf16(const ForwardMode& mode) const;
  at::Tensor packed_bf16_layers(at::Tensor h, const at::Tensor& mask, const DeltaBatch* deltas,
                                const ForwardMode& mode) const;
  const at::Tensor& param(const std::string& name) const;
  // The weight as the linear layer multiplies it: under bf16 autocast a frozen fp32 weight's bf16 rounding,
  // cast once and kept (autocast would recast every weight on every forward), else the weight itself.
  at::Tensor matmul_weight(const std::string& module) const;
  BertConfig config_;
  TensorMap params_;
  EmbeddingOptions rule_;
  // bf16 roundings of linear weights, each valid while its source tensor is the same storage at the same
  // version (an in-place update bumps the version). BERT-base: 170 MB.
  struct Bf16Weight {
    at::Tensor rounded;
    const void* source = nullptr;
    uint32_t version = 0;
  };
  mutable std::map<std::string, Bf16Weight> bf16_weights_;
  // The packed weights of runs_packed_bf16, made on first use and remade when a weight or bias is another
  // tensor or was updated in place (the tensors packed are kept, so no other tensor can take their memory
  // meanwhile). Copies share the slot (inference_encoder() of a full model packs once); with_params gives its
  // copy a slot of its own. Like the rest of the model, not for concurrent forwards. BERT-base: 170 MB.
  struct PackedBf16;
  struct PackedSlot {
    std::shared_ptr<const PackedBf16> packed;
  };
  std::shared_ptr<PackedSlot> packed_slot_ = std::make_shared<PackedSlot>();
  const PackedBf16& packed_bf16() const;
};

// Every problem with a set of tensor names and shapes as BertModel weights for `config` (missing tensors,
// wrong shapes), one line each; empty when they fit. Names without the "bert." prefix.
std::vector<std::string> bert_tensor_problems(const BertConfig& config,
                                              const std::map<std::string, std::vector<int64_t>>& shapes);

// Masked mean over tokens: hidden B x T x H, mask B x T -> B x H.
at::Tensor mean_pool(const at::Tensor& hidden, const at::Tensor& attention_mask);

}  // namespace rr
