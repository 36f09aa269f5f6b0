// The encoding engine: texts -> token ids -> batches sorted by length under a padded-token budget ->
// pooled embeddings, returned in input order. Rows may use different LoRA experts in one batch.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/bert_encoder.h"
#include "text/bert_tokenizer.h"

namespace rr {

class Progress;

struct EncodeParams {
  int64_t max_length = 512;      // ids per text, [CLS] and [SEP] included (HF truncation)
  int64_t max_batch = 128;       // texts per forward pass at most
  int64_t token_budget = 16384;  // padded tokens (texts x longest) per forward pass at most; bounds memory
  EmbeddingOptions embedding;    // pooling and normalisation
};

using TokenIds = std::vector<std::vector<int32_t>>;

// Tokenizes in parallel (OpenMP); result in input order.
TokenIds tokenize_all(const BertTokenizer& tokenizer, const std::vector<std::string>& texts,
                      int64_t max_length);

// Batches as [begin, end) ranges over `order` (indices sorted by length, longest first).
struct LengthBatches {
  std::vector<int64_t> order;
  std::vector<std::pair<int64_t, int64_t>> ranges;
};
LengthBatches plan_batches(const TokenIds& ids, int64_t max_batch, int64_t token_budget);

// Embeds pre-tokenized texts: n x H float32 on the CPU, rows in input order. adapters/row_adapter as
// AdapterBatch (row_adapter[i] = -1 for the base; empty: all rows use the base, or adapters[0] when exactly
// one adapter is given — then the adapter is merged into the weights once for speed).
at::Tensor encode_ids(const BertEncoder& model, const TokenIds& ids, const EncodeParams& params,
                      const std::vector<const LoraAdapter*>& adapters = {},
                      const std::vector<int32_t>& row_adapter = {}, Progress* progress = nullptr);

}  // namespace rr
