#include "search/bf16_index.h"

#include "common/error.h"
#include "common/vector_dtype.h"
#include "search/flat_index.h"

namespace rr {

Bf16Index::Bf16Index(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row,
                     const SearchParams& params)
    : vectors_(std::move(vectors)), tie_(std::move(tie)), first_row_(first_row), params_(params) {
  view_ = matrix_view(vectors_);
  RR_CHECK(static_cast<int64_t>(tie_.size()) == view_.rows, Runtime, "index: {} tie keys for {} rows",
           tie_.size(), view_.rows);
  params_.bf16 = true;
  if (view_.rows > 0)
    packed_ = std::make_unique<const Bf16Corpus>(view_, params_.corpus_block, params_.query_block);
}

TopK Bf16Index::search(const SearchQueries& queries, int64_t k) const {
  SearchParams p = params_;
  p.k = k;
  return exact_search(queries.vectors, queries.n, view_, first_row_, tie_.data(), p, packed_.get());
}

int64_t Bf16Index::memory_bytes() const {
  return view_.rows * (view_.cols * static_cast<int64_t>(vector_type_size(view_.type) + 2) + 8);
}

}  // namespace rr
