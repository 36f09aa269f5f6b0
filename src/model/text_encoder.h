// The encoding engine: texts -> token ids -> batches sorted by length under a padded-token budget ->
// pooled embeddings, returned in input order. Rows may use different LoRA experts in one batch.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/bert_encoder.h"
#include "model/query_model.h"
#include "text/bert_tokenizer.h"

namespace rr {

class Progress;

struct EncodeParams {
  int64_t max_length = 512;      // ids per text, [CLS] and [SEP] included (HF truncation)
  int64_t max_batch = 128;       // texts per forward pass at most
  int64_t token_budget = 16384;  // padded tokens (texts x longest) per forward pass at most; bounds memory
  std::optional<EmbeddingOptions> embedding;  // pooling and normalisation; none: the model's own rule
  // Precision "bf16": matrix products in bfloat16 under autocast (fp32 accumulation); embeddings, LayerNorm,
  // residuals, softmax and pooling stay fp32. Needs a device with fast bf16 (has_fast_bf16), else Usage
  // error.
  bool bf16 = false;
};

using TokenIds = std::vector<std::vector<int32_t>>;

// Tokenizes in parallel (OpenMP); result in input order.
TokenIds tokenize_all(const BertTokenizer& tokenizer, const std::vector<std::string>& texts,
                      int64_t max_length);

// Batches as [begin, end) ranges over `order` (indices sorted by length, longest first, stable): each at most
// max_batch rows and token_budget padded tokens (rows x longest), so short rows are not padded to long ones.
struct LengthBatches {
  std::vector<int64_t> order;
  std::vector<std::pair<int64_t, int64_t>> ranges;
};
LengthBatches plan_batches(const std::vector<int64_t>& lengths, int64_t max_batch, int64_t token_budget);

// Rows padded with `pad` to the longest: (input_ids, attention_mask), B x T int64 on `device`.
std::pair<at::Tensor, at::Tensor> pad_batch(const std::vector<const std::vector<int32_t>*>& rows, int32_t pad,
                                            const at::Device& device);

// Embeds pre-tokenized texts: n x H float32 on the CPU, rows in input order.
//   models empty: every row by the base;
//   one model and no row_model: every row by that model's inference encoder (LoRA: merged weights);
//   row_model (one entry per text): row i by models[row_model[i]] (-1: the base) in mixed batches, the base
//   projections shared and each row adding its model's delta (every model must have one).
at::Tensor encode_ids(const BertEncoder& base, const TokenIds& ids, const EncodeParams& params,
                      const std::vector<const QueryModel*>& models = {},
                      const std::vector<int32_t>& row_model = {}, Progress* progress = nullptr);

// Embeds rows with `model` as training does (gradients, dropout from mode), in length-sorted chunks of at
// most token_budget padded tokens. Returns B x H in the order of `rows`.
at::Tensor embed_in_length_chunks(const QueryModel& model,
                                  const std::vector<const std::vector<int32_t>*>& rows, int32_t pad,
                                  int64_t token_budget, const at::Device& device, const ForwardMode& mode);

}  // namespace rr
