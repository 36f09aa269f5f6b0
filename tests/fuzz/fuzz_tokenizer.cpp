// Any bytes: the tokenizer either tokenizes them or rejects invalid UTF-8 with rr::Error; never crashes.
#include <fstream>

#include "common/error.h"
#include "tests/fuzz/fuzz_support.h"
#include "text/bert_tokenizer.h"

namespace {
const char kVocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\na\n##b\ncafe\n\xe4\xb8\xad\n,\n.\n##\xc3\xa9\n";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto vocab =
      rr::fuzz::scratch("vocab.txt", reinterpret_cast<const uint8_t*>(kVocab), sizeof kVocab - 1);
  static rr::BertTokenizer direct(vocab);
  static rr::BertTokenizer anywhere = [] {
    rr::TokenizerOptions o;
    o.special_tokens_anywhere = true;
    return rr::BertTokenizer(vocab, o);
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto ids = direct.encode(text, 64);
    if (ids.size() > 64 || ids.front() != direct.cls_id() || ids.back() != direct.sep_id()) __builtin_trap();
    anywhere.tokenize(text);
    rr::basic_tokenize(text);
  } catch (const rr::Error&) {
  }
  return 0;
}
