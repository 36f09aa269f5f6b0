#include "model/text_encoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>

#include "common/error.h"
#include "common/log.h"
#include "model/autocast.h"

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

LengthBatches plan_batches(const std::vector<int64_t>& lengths, int64_t max_batch, int64_t token_budget) {
  RR_CHECK(max_batch > 0 && token_budget > 0, Usage, "batch size ({}) and token budget ({}) must be positive",
           max_batch, token_budget);
  LengthBatches b;
  b.order.resize(lengths.size());
  std::iota(b.order.begin(), b.order.end(), 0);
  std::stable_sort(b.order.begin(), b.order.end(),
                   [&](int64_t x, int64_t y) { return lengths[x] > lengths[y]; });
  int64_t begin = 0;
  const int64_t n = static_cast<int64_t>(lengths.size());
  while (begin < n) {
    const int64_t longest = lengths[b.order[begin]];
    int64_t end = begin + 1;
    while (end < n && end - begin < max_batch && (end - begin + 1) * longest <= token_budget) ++end;
    b.ranges.emplace_back(begin, end);
    begin = end;
  }
  return b;
}

std::pair<at::Tensor, at::Tensor> pad_batch(const std::vector<const std::vector<int32_t>*>& rows, int32_t pad,
                                            const at::Device& device) {
  int64_t T = 0;
  for (auto* r : rows) T = std::max<int64_t>(T, static_cast<int64_t>(r->size()));
  const int64_t B = static_cast<int64_t>(rows.size());
  at::Tensor ids = at::full({B, T}, pad, at::kLong), mask = at::zeros({B, T}, at::kLong);
  auto* ip = ids.data_ptr<int64_t>();
  auto* mp = mask.data_ptr<int64_t>();
  for (int64_t i = 0; i < B; ++i)
    for (size_t j = 0; j < rows[i]->size(); ++j)
      ip[i * T + static_cast<int64_t>(j)] = (*rows[i])[j], mp[i * T + static_cast<int64_t>(j)] = 1;
  return {ids.to(device), mask.to(device)};
}

namespace {

std::vector<int64_t> lengths_of(const std::vector<const std::vector<int32_t>*>& rows) {
  std::vector<int64_t> out;
  for (auto* r : rows) out.push_back(static_cast<int64_t>(r->size()));
  return out;
}

}  // namespace

at::Tensor encode_ids(const BertEncoder& base, const TokenIds& ids, const EncodeParams& params,
                      const std::vector<const QueryModel*>& models, const std::vector<int32_t>& row_model,
                      Progress* progress) {
  c10::InferenceMode guard;
  const int64_t n = static_cast<int64_t>(ids.size()), H = base.config().hidden_size;
  RR_CHECK(row_model.empty() || static_cast<int64_t>(row_model.size()) == n, Runtime,
           "encode: {} texts but {} model choices", n, row_model.size());
  at::Tensor out = at::empty({n, H}, at::kFloat);
  if (n == 0) return out;
  // One model for every row: its own inference encoder (LoRA merged once: no per-layer delta matmuls).
  std::optional<BertEncoder> whole;
  if (row_model.empty() && models.size() == 1) whole.emplace(models[0]->inference_encoder());
  const BertEncoder& net = whole ? *whole : base;
  const bool mixed = !row_model.empty() && !models.empty();
  std::vector<const LinearDelta*> expert_deltas;
  for (const QueryModel* m : mixed ? models : std::vector<const QueryModel*>{}) {
    RR_CHECK(m->delta(), Runtime, "encode: a full model cannot share a mixed-expert batch");
    expert_deltas.push_back(m->delta());
  }
  std::vector<const std::vector<int32_t>*> rows;
  for (const auto& t : ids) rows.push_back(&t);
  const LengthBatches plan = plan_batches(lengths_of(rows), params.max_batch, params.token_budget);
  RR_CHECK(
      !params.bf16 || has_fast_bf16(base.device()), Usage,
      "precision bf16: {} has no fast bfloat16 (CUDA, or a CPU with AVX512_BF16 or AMX-BF16; bf16 would be "
      "emulated ~100x slower than fp32); use precision fp32",
      base.device().is_cuda() ? "this GPU" : "this CPU");
  Autocast autocast(params.bf16, base.device());
  for (const auto& [begin, end] : plan.ranges) {
    std::vector<int64_t> members(plan.order.begin() + begin, plan.order.begin() + end);
    GroupedRows grouped;
    if (mixed) {  // each expert's rows one contiguous segment of the batch
      std::vector<int64_t> choice;
      for (int64_t i : members) choice.push_back(row_model[i]);
      grouped = group_rows_by_delta(expert_deltas, choice);
      std::vector<int64_t> sorted;
      for (int64_t j : grouped.order) sorted.push_back(members[j]);
      members = std::move(sorted);
    }
    std::vector<const std::vector<int32_t>*> batch;
    for (int64_t i : members) batch.push_back(rows[i]);
    auto [input, mask] = pad_batch(batch, 0, base.device());
    const at::Tensor emb = net.embed(input, mask, mixed ? &grouped.batch : nullptr, {},
                                     params.embedding ? &*params.embedding : nullptr)
                               .to(at::kCPU, at::kFloat);
    out.index_copy_(0, at::tensor(members, at::kLong), emb);
    if (progress) progress->advance(end - begin);
  }
  return out;
}

at::Tensor embed_in_length_chunks(const QueryModel& model,
                                  const std::vector<const std::vector<int32_t>*>& rows, int32_t pad,
                                  int64_t token_budget, const at::Device& device, const ForwardMode& mode) {
  const LengthBatches plan =
      plan_batches(lengths_of(rows), std::numeric_limits<int64_t>::max(), token_budget);
  std::vector<at::Tensor> parts;
  for (const auto& [begin, end] : plan.ranges) {
    std::vector<const std::vector<int32_t>*> chunk;
    for (int64_t i = begin; i < end; ++i) chunk.push_back(rows[plan.order[i]]);
    auto [ids, mask] = pad_batch(chunk, pad, device);
    parts.push_back(model.embed(ids, mask, mode));
  }
  std::vector<int64_t> inverse(plan.order.size());
  for (size_t i = 0; i < plan.order.size(); ++i) inverse[plan.order[i]] = static_cast<int64_t>(i);
  return at::cat(parts).index_select(0, at::tensor(inverse, at::kLong).to(device));
}

}  // namespace rr
