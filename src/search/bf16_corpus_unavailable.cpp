// Built instead of bf16_corpus.cpp when oneDNN is not found (CMake option RR_WITH_ONEDNN): bf16 search is
// refused with a clear message; fp32 search does not use it.
#include "common/error.h"
#include "search/bf16_corpus.h"

namespace rr {

struct Bf16Corpus::Impl {};

Bf16Corpus::Bf16Corpus(const MatrixView&, int64_t, int64_t) {
  RR_THROW(
      Usage,
      "bf16 search runs oneDNN's bf16 matmul, and this routerretriever was built without oneDNN (not "
      "found at build time: install Debian's libdnnl-dev, or give -DDNNL_LIBRARY and -DDNNL_INCLUDE_DIR, "
      "and rebuild); use precision fp32");
}
Bf16Corpus::~Bf16Corpus() = default;
int64_t Bf16Corpus::rows() const {
  return 0;
}
int64_t Bf16Corpus::corpus_block() const {
  return 0;
}
int64_t Bf16Corpus::query_rows() const {
  return 0;
}
void Bf16Corpus::set_queries(const float*, int64_t) const {}
void Bf16Corpus::scores(int64_t, float*) const {}

}  // namespace rr
