#include "search/search_layout.h"

#include <algorithm>

#include "common/error.h"

namespace rr {

Shard shard_of(int64_t n, int rank, int ranks, int64_t align) {
  RR_CHECK(ranks > 0 && rank >= 0 && rank < ranks && align > 0, Runtime, "shard_of: rank {} of {}, align {}",
           rank, ranks, align);
  const int64_t units = (n + align - 1) / align;
  const int64_t base = units / ranks, extra = units % ranks;
  const int64_t u0 = rank * base + std::min<int64_t>(rank, extra);
  const int64_t u1 = u0 + base + (rank < extra ? 1 : 0);
  return {std::min(n, u0 * align), std::min(n, u1 * align)};
}

SearchLayout search_layout(int64_t corpus_block, bool bf16_on_cpu, int64_t rows, int ranks) {
  SearchLayout l;
  l.align = bf16_on_cpu ? kBalancedShardRows : corpus_block;
  l.units = (rows + l.align - 1) / l.align;
  l.groups = l.units == 0 ? 1 : static_cast<int>(std::max<int64_t>(1, ranks / l.units));
  return l;
}

double SearchLayout::balance(int64_t rows, int ranks) const {
  if (rows == 0) return 1.0;
  // The smallest group (ranks / groups, rounded down) holds the largest shards; each group searches
  // 1 / groups of the queries.
  const int smallest = ranks / groups;
  const auto largest = static_cast<double>(shard_of(rows, 0, smallest, align).size()) / groups;
  return static_cast<double>(rows) / ranks / largest;
}

}  // namespace rr
