// The plan of an experiment for P ranks: per dataset the counts, per stage the work, and the peak memory per
// rank and the disk the stages need, each as the formula the code's shape gives (docs/scale.md explains
// them). Used by `routerretriever check`.
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
  std::string train_origin, dev_origin, note;
};

// How P ranks search a corpus of `rows`: in shards of whole `align`-row units; with fewer units than ranks,
// in `groups` groups of consecutive ranks, each holding the whole corpus and searching its share of the query
// blocks (context.h's SearchGroup). The unit is a corpus block for fp32 search (its products, hence its bits,
// depend on the block's shape, so every rank count must run the very same blocks) and kBalancedShardRows for
// bf16 search on the CPU, whose scores are the correctly rounded inner products whatever the shape.
inline constexpr int64_t kBalancedShardRows = 256;
struct SearchLayout {
  int64_t align = 1, units = 0;
  int groups = 1;
  // Mean search work per rank over the busiest rank's (1: perfectly balanced).
  double balance(int64_t rows, int ranks) const;
};
SearchLayout search_layout(const EvaluationConfig& evaluation, bool cpu, int64_t rows, int ranks);

// Estimated peak resident bytes per rank of each stage and the disk of index.h5 and results.h5.
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
