#include "search/index.h"

#include "search/bf16_index.h"
#include "search/device_index.h"
#include "search/flat_index.h"

namespace rr {

SearchQueries SearchQueries::rows(int64_t lo, int64_t hi) const {
  SearchQueries out = *this;
  if (vectors) out.vectors = vectors + lo * dim;
  if (texts) out.texts = texts + lo;
  out.n = hi - lo;
  return out;
}

std::unique_ptr<Index> make_dense_index(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row,
                                        const SearchParams& params) {
  if (params.device != "cpu")
    return std::make_unique<DeviceIndex>(vectors, std::move(tie), first_row, params);
  if (params.bf16) return std::make_unique<Bf16Index>(std::move(vectors), std::move(tie), first_row, params);
  return std::make_unique<FlatIndex>(std::move(vectors), std::move(tie), first_row, params);
}

}  // namespace rr
