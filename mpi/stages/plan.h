// The plan of an experiment for P ranks: per dataset the counts, per stage the work, and the peak memory per
// rank and the disk the stages need, each as the formula the code's shape gives (docs/scaling.md explains
// them; each stage's estimate is in its own file, stage.h's peak_bytes). Used by `routerretriever check`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/experiment.h"

namespace rr::stages {

struct DatasetCounts {
  std::string name;
  bool has_expert = false, evaluated = false;
  int64_t documents = 0, corpus_bytes = 0;  // 0 when not prepared yet
  int64_t train = 0, dev = 0, test = 0, train_pairs = 0, unknown_documents = 0;
  // Training queries with a unique best expert (the classifier routers' labelled rows), from results.h5's
  // /scores once score has run for the current experts; -1: not known yet (pilot's estimate takes `train`).
  int64_t labelled = -1;
  std::string train_origin, dev_origin, note;
};

// What a stage's memory estimate reads: the experiment, the counts of its datasets, the hidden size d and the
// rank count P. The helpers give the terms of docs/scaling.md's formulas.
struct PlanInputs {
  const Experiment& exp;
  const std::vector<DatasetCounts>& counts;
  double d = 768, P = 1;
  double T() const { return static_cast<double>(exp.experts.size()); }
  double model_bytes() const;                        // M: BERT-base scaled by d (fp32)
  double vector_bytes() const;                       // v: bytes per stored index value
  double shard_bytes(const DatasetCounts& c) const;  // N/P x d x v, + the bf16 packed copy
  static double text_bytes(const DatasetCounts& c);  // text(N): the corpus held as text records
  double adapter_bytes() const;   // A: one expert's LoRA adapter, 16 r d x 12 layers (BERT-base r 8: 1.18 MB)
  double loaded_experts() const;  // E: the experts a rank holds, min(T, max_loaded_experts)
  // The search's score buffer: B x min(corpus_block, N/P) x 4 (B = 256 queries per product).
  double search_buffer_bytes(const DatasetCounts& c) const;
  bool has_router(const std::string& name) const;  // configured in routing.routers
};

// Estimated peak resident bytes per rank of each stage with an estimate (stage.h's peak_bytes, in table
// order) and the disk of index.h5 and results.h5.
struct Footprint {
  std::vector<std::pair<std::string, double>> stage_peak;  // stage -> bytes per rank (rank 0's when larger)
  double index_disk = 0, results_disk = 0;
};
Footprint estimate_footprint(const Experiment& exp, const std::vector<DatasetCounts>& counts, int64_t hidden,
                             int ranks);

// The report `check` prints: counts, work per stage, memory and disk.
std::string plan_report(const Experiment& exp, const std::vector<DatasetCounts>& counts, int64_t hidden,
                        int ranks);

}  // namespace rr::stages
