// Routers: the rows of the paper's Table 1. A router is fitted once on the routing training set (on one rank;
// its fitted state is a few tensors, broadcast in binary) and then routes blocks of test queries.
//
// Adding a router: one file with a class deriving from Router and a factory, plus one line in router_list.h.
// The registry drives config validation, `evaluate`, the report's labels and row order, and the router
// table written into results.h5 that the analysis tools read.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "router/pilot_library.h"
#include "router/router_names.h"

namespace rr {

// What routers learn from, built from the `score` and `pilot` stages' outputs.
struct RoutingTrainingSet {
  std::vector<std::string> datasets;                // training datasets, configured order
  std::vector<std::vector<std::string>> query_ids;  // per dataset: its training queries' ids (Q_d)
  std::vector<at::Tensor> base;    // per dataset: Q_d x H float32, base embeddings of its training queries
  std::vector<at::Tensor> scores;  // per dataset: Q_d x T float64, per-instance nDCG@10 under each expert
  std::vector<int32_t> dataset_expert;  // per dataset: the expert trained on it (-1: none)
  PilotLibrary pilots;                  // the library built by `pilot`
  int32_t num_experts = 0;
};

// How a router's results are obtained.
enum class RouterSource {
  Dense,        // its routing picks query models; their query vectors are searched in the base index
  FromSingles,  // each query takes the results of one single expert (the oracles): no search of its own
  Lexical,      // BM25 over the texts
};

// A query model a routing can pick: the base alone, one expert, or the multi-task model.
struct ModelChoice {
  enum class Kind { Base, Expert, Multitask };
  Kind kind = Kind::Base;
  int32_t expert = -1;  // Kind::Expert: 0..T-1
};

// A block's routing decision.
struct Routing {
  enum class Kind {
    Fixed,     // one model for every query (embedded with the model's own, merged weights)
    PerQuery,  // one model per query (mixed-expert batches)
    Mixture,   // a weighted sum of several experts' query vectors per query (linear fusion of scores)
  };
  Kind kind = Kind::Fixed;
  ModelChoice model;            // Fixed: the model of every query
  std::vector<int32_t> expert;  // per query: the chosen expert (-1: base / not applicable), as recorded
  // Mixture: per query the experts and their weights (expert[q] is the first of them).
  std::vector<std::vector<int32_t>> mix_experts;
  std::vector<std::vector<float>> mix_weights;
};

// A block of test queries as routers see them.
struct QueryBlock {
  at::Tensor base;                   // n x H float32 (CPU): the queries' base embeddings
  const std::string* ids = nullptr;  // n query ids
  int64_t size() const { return base.size(0); }
};

// A routing that picks one model per query.
Routing per_query_routing(std::vector<int32_t> expert);

struct RouterParams {
  int32_t num_experts = 0;
  int32_t expert = -1;  // the expert of a per-expert router (single-<name>)
  TieRule tie_rule = TieRule::First;
  int64_t dataset_instances = 100;  // DatasetRouter: labelled instances per training dataset
  int64_t top_k = 2;                // top-k soft mixture
  uint64_t seed = 13;
};

using RouterState = std::map<std::string, at::Tensor>;

class Router {
 public:
  virtual ~Router() = default;
  virtual RouterSource source() const { return RouterSource::Dense; }
  // True when fit() needs the routing training set (scores, pilots).
  virtual bool needs_training() const { return false; }
  // The query models its results need (evaluate loads what the configured routers declare): the experts'
  // (routers that pick among them, single experts, the oracles), the multi-task model. Routers that use
  // neither (BM25, the base alone) are the only ones an experiment without experts evaluates.
  virtual bool uses_experts() const { return true; }
  virtual bool uses_multitask() const { return false; }
  virtual void fit(const RoutingTrainingSet&) {}
  // The fitted state (CPU tensors), to be sent to the ranks that did not fit.
  virtual RouterState state() const { return {}; }
  virtual void set_state(const RouterState&) {}
  // Dense and lexical routers: the routing of a block of queries (a pure function of each query, so blocks
  // may be routed in any grouping).
  virtual Routing route(const QueryBlock& queries) const;
  // FromSingles routers: each query's single expert, given the single experts' nDCG@10 (Q x T float64,
  // every test query of the dataset).
  virtual std::vector<int32_t> choose(const at::Tensor& single_ndcg10) const;
};

// The pilots' embeddings and experts as a router state, and back (what pilot-based routers broadcast).
RouterState pilot_state(const PilotLibrary& pilots);
PilotLibrary pilots_from_state(const RouterState& state);

// A router that routes with the pilot library: fitting takes the library, the state is its pilots.
class PilotBasedRouter : public Router {
 public:
  bool needs_training() const override { return true; }
  void fit(const RoutingTrainingSet& train) override { pilots_ = train.pilots; }
  RouterState state() const override { return pilot_state(pilots_); }
  void set_state(const RouterState& s) override { pilots_ = pilots_from_state(s); }

 protected:
  PilotLibrary pilots_;
};

struct RouterInfo {
  std::string name;         // in configs and results files
  std::string label;        // Table 1 row; "{}" stands for the expert's name of a per-expert router
  bool per_expert = false;  // one router per expert, named "<name>-<expert>"
  std::function<std::unique_ptr<Router>(const RouterParams&)> make;
};

// Every router, in Table 1 row order.
const std::vector<RouterInfo>& router_registry();
const RouterInfo& router_info(std::string_view name);  // throws Usage naming the known routers

}  // namespace rr
