// Exact inner-product top-k of queries against a corpus matrix, in memory-bounded blocks.
// Scores come from one matrix product per (query block x corpus block) on the configured device;
// the hits of each block are folded into per-query bounded heaps on the CPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/vector_type.h"
#include "search/topk.h"

namespace rr {

// A read-only n x d row-major matrix of float32 or IEEE float16 values (not owned).
struct MatrixView {
  const void* data = nullptr;
  int64_t rows = 0, cols = 0;
  VectorType type = VectorType::Float32;
};

struct SearchParams {
  int64_t k = 1000;              // hits kept per query
  int64_t corpus_block = 16384;  // corpus rows scored per matrix product; shards should start at multiples
                                 // of it, so that every rank count runs the very same products
  int64_t query_block = 256;     // queries per matrix product; with corpus_block, bounds the score buffer
                                 // to query_block x corpus_block x 4 B (16 MiB by default)
  std::string device = "cpu";    // torch device of the products ("cpu", "cuda", "cuda:1")
};

// Searches corpus rows [0, corpus.rows) whose global row numbers start at `first_row` (the shard's offset)
// and whose tie keys are tie[0 .. corpus.rows). queries: nq x d float32, row-major.
TopK exact_search(const float* queries, int64_t nq, const MatrixView& corpus, int64_t first_row,
                  const int64_t* tie, const SearchParams& params);

}  // namespace rr
