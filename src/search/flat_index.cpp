#include "search/flat_index.h"

#include "common/error.h"
#include "common/vector_dtype.h"

namespace rr {

MatrixView matrix_view(const at::Tensor& v) {
  if (!v.defined()) return {};
  return {v.data_ptr(), v.size(0), v.dim() > 1 ? v.size(1) : 0, vector_type_of(v.scalar_type())};
}

FlatIndex::FlatIndex(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row,
                     const SearchParams& params)
    : vectors_(std::move(vectors)), tie_(std::move(tie)), first_row_(first_row), params_(params) {
  view_ = matrix_view(vectors_);
  RR_CHECK(static_cast<int64_t>(tie_.size()) == view_.rows, Runtime, "index: {} tie keys for {} rows",
           tie_.size(), view_.rows);
  params_.bf16 = false;
}

TopK FlatIndex::search(const SearchQueries& queries, int64_t k) const {
  SearchParams p = params_;
  p.k = k;
  return exact_search(queries.vectors, queries.n, view_, first_row_, tie_.data(), p);
}

int64_t FlatIndex::memory_bytes() const {
  return view_.rows * (view_.cols * static_cast<int64_t>(vector_type_size(view_.type)) + 8);
}

}  // namespace rr
