#include "mpi/stages/models.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "mpi/query_blocks.h"
#include "search/search_layout.h"

namespace rr::stages {

Base load_base(const Context& ctx) {
  const auto dir = ctx.exp.base_path();
  RR_CHECK(std::filesystem::exists(dir / "config.json"), Input,
           "base model {} is missing (set base.path to a Hugging Face model, or base.train: true and run "
           "`train base`)",
           dir.string());
  Base b{BertEncoder::load(dir), BertTokenizer::from_directory(dir)};
  b.model.to(ctx.device);
  return b;
}

EncodeParams query_params(const Experiment& exp) {
  EncodeParams p;
  p.max_length = exp.evaluation.max_query_length;
  p.max_batch = exp.evaluation.batch_size;
  p.token_budget = exp.evaluation.token_budget;
  p.bf16 = exp.evaluation.bf16;
  return p;
}

EncodeParams doc_params(const Experiment& exp) {
  EncodeParams p = query_params(exp);
  p.max_length = exp.evaluation.max_doc_length;
  return p;
}

at::Tensor embed_queries(const Context& ctx, const BertEncoder& base, const TokenIds& queries,
                         const std::vector<const QueryModel*>& models,
                         const std::vector<int32_t>& row_model) {
  const int64_t Q = static_cast<int64_t>(queries.size()), H = base.config().hidden_size;
  // One model for every row: its inference encoder once for all blocks (LoRA merged, and in bf16 packed,
  // once).
  const bool one_model = row_model.empty() && models.size() == 1;
  const BertEncoder encoder = one_model ? models[0]->inference_encoder() : base;
  const std::vector<const QueryModel*> block_models = one_model ? std::vector<const QueryModel*>{} : models;
  std::vector<at::Tensor> mine{at::empty({0, H}, at::kFloat)};
  for (int64_t lo = ctx.world.rank() * kQueryBlock; lo < Q; lo += ctx.world.size() * kQueryBlock) {
    const int64_t hi = std::min(Q, lo + kQueryBlock);
    TokenIds block(queries.begin() + lo, queries.begin() + hi);
    std::vector<int32_t> choice;
    if (!row_model.empty()) choice.assign(row_model.begin() + lo, row_model.begin() + hi);
    mine.push_back(
        encode_ids(encoder, block, query_params(ctx.exp), block_models, choice).to(at::kCPU, at::kFloat));
  }
  return mpi::gather_query_blocks(ctx.world, at::cat(mine), Q, true);
}

std::vector<const QueryModel*> QueryModels::expert_list() const {
  std::vector<const QueryModel*> out;
  for (const auto& e : experts) out.push_back(e.get());
  return out;
}

QueryModels load_query_models(const Context& ctx, const Base& base,
                              const std::vector<const Router*>& routers) {
  QueryModels m;
  const auto any = [&](bool (Router::*uses)() const) {
    return std::any_of(routers.begin(), routers.end(), [&](const Router* r) { return (r->*uses)(); });
  };
  if (any(&Router::uses_experts))
    for (const auto& x : ctx.exp.experts) m.experts.push_back(load_query_model(x.adapter, base.model));
  if (any(&Router::uses_multitask)) m.multitask = load_query_model(ctx.exp.multitask_path(), base.model);
  return m;
}

RoutedQueries::RoutedQueries(const Context& ctx, const Base& base, const QueryModels& models, TokenIds tokens)
    : ctx_(ctx), base_(base), models_(models), tokens_(std::move(tokens)) {
  base_vectors_ = embed_queries(ctx_, base_.model, tokens_);
}

const at::Tensor& RoutedQueries::single(int32_t expert) {
  auto it = singles_.find(expert);
  if (it == singles_.end())
    it = singles_.emplace(expert, embed_queries(ctx_, base_.model, tokens_, {models_.experts[expert].get()}))
             .first;
  return it->second;
}

at::Tensor RoutedQueries::embed(const Routing& r) {
  switch (r.kind) {
    case Routing::Kind::Fixed:
      switch (r.model.kind) {
        case ModelChoice::Kind::Base:
          return base_vectors_;
        case ModelChoice::Kind::Multitask:
          return embed_queries(ctx_, base_.model, tokens_, {models_.multitask.get()});
        case ModelChoice::Kind::Expert:
          return single(r.model.expert);
      }
      break;
    case Routing::Kind::PerQuery:
      return embed_queries(ctx_, base_.model, tokens_, models_.expert_list(), r.expert);
    case Routing::Kind::Mixture: {
      // Linear fusion of dot products is a dot product with the weighted sum of the experts' query vectors.
      at::Tensor q = at::zeros_like(base_vectors_);
      for (int64_t i = 0; i < q.size(0); ++i)
        for (size_t j = 0; j < r.mix_experts[i].size(); ++j)
          q[i] += single(r.mix_experts[i][j])[i] * r.mix_weights[i][j];
      return q;
    }
  }
  RR_THROW(Runtime, "unknown routing kind");
}

}  // namespace rr::stages
