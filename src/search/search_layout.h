// How a search is cut into units of work whose contents never depend on the rank count, so neither do the
// numbers computed in them (docs/architecture.md, "Rank-count invariance"): query blocks of kQueryBlock rows,
// corpus shards of whole search units, and search groups when a corpus has fewer units than ranks.
#pragma once

#include <cstdint>

namespace rr {

// Queries are embedded and searched in blocks of this many rows.
inline constexpr int64_t kQueryBlock = 256;

// bf16 search's shard unit: its scores are correctly rounded whatever the product's shape.
inline constexpr int64_t kBalancedShardRows = 256;

// A contiguous range [begin, end) of rows.
struct Shard {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

// Balanced contiguous shard of n items for `rank` of `ranks`, in units of `align` items (shard boundaries
// fall on multiples of align; the last unit may be partial).
Shard shard_of(int64_t n, int rank, int ranks, int64_t align = 1);

// How P ranks search a corpus of `rows`: in shards of whole `align`-row units; with fewer units than ranks,
// in `groups` groups of consecutive ranks, each holding the whole corpus and searching its share of the query
// blocks (block b: group b % groups). The unit is a corpus block for fp32 search (its products, hence its
// bits, depend on the block's shape, so every rank count must run the very same blocks) and
// kBalancedShardRows for bf16 search on the CPU.
struct SearchLayout {
  int64_t align = 1, units = 0;
  int groups = 1;
  // Mean search work per rank over the busiest rank's (1: perfectly balanced).
  double balance(int64_t rows, int ranks) const;
};
// corpus_block: the fp32 search block; bf16_on_cpu: precision "bf16" on a CPU device.
SearchLayout search_layout(int64_t corpus_block, bool bf16_on_cpu, int64_t rows, int ranks);

}  // namespace rr
