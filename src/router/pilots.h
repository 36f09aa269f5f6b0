// The pilot-embedding library of RouterRetriever and the routers that use it (DESIGN.md, "The method").
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rr {

enum class TieRule {
  First,  // a query tied between experts goes to the first in the configured order (the released code)
  Skip,   // tied queries are left out
};

// scores: Q x T per-instance nDCG@10 of each query under each expert. Returns each query's best expert,
// or -1 (Skip and tied).
std::vector<int32_t> best_experts(const at::Tensor& scores, TieRule rule);

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

// Q x T similarity of each query (base embedding) to each expert: the mean (paper) or max (released code)
// dot product over that expert's pilots; -inf for an expert without pilots.
at::Tensor expert_similarity(const at::Tensor& query_base, const PilotLibrary& library, int num_experts,
                             bool use_max);

// Argmax over experts (ties: the first expert).
std::vector<int32_t> argmax_rows(const at::Tensor& scores);

// Top-k soft mixture: per query, the k most similar experts and softmax weights over their similarities.
struct Mixture {
  std::vector<std::vector<int32_t>> experts;
  std::vector<std::vector<float>> weights;
};
Mixture top_k_mixture(const at::Tensor& similarity, int64_t k);

// DatasetRouter: the nearest (dot product) of the labelled instances; returns each query's instance label.
std::vector<int32_t> nearest_instance(const at::Tensor& query_base, const at::Tensor& instances,
                                      const std::vector<int32_t>& instance_labels);

// A linear classifier on base embeddings (standardised), trained full-batch with Adam: softmax over classes
// with class-balanced weights (ClassificationHeadRouter), or one sigmoid per class, one-vs-rest
// (ExpertClassifierRouter). labels in [0, classes) (-1 rows are ignored). Returns per-query class scores.
at::Tensor train_and_score_classifier(const at::Tensor& train_x, const std::vector<int32_t>& labels,
                                      int classes, const at::Tensor& test_x, bool one_vs_rest, uint64_t seed);

}  // namespace rr
