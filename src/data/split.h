// Deterministic train/dev/test assignment of ids: a seeded 64-bit hash of the id's bytes mapped to [0, 1).
// The assignment of an id depends only on (id, seed, fractions), never on the other ids or their order,
// so adding queries to a collection never moves existing ones.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/stable_hash.h"

namespace rr {

enum class Split { Train, Dev, Test };

struct SplitFractions {
  double train = 0.5;  // [0, train) -> Train
  double dev = 0.0;    // [train, train + dev) -> Dev; the rest -> Test
};

Split split_of(std::string_view id, uint64_t seed, const SplitFractions& fractions);

const char* split_name(Split split);

}  // namespace rr
