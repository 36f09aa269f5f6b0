// A corpus shard rounded to bfloat16 once and packed, block by block, into the layout oneDNN's bf16 matmul
// reads fastest (avx512_core_bf16 / AMX): the candidate pass of bf16 search (exact_search.h). Scores come
// back in float32 (fp32 accumulation), so only the inputs are rounded. Memory: rows x d x 2 bytes.
#pragma once

#include <cstdint>
#include <memory>

#include "search/exact_search.h"

namespace rr {

class Bf16Corpus {
 public:
  // Packs corpus rows in blocks of `corpus_block` rows for products with up to `query_rows` queries at a
  // time. Usage error when the CPU has no fast bf16 (autocast.h's has_fast_bf16).
  Bf16Corpus(const MatrixView& corpus, int64_t corpus_block, int64_t query_rows);
  ~Bf16Corpus();
  Bf16Corpus(const Bf16Corpus&) = delete;
  Bf16Corpus& operator=(const Bf16Corpus&) = delete;

  int64_t rows() const;
  int64_t corpus_block() const;
  int64_t query_rows() const;
  // Rounds the queries of the products that follow to bfloat16: q, qn x d float32 row-major,
  // qn <= query_rows() (once per query block, not once per corpus block).
  void set_queries(const float* q, int64_t qn) const;
  // out (query_rows() x cn, row-major, cn = the rows of block `block`) = bf16(q) . bf16(corpus block)^T for
  // the queries set, accumulated in float32; rows qn.. of out are scratch (the product always runs at
  // query_rows() rows: one packed layout serves every query block).
  void scores(int64_t block, float* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
