// What the query-side trainers learn from: per dataset, the base embeddings of its corpus (the shared index),
// tokenized training queries with their positive documents, pseudo-queries, and the dev slice. Batches are a
// pure function of (seed, step): resuming, and running on any number of ranks, sees the same batches.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "eval/measures.h"

namespace rr {

struct QueryExample {
  std::vector<int32_t> tokens;  // [CLS] ... [SEP]
  int64_t doc = 0;              // row of the positive document in the dataset's corpus
};

struct DatasetTraining {
  std::string name;
  std::vector<std::string> doc_ids;  // corpus ids, in index row order
  at::Tensor doc_embeddings;         // N x H float32 (CPU): the frozen base's corpus index
  std::vector<QueryExample> judged;  // training-split queries x positives (qrels score > 0)
  std::vector<QueryExample> titles;  // title pseudo-queries (a document's title for its own text)
  std::vector<std::vector<int32_t>> crop_sources;  // tokens of documents that give crop pseudo-queries
  std::vector<int64_t> crop_docs;                  // their corpus rows
  std::vector<std::string> dev_query_ids;          // dev slice (may be empty)
  std::vector<std::vector<int32_t>> dev_queries;
  Judgments dev_qrels;
};

struct BatchItem {
  int dataset = 0;
  std::vector<int32_t> tokens;
  int64_t doc = 0;
};

struct SamplerParams {
  int64_t batch_size = 64;
  double judged_share = 0.5;  // per slot: a judged query with this probability (when the dataset has any)
  int64_t max_query_length = 64;
  double crop_min = 0.1, crop_max = 0.5;
  int32_t cls_id = 101, sep_id = 102;
};

// The batch of `step`: slot datasets are drawn uniformly (balanced multi-task sampling); no document is
// the positive of two slots (it would be a false in-batch negative).
std::vector<BatchItem> sample_batch(const std::vector<DatasetTraining>& data, const SamplerParams& params,
                                    uint64_t seed, int64_t step);

// An independent random crop (Contriever): a contiguous span of ratio in [min, max] of the body tokens
// (no [CLS]/[SEP]), at most max_length - 2 long, wrapped in [CLS] ... [SEP].
std::vector<int32_t> random_crop(const std::vector<int32_t>& body, double min_ratio, double max_ratio,
                                 int64_t max_length, int32_t cls_id, int32_t sep_id, std::mt19937_64& rng);

}  // namespace rr
