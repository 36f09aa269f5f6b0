#include "model/text_encoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <numeric>
#include <optional>

#include "common/error.h"
#include "common/log.h"

namespace rr {

TokenIds tokenize_all(const BertTokenizer& tokenizer, const std::vector<std::string>& texts,
                      int64_t max_length) {
  TokenIds ids(texts.size());
  std::vector<std::string> errors(texts.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      ids[i] = tokenizer.encode(texts[i], max_length);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  for (size_t i = 0; i < texts.size(); ++i)
    if (!errors[i].empty()) RR_THROW(Input, "text {}: {}", i, errors[i]);
  return ids;
}

LengthBatches plan_batches(const TokenIds& ids, int64_t max_batch, int64_t token_budget) {
  RR_CHECK(max_batch > 0 && token_budget > 0, Usage, "batch size ({}) and token budget ({}) must be positive",
           max_batch, token_budget);
  LengthBatches b;
  b.order.resize(ids.size());
  std::iota(b.order.begin(), b.order.end(), 0);
  std::stable_sort(b.order.begin(), b.order.end(),
                   [&](int64_t x, int64_t y) { return ids[x].size() > ids[y].size(); });
  int64_t begin = 0;
  const int64_t n = static_cast<int64_t>(ids.size());
  while (begin < n) {
    const int64_t longest = static_cast<int64_t>(ids[b.order[begin]].size());
    int64_t end = begin + 1;
    while (end < n && end - begin < max_batch && (end - begin + 1) * longest <= token_budget) ++end;
    b.ranges.emplace_back(begin, end);
    begin = end;
  }
  return b;
}

at::Tensor encode_ids(const BertEncoder& model, const TokenIds& ids, const EncodeParams& params,
                      const std::vector<const LoraAdapter*>& adapters,
                      const std::vector<int32_t>& row_adapter, Progress* progress) {
  c10::InferenceMode guard;
  const int64_t n = static_cast<int64_t>(ids.size()), H = model.config().hidden_size;
  RR_CHECK(row_adapter.empty() || static_cast<int64_t>(row_adapter.size()) == n, Runtime,
           "encode: {} texts but {} adapter choices", n, row_adapter.size());
  at::Tensor out = at::empty({n, H}, at::kFloat);
  if (n == 0) return out;
  // One adapter for every row: merge it into the weights once (no per-layer LoRA matmuls).
  std::optional<BertEncoder> merged;
  if (row_adapter.empty() && adapters.size() == 1) merged.emplace(model.merged(*adapters[0]));
  const BertEncoder& net = merged ? *merged : model;
  const bool mixed = !row_adapter.empty() && !adapters.empty();

  LengthBatches plan = plan_batches(ids, params.max_batch, params.token_budget);
  const auto device = model.device();
  for (const auto& [begin, end] : plan.ranges) {
    const int64_t B = end - begin, T = static_cast<int64_t>(ids[plan.order[begin]].size());
    at::Tensor input = at::zeros({B, T}, at::kLong), mask = at::zeros({B, T}, at::kLong);
    auto* ip = input.data_ptr<int64_t>();
    auto* mp = mask.data_ptr<int64_t>();
    std::vector<int64_t> rows(static_cast<size_t>(B)), choice(static_cast<size_t>(B));
    for (int64_t r = 0; r < B; ++r) {
      const int64_t idx = plan.order[begin + r];
      rows[r] = idx;
      const auto& t = ids[idx];
      for (size_t j = 0; j < t.size(); ++j)
        ip[r * T + static_cast<int64_t>(j)] = t[j], mp[r * T + static_cast<int64_t>(j)] = 1;
      if (mixed) choice[r] = row_adapter[idx];
    }
    AdapterBatch lora;
    const AdapterBatch* lora_ptr = nullptr;
    if (mixed) {
      lora.adapters = adapters;
      lora.row_adapter = at::tensor(choice, at::kLong).to(device);
      lora_ptr = &lora;
    }
    at::Tensor emb =
        net.embed(input.to(device), mask.to(device), lora_ptr, false, params.embedding).to(at::kCPU);
    out.index_copy_(0, at::tensor(rows, at::kLong), emb);
    if (progress) progress->advance(B);
  }
  return out;
}

}  // namespace rr
