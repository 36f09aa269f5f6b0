#include "data/split.h"

#include "common/error.h"

namespace rr {

uint64_t stable_hash(std::string_view bytes, uint64_t seed) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  uint64_t z = h + seed * 0x9e3779b97f4a7c15ull + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double unit_hash(std::string_view id, uint64_t seed) {
  return static_cast<double>(stable_hash(id, seed) >> 11) * 0x1.0p-53;
}

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
