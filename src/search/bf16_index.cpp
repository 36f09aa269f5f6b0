#include "search/bf16_index.h"

namespace rr {

Bf16Index::Bf16Index(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row,
                     const SearchParams& params)
    : rows_(std::move(vectors), std::move(tie), first_row), params_(params) {
  params_.bf16 = true;
  if (rows_.view.rows > 0)
    packed_ = std::make_unique<const Bf16Corpus>(rows_.view, params_.corpus_block, params_.query_block);
}

TopK Bf16Index::search(const SearchQueries& queries, int64_t k) const {
  return rows_.search(queries, k, params_, packed_.get());
}

}  // namespace rr
