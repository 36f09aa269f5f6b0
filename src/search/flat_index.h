// Exact inner-product search over vectors stored as float32, float16 or bfloat16, with fp32 products in
// memory-bounded blocks (exact_search.h); the stored rows are shared, not copied. Memory: rows x d x v
// (v = 4 or 2 bytes as stored) + rows x 8 (tie keys).
#pragma once

#include "search/index.h"

namespace rr {

class FlatIndex final : public Index {
 public:
  // vectors: rows x d on the CPU, as stored; params: corpus_block, query_block (params.k is not used).
  FlatIndex(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row, const SearchParams& params);
  int64_t ntotal() const override { return view_.rows; }
  int64_t first_row() const override { return first_row_; }
  TopK search(const SearchQueries& queries, int64_t k) const override;
  int64_t memory_bytes() const override;
  const MatrixView& vectors() const { return view_; }

 private:
  at::Tensor vectors_;
  MatrixView view_;
  std::vector<int64_t> tie_;
  int64_t first_row_;
  SearchParams params_;
};

// The rows of `vectors` (rows x d, contiguous) as exact_search reads them; an undefined tensor is empty.
MatrixView matrix_view(const at::Tensor& vectors);

}  // namespace rr
