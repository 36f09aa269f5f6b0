// A seeded 64-bit hash of bytes that never changes across platforms, builds or runs: splits, samples,
// seeds derived from names, and fingerprints all rest on it (its values are pinned by a unit test).
#pragma once

#include <cstdint>
#include <string_view>

namespace rr {

// FNV-1a's prime over the bytes from the offset basis 1469598103934665603 (the standard basis without its
// last digit: a slip kept on purpose, since every split and fingerprint rests on these values), finalised
// with splitmix64 together with the seed.
uint64_t stable_hash(std::string_view bytes, uint64_t seed);

// A number in [0, 1) that is a pure function of (bytes, seed): the top 53 bits of stable_hash.
double unit_hash(std::string_view bytes, uint64_t seed);

}  // namespace rr
