#include "data/split.h"

#include "common/error.h"

namespace rr {

Split split_of(std::string_view id, uint64_t seed, const SplitFractions& f) {
  RR_CHECK(f.train >= 0 && f.dev >= 0 && f.train + f.dev <= 1.0, Usage,
           "split fractions must be non-negative and sum to at most 1 (train {}, dev {})", f.train, f.dev);
  double u = unit_hash(id, seed);
  if (u < f.train) return Split::Train;
  if (u < f.train + f.dev) return Split::Dev;
  return Split::Test;
}

const char* split_name(Split split) {
  switch (split) {
    case Split::Train:
      return "train";
    case Split::Dev:
      return "dev";
    case Split::Test:
      return "test";
  }
  return "?";
}

}  // namespace rr
