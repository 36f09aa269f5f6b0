// The models of the stages: the base encoder and its tokenizer, the query models a set of routers declares it
// needs (router/router.h: uses_experts, uses_multitask), and query embedding in blocks of kQueryBlock rows
// dealt round-robin over the ranks (mpi/query_blocks.h), so that the vectors never depend on the rank count.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <vector>

#include "model/bert_encoder.h"
#include "model/expert_cache.h"
#include "model/query_model.h"
#include "model/text_encoder.h"
#include "mpi/stages/context.h"
#include "router/router.h"
#include "text/bert_tokenizer.h"

namespace rr::stages {

// The base model and its tokenizer on the context's device.
struct Base {
  BertEncoder model;
  BertTokenizer tokenizer;
};
Base load_base(const Context& ctx);

// Encoding settings of the experiment: queries (max_query_length) and documents (max_doc_length).
EncodeParams query_params(const Experiment& exp);
EncodeParams doc_params(const Experiment& exp);

// Embeds token-id queries in blocks spread over the ranks; every rank gets Q x H. By the base, or by `model`
// (merged (LoRA) and packed (bf16) once for all blocks). Collective.
at::Tensor embed_queries(const Context& ctx, const BertEncoder& base, const TokenIds& queries,
                         const QueryModel* model = nullptr);
// The same, query i by expert row_expert[i] (-1: the base) in mixed-expert batches, each block taking from
// `experts` only the experts its queries name. Collective.
at::Tensor embed_routed(const Context& ctx, const BertEncoder& base, const TokenIds& queries,
                        ExpertCache& experts, const std::vector<int32_t>& row_expert);

// An expert's query model, and the multi-task model. A model rr trained (its rr_train.json) for other
// settings than the current experiment's is refused (Usage, naming the stage to run): scoring or evaluating
// it would label old weights with the new settings (e.g. the multi-task model of another expert set). Models
// without a record (a PEFT adapter from elsewhere) and those of trained_models are taken as they are.
std::unique_ptr<QueryModel> load_expert(const Context& ctx, const ExpertConfig& x, const Base& base);
std::unique_ptr<QueryModel> load_multitask(const Context& ctx, const Base& base);

// Every expert (0..T-1), loaded when first used, at most max_loaded_experts at once; each expert's files and
// training record are checked up front (load_expert's refusal, on every rank before any collective).
std::unique_ptr<ExpertCache> expert_cache(const Context& ctx, const Base& base);

// The query models the routers use: the experts when some router uses experts, the multi-task model when
// some router uses it.
struct QueryModels {
  std::unique_ptr<ExpertCache> experts;
  std::unique_ptr<QueryModel> multitask;
};
QueryModels load_query_models(const Context& ctx, const Base& base,
                              const std::vector<const Router*>& routers);

// One set of queries as the routings of a dataset ask for them: their base vectors, and the vectors of any
// routing. A single expert's vectors are not kept: embedded when a routing asks for them (Q x H, one expert
// at a time), and the mixtures expected later keep only the terms they take of them (Q x k x H in all).
class RoutedQueries {
 public:
  // Embeds the queries by the base (collective).
  RoutedQueries(const Context& ctx, const Base& base, const QueryModels& models, TokenIds tokens);
  const at::Tensor& base() const { return base_vectors_; }  // Q x H
  // A mixture routing to come: whenever an expert's vectors are embedded from now on, its terms are kept.
  void expect(const Routing& mixture);
  // The query vectors `routing` asks for, Q x H float32 (CPU) on every rank. Collective.
  at::Tensor embed(const Routing& routing);

 private:
  // An expected mixture and its terms: terms[i][j] = the j-th expert's vector of query i times its weight.
  struct Mixture {
    Routing routing;
    std::vector<std::vector<at::Tensor>> terms;
  };
  at::Tensor single(int32_t expert);  // collects the expected mixtures' terms of it
  Mixture& expected(const Routing& mixture);
  const Context& ctx_;
  const Base& base_;
  const QueryModels& models_;
  TokenIds tokens_;
  at::Tensor base_vectors_;
  std::vector<Mixture> mixtures_;
};

}  // namespace rr::stages
