// Exact inner-product top-k of queries against a corpus matrix, in memory-bounded blocks.
// Scores come from one matrix product per (query block x corpus block) on the configured device;
// the hits of each block are folded into per-query candidate buffers on the CPU (up to 4 x (k + margin) hits
// of 8 B per query of the current query block; the lists written out hold k). Memory beyond the corpus and
// the lists: the score buffer (query_block x corpus_block x 4 B), the candidate buffers, and in bf16 search
// the block's queries widened to double (query_block x d x 8 B) and its candidates listed by corpus row
// (query_block x (k + margin) x 16 B, twice while sorted).
//
// bf16 search (SearchParams::bf16, CPU only): the products run in bfloat16 (Bf16Corpus, ~3x the fp32 GEMM
// rate on AVX512_BF16) and keep k + margin candidates per query; each candidate is then rescored from the
// float32 query and the stored vector with products in double, rounded to float once: the inner product
// correctly rounded, whatever the thread count, block shapes or rank count. The final top-k is exact
// whenever the candidates hold the true top-k (a document whose bf16 score falls more than `margin` places
// below its true rank is missed: measured in experiments/README.md, "bf16 search"). fp32 GEMM scores
// differ from these by an ulp or so; sgemm's own results change with the thread count and block shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/vector_type.h"
#include "search/topk.h"

namespace rr {

// A read-only n x d row-major matrix of float32, IEEE float16 or bfloat16 values (not owned).
struct MatrixView {
  const void* data = nullptr;
  int64_t rows = 0, cols = 0;
  VectorType type = VectorType::Float32;
};

struct SearchParams {
  int64_t k = 1000;             // hits kept per query
  int64_t corpus_block = 4096;  // corpus rows scored per matrix product; shards should start at multiples
                                // of it, so that every rank count runs the very same products
  int64_t query_block = 256;    // queries per matrix product; with corpus_block, bounds the score buffer
                                // to query_block x corpus_block x 4 B (4 MiB by default)
  std::string device = "cpu";   // torch device of the products ("cpu", "cuda", "cuda:1")
  bool bf16 = false;            // bf16 candidates rescored exactly (above); needs a CPU with fast bf16
  int64_t bf16_margin = -1;     // candidates kept per query beyond k in bf16 search; -1: default_bf16_margin
};

// The default margin of bf16 search: max(8, k / 8) extra candidates, twice what the measured misses needed
// (experiments/README.md, "bf16 search").
int64_t default_bf16_margin(int64_t k);

class Bf16Corpus;

// Searches corpus rows [0, corpus.rows) whose global row numbers start at `first_row` (the shard's offset)
// and whose tie keys are tie[0 .. corpus.rows). queries: nq x d float32, row-major. bf16 search packs the
// corpus on each call unless `packed` (the same corpus, corpus_block and at least min(query_block, nq) query
// rows) is given: callers that search one shard many times pack it once.
TopK exact_search(const float* queries, int64_t nq, const MatrixView& corpus, int64_t first_row,
                  const int64_t* tie, const SearchParams& params, const Bf16Corpus* packed = nullptr);

}  // namespace rr
