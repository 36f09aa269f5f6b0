#include "search/flat_index.h"

#include "common/error.h"
#include "common/vector_dtype.h"

namespace rr {

MatrixView matrix_view(const at::Tensor& v) {
  if (!v.defined()) return {};
  return {v.data_ptr(), v.size(0), v.dim() > 1 ? v.size(1) : 0, vector_type_of(v.scalar_type())};
}

StoredRows::StoredRows(at::Tensor vectors_, std::vector<int64_t> tie_, int64_t first_row_)
    : vectors(std::move(vectors_)), view(matrix_view(vectors)), tie(std::move(tie_)), first_row(first_row_) {
  RR_CHECK(static_cast<int64_t>(tie.size()) == view.rows, Runtime, "index: {} tie keys for {} rows",
           tie.size(), view.rows);
}

TopK StoredRows::search(const SearchQueries& queries, int64_t k, SearchParams params,
                        const Bf16Corpus* packed) const {
  params.k = k;
  return exact_search(queries.vectors, queries.n, view, first_row, tie.data(), params, packed);
}

int64_t StoredRows::memory_bytes(int64_t extra_bytes_per_value) const {
  return view.rows *
         (view.cols * (static_cast<int64_t>(vector_type_size(view.type)) + extra_bytes_per_value) + 8);
}

FlatIndex::FlatIndex(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row,
                     const SearchParams& params)
    : rows_(std::move(vectors), std::move(tie), first_row), params_(params) {
  params_.bf16 = false;
}

TopK FlatIndex::search(const SearchQueries& queries, int64_t k) const {
  return rows_.search(queries, k, params_);
}

}  // namespace rr
