// Any bytes as a SMART collection (documents, queries and qrels cut at 0x00 bytes): a BEIR folder or an
// rr::Error.
#include <filesystem>

#include "common/error.h"
#include "data/smart.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string all(reinterpret_cast<const char*>(data), size);
  std::string parts[3];
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    size_t cut = i < 2 ? all.find('\0', start) : std::string::npos;
    parts[i] = all.substr(start, cut == std::string::npos ? std::string::npos : cut - start);
    start = cut == std::string::npos ? all.size() : cut + 1;
  }
  auto docs = rr::fuzz::scratch("docs", reinterpret_cast<const uint8_t*>(parts[0].data()), parts[0].size());
  auto queries =
      rr::fuzz::scratch("queries", reinterpret_cast<const uint8_t*>(parts[1].data()), parts[1].size());
  auto qrels = rr::fuzz::scratch("qrels", reinterpret_cast<const uint8_t*>(parts[2].data()), parts[2].size());
  auto out = docs.parent_path() / (docs.filename().string() + "-beir");
  try {
    rr::convert_smart(docs, queries, qrels, out, {});
  } catch (const rr::Error&) {
  }
  std::error_code ec;
  std::filesystem::remove_all(out, ec);
  return 0;
}
