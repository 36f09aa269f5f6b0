// bf16 search (exact_search.h, SearchParams::bf16): the corpus packed once in bf16 (Bf16Corpus) gives k +
// margin candidates per query from bf16 products; each is rescored from the stored vector and the fp32 query
// with products in double, rounded once, so the top-k is the correctly rounded one whenever the candidates
// hold it. CPU only, with fast bf16. Memory: rows x d x (v + 2) (the stored rows, shared, and their packed
// copy) + rows x 8.
#pragma once

#include <memory>

#include "search/bf16_corpus.h"
#include "search/flat_index.h"

namespace rr {

class Bf16Index final : public Index {
 public:
  // vectors: rows x d on the CPU, as stored; params: corpus_block, query_block (the packed layout serves
  // blocks of up to query_block queries), bf16_margin. Usage error without fast bf16.
  Bf16Index(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row, const SearchParams& params);
  int64_t ntotal() const override { return rows_.view.rows; }
  int64_t first_row() const override { return rows_.first_row; }
  TopK search(const SearchQueries& queries, int64_t k) const override;
  int64_t memory_bytes() const override { return rows_.memory_bytes(2); }

 private:
  StoredRows rows_;
  SearchParams params_;
  std::unique_ptr<const Bf16Corpus> packed_;  // null for an empty shard
};

}  // namespace rr
