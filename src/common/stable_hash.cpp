#include "common/stable_hash.h"

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

double unit_hash(std::string_view bytes, uint64_t seed) {
  return static_cast<double>(stable_hash(bytes, seed) >> 11) * 0x1.0p-53;
}

}  // namespace rr
