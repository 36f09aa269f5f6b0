// The results of one method (a row of Table 1) on one dataset, and their unit file (mpi/stages/ledger.h):
// the objects evaluate adds to results.h5 (/datasets/<ds>/query_ids/<split>, /routing, /runs, /metrics) at
// their schema paths.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "search/topk.h"

namespace rr::stages {

struct Outcome {
  std::string name;                            // the method's results name
  std::vector<int32_t> routing;                // per query: the chosen expert (-1: base / not applicable)
  TopK top;                                    // k (+1 when identical ids are ignored) hits per query
  std::vector<std::vector<double>> per_query;  // query x measure (MeasureSet::beir()), in query order
  bool recorded = true;                        // false: run only for the oracles
};

// Writes the outcome's unit (rank 0): the query ids, the routing, the first store_k hits, the per-query and
// mean measures, and the fingerprint of its inputs; renamed into place when complete.
void commit_outcome(const std::filesystem::path& unit, const Experiment& exp, const DatasetConfig& dataset,
                    const std::vector<std::string>& query_ids, const Outcome& o,
                    const std::string& fingerprint);

// An outcome read back from its unit (rank 0): what the oracles take from a single expert (store_k hits).
Outcome read_outcome(const std::filesystem::path& unit, const std::string& dataset, const std::string& method,
                     bool recorded);

}  // namespace rr::stages
