// The pilot-embedding library of RouterRetriever (DESIGN.md, "The method"): per training dataset, each query
// goes to its best expert, and each non-empty (dataset, expert) group gives the centroid of its members' base
// embeddings. Routing compares a query's base embedding with every expert's pilots.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "router/router_names.h"

namespace rr {

// scores: Q x T per-instance nDCG@10 of each query under each expert. Returns each query's best expert,
// or -1 (Skip and tied).
std::vector<int32_t> best_experts(const at::Tensor& scores, TieRule rule);

// Share of queries whose best score is shared by two or more experts (all-zero rows included).
double tied_share(const at::Tensor& scores);

struct PilotLibrary {
  at::Tensor emb;                // P x H float32 (CPU): centroids of base embeddings
  std::vector<int32_t> expert;   // P: the expert each pilot stands for
  std::vector<int32_t> dataset;  // P: the training dataset it came from
  std::vector<int64_t> count;    // P: queries in its group
};

// For every training dataset d: base embeddings base[d] (Q_d x H) and labels[d] (best expert per query, -1 =
// left out). Each non-empty (dataset, expert) group gives `per_group` pilots: its centroid (1) or k-means
// centroids (seeded k-means++ then Lloyd), so at most T x T x per_group pilots.
PilotLibrary build_pilots(const std::vector<at::Tensor>& base,
                          const std::vector<std::vector<int32_t>>& labels, int64_t per_group, uint64_t seed);

// k-means on the rows of x (n x H float32) from the given initial centres (k x H): Lloyd iterations until the
// assignment stops changing (at most max_iter). Returns the k x H centres and each centre's size.
std::pair<at::Tensor, std::vector<int64_t>> lloyd_kmeans(const at::Tensor& x, at::Tensor centres,
                                                         int max_iter = 50);

// Q x T similarity of each query (base embedding) to each expert: the mean (paper) or max (released code)
// dot product over that expert's pilots; -inf for an expert without pilots.
at::Tensor expert_similarity(const at::Tensor& query_base, const PilotLibrary& library, int num_experts,
                             bool use_max);

// Argmax over experts (ties: the first expert; -inf everywhere: -1).
std::vector<int32_t> argmax_rows(const at::Tensor& scores);

}  // namespace rr
