#include "mpi/stages/models.h"

#include <ATen/ATen.h>

#include <functional>

#include "common/error.h"
#include "mpi/query_blocks.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/train_record.h"
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

namespace {

// Embeds this rank's query blocks by encode(block first, block end) and gathers every block on every rank.
at::Tensor embed_blocks(const Context& ctx, int64_t Q, int64_t H,
                        const std::function<at::Tensor(int64_t, int64_t)>& encode) {
  std::vector<at::Tensor> mine{at::empty({0, H}, at::kFloat)};
  mpi::collective_try(ctx.world, [&] {  // a rank's failure (e.g. an unreadable adapter) stops them all
    for (int64_t lo = ctx.world.rank() * kQueryBlock; lo < Q; lo += ctx.world.size() * kQueryBlock)
      mine.push_back(encode(lo, std::min(Q, lo + kQueryBlock)).to(at::kCPU, at::kFloat));
  });
  return mpi::gather_query_blocks(ctx.world, at::cat(mine), Q, true);
}

// A model rr trained for other settings than the current experiment's is refused (load_expert).
void check_trained(const Context& ctx, const std::string& what, const std::filesystem::path& dir,
                   const std::string& fp, const std::string& stage) {
  const std::string recorded = recorded_fingerprint(dir);
  RR_CHECK(ctx.exp.models_read_only() || recorded.empty() || recorded == fp, Usage,
           "{}: {} ({}) was trained for other settings or data than this config's (its expert set, training "
           "datasets or recipe changed since); run `{}` (or the pipeline) first",
           ctx.exp.file.string(), what, dir.string(), stage);
}

void check_expert(const Context& ctx, const ExpertConfig& x) {
  RR_CHECK(has_model_weights(x.adapter), Input, "{}: expert {} has no model in {} (run `train expert` first)",
           ctx.exp.file.string(), x.name, x.adapter);
  check_trained(ctx, "expert " + x.name, x.adapter, expert_fingerprint(ctx.exp, x), "train expert");
}

}  // namespace

at::Tensor embed_queries(const Context& ctx, const BertEncoder& base, const TokenIds& queries,
                         const QueryModel* model) {
  // One model for every row: its inference encoder once for all blocks (LoRA merged, and in bf16 packed,
  // once).
  const BertEncoder encoder = model ? model->inference_encoder() : base;
  return embed_blocks(ctx, static_cast<int64_t>(queries.size()), base.config().hidden_size,
                      [&](int64_t lo, int64_t hi) {
                        return encode_ids(encoder, TokenIds(queries.begin() + lo, queries.begin() + hi),
                                          query_params(ctx.exp));
                      });
}

at::Tensor embed_routed(const Context& ctx, const BertEncoder& base, const TokenIds& queries,
                        ExpertCache& experts, const std::vector<int32_t>& row_expert) {
  return embed_blocks(
      ctx, static_cast<int64_t>(queries.size()), base.config().hidden_size, [&](int64_t lo, int64_t hi) {
        return encode_routed(base, TokenIds(queries.begin() + lo, queries.begin() + hi),
                             query_params(ctx.exp), experts,
                             std::vector<int32_t>(row_expert.begin() + lo, row_expert.begin() + hi));
      });
}

std::unique_ptr<QueryModel> load_expert(const Context& ctx, const ExpertConfig& x, const Base& base) {
  check_expert(ctx, x);
  return load_query_model(x.adapter, base.model);
}

std::unique_ptr<QueryModel> load_multitask(const Context& ctx, const Base& base) {
  check_trained(ctx, "the multi-task model", ctx.exp.multitask_path(), multitask_fingerprint(ctx.exp),
                "train multitask");
  return load_query_model(ctx.exp.multitask_path(), base.model);
}

std::unique_ptr<ExpertCache> expert_cache(const Context& ctx, const Base& base) {
  for (const auto& x : ctx.exp.experts) check_expert(ctx, x);
  return std::make_unique<ExpertCache>(
      static_cast<int32_t>(ctx.exp.experts.size()), static_cast<size_t>(ctx.exp.max_loaded_experts),
      [&ctx, &base](int32_t e) { return load_query_model(ctx.exp.experts[e].adapter, base.model); });
}

QueryModels load_query_models(const Context& ctx, const Base& base,
                              const std::vector<const Router*>& routers) {
  QueryModels m;
  const auto any = [&](bool (Router::*uses)() const) {
    return std::any_of(routers.begin(), routers.end(), [&](const Router* r) { return (r->*uses)(); });
  };
  if (any(&Router::uses_experts)) m.experts = expert_cache(ctx, base);
  if (any(&Router::uses_multitask)) m.multitask = load_multitask(ctx, base);
  return m;
}

RoutedQueries::RoutedQueries(const Context& ctx, const Base& base, const QueryModels& models, TokenIds tokens)
    : ctx_(ctx), base_(base), models_(models), tokens_(std::move(tokens)) {
  base_vectors_ = embed_queries(ctx_, base_.model, tokens_);
}

void RoutedQueries::expect(const Routing& mixture) {
  const auto rows = static_cast<size_t>(base_vectors_.size(0));
  mixtures_.push_back({mixture, std::vector<std::vector<at::Tensor>>(rows)});
  for (size_t i = 0; i < rows; ++i) mixtures_.back().terms[i].resize(mixture.mix_experts[i].size());
}

RoutedQueries::Mixture& RoutedQueries::expected(const Routing& mixture) {
  for (auto& m : mixtures_)
    if (m.routing.mix_experts == mixture.mix_experts && m.routing.mix_weights == mixture.mix_weights)
      return m;
  expect(mixture);
  return mixtures_.back();
}

at::Tensor RoutedQueries::single(int32_t expert) {
  const at::Tensor v = embed_queries(ctx_, base_.model, tokens_, models_.experts->get(expert).get());
  for (auto& m : mixtures_)
    for (size_t i = 0; i < m.terms.size(); ++i)
      for (size_t j = 0; j < m.terms[i].size(); ++j)
        if (m.routing.mix_experts[i][j] == expert)
          m.terms[i][j] = v[static_cast<int64_t>(i)] * m.routing.mix_weights[i][j];
  return v;
}

at::Tensor RoutedQueries::embed(const Routing& r) {
  switch (r.kind) {
    case Routing::Kind::Fixed:
      switch (r.model.kind) {
        case ModelChoice::Kind::Base:
          return base_vectors_;
        case ModelChoice::Kind::Multitask:
          return embed_queries(ctx_, base_.model, tokens_, models_.multitask.get());
        case ModelChoice::Kind::Expert:
          return single(r.model.expert);
      }
      break;
    case Routing::Kind::PerQuery:
      return embed_routed(ctx_, base_.model, tokens_, *models_.experts, r.expert);
    case Routing::Kind::Mixture: {
      // Linear fusion of dot products is a dot product with the weighted sum of the experts' query vectors.
      Mixture& m = expected(r);
      std::vector<char> missing(static_cast<size_t>(models_.experts->size()), 0);
      for (size_t i = 0; i < m.terms.size(); ++i)
        for (size_t j = 0; j < m.terms[i].size(); ++j)
          if (!m.terms[i][j].defined()) missing[static_cast<size_t>(r.mix_experts[i][j])] = 1;
      for (size_t e = 0; e < missing.size(); ++e)
        if (missing[e]) single(static_cast<int32_t>(e));
      at::Tensor q = at::zeros_like(base_vectors_);
      for (int64_t i = 0; i < q.size(0); ++i)
        for (const at::Tensor& term : m.terms[static_cast<size_t>(i)]) q[i] += term;
      return q;
    }
  }
  RR_THROW(Runtime, "unknown routing kind");
}

}  // namespace rr::stages
