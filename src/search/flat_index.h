// Exact inner-product search over vectors stored as float32, float16 or bfloat16, with fp32 products in
// memory-bounded blocks (exact_search.h); the stored rows are shared, not copied. Memory: rows x d x v
// (v = 4 or 2 bytes as stored) + rows x 8 (tie keys).
#pragma once

#include "search/index.h"

namespace rr {

// The rows a CPU index searches: the stored vectors (shared, not copied), as exact_search reads them, with
// their tie keys and the global row of the first.
struct StoredRows {
  StoredRows(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row);
  // exact_search over these rows with params (k replaced), from a packed bf16 copy when one is given.
  TopK search(const SearchQueries& queries, int64_t k, SearchParams params,
              const Bf16Corpus* packed = nullptr) const;
  // Bytes held: the stored values, extra_bytes_per_value more per value, and the tie keys.
  int64_t memory_bytes(int64_t extra_bytes_per_value) const;

  at::Tensor vectors;  // rows x d, as stored
  MatrixView view;
  std::vector<int64_t> tie;  // rows
  int64_t first_row;
};

class FlatIndex final : public Index {
 public:
  // vectors: rows x d on the CPU, as stored; params: corpus_block, query_block (params.k is not used).
  FlatIndex(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row, const SearchParams& params);
  int64_t ntotal() const override { return rows_.view.rows; }
  int64_t first_row() const override { return rows_.first_row; }
  TopK search(const SearchQueries& queries, int64_t k) const override;
  int64_t memory_bytes() const override { return rows_.memory_bytes(0); }
  const MatrixView& vectors() const { return rows_.view; }

 private:
  StoredRows rows_;
  SearchParams params_;
};

// The rows of `vectors` (rows x d, contiguous) as exact_search reads them; an undefined tensor is empty.
MatrixView matrix_view(const at::Tensor& vectors);

}  // namespace rr
