// Any bytes as a JSON-lines corpus, a queries file and a qrels TSV: records or an rr::Error naming the file.
#include "common/error.h"
#include "data/beir.h"
#include "data/jsonl_reader.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = rr::fuzz::scratch("input.jsonl", data, size);
  try {
    rr::JsonLinesReader reader(path);
    rr::TextRecord rec;
    while (reader.next(rec)) {
    }
  } catch (const rr::Error&) {
  }
  try {
    rr::read_corpus(path);
  } catch (const rr::Error&) {
  }
  try {
    rr::read_qrels_tsv(path);
  } catch (const rr::Error&) {
  }
  return 0;
}
