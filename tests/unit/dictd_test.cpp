// dictd databases: a small one written here (gzip'd like dictzip's .dz), converted; then a truncated and a
// corrupted .dz and bad index lines, each an Input error naming the file (run under the sanitizers too: the
// gzip error message must be read while zlib's handle is alive).
#include <gtest/gtest.h>

#include <fstream>

#include "data/beir.h"
#include "data/dictd.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using test::expect_input_error;
using test::TempDir;

std::string base64(int64_t v) {
  static const std::string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  do {
    out.insert(out.begin(), digits[static_cast<size_t>(v % 64)]);
    v /= 64;
  } while (v > 0);
  return out;
}

// A database of `n` entries: <dir>/t.dict.dz (gzip) and <dir>/t.index (headword, base64 offset and length).
void write_database(const TempDir& t, int n) {
  std::string data, index = "00-database-info\tA\tB\n";
  for (int i = 0; i < n; ++i) {
    const std::string head = "word" + std::to_string(i);
    const std::string body = head + "\n   A made up term number " + std::to_string(i) +
                             " used for testing the reader. It stands for nothing in particular and is "
                             "followed by several more words so that the remainder is long enough to keep.\n";
    index += head + "\t" + base64(static_cast<int64_t>(data.size())) + "\t" +
             base64(static_cast<int64_t>(body.size())) + "\n";
    data += body;
  }
  test::write_file(t / "t.dict", data);
  test::write_file(t / "t.index", index);
  ASSERT_EQ(std::system(("gzip -n -9 -f " + (t / "t.dict").string()).c_str()), 0);
  std::filesystem::rename(t / "t.dict.gz", t / "t.dict.dz");
}

DictdConvertSummary convert(const TempDir& t) {
  DictdConvertOptions o;
  o.prefix = "t";
  return convert_dictd(t / "t.dict.dz", t / "t.index", t / "beir", o);
}

TEST(Dictd, ConvertsEntriesIntoQueriesAndDocuments) {
  TempDir t;
  write_database(t, 50);
  const DictdConvertSummary s = convert(t);
  EXPECT_EQ(s.entries, 50);
  EXPECT_EQ(s.kept, 50);
  const auto queries = read_queries(t / "beir" / "queries.jsonl");
  const auto corpus = read_corpus(t / "beir" / "corpus.jsonl");
  ASSERT_EQ(queries.size(), 50u);
  ASSERT_EQ(corpus.size(), 50u);
  // The first sentence is the query, the headword and the rest the document.
  EXPECT_EQ(queries[0].text.rfind("A made up term number", 0), 0u) << queries[0].text;
  EXPECT_EQ(corpus[0].title.rfind("word", 0), 0u);
  EXPECT_NE(corpus[0].text.find("It stands for nothing"), std::string::npos) << corpus[0].text;
}

TEST(Dictd, TruncatedAndCorruptedDataAreInputErrors) {
  TempDir t;
  write_database(t, 200);
  const std::string whole = test::read_file(t / "t.dict.dz");
  ASSERT_GT(whole.size(), 200u);
  test::write_file(t / "t.dict.dz", whole.substr(0, whole.size() / 2));
  expect_input_error([&] { convert(t); }, {"t.dict.dz", "corrupt gzip data"});
  std::string corrupt = whole;
  for (size_t i = corrupt.size() / 3; i < corrupt.size() / 3 + 16; ++i)
    corrupt[i] = static_cast<char>(~corrupt[i]);
  test::write_file(t / "t.dict.dz", corrupt);
  expect_input_error([&] { convert(t); }, {"t.dict.dz", "corrupt gzip data"});
  EXPECT_FALSE(std::filesystem::exists(t / "beir"));  // nothing half-written
}

TEST(Dictd, BadIndexLinesNameTheLine) {
  TempDir t;
  write_database(t, 3);
  std::ofstream(t / "t.index", std::ios::app) << "word9\tA!\tB\n";
  expect_input_error([&] { convert(t); }, {"t.index:5", "offset/length", "not base64"});
  write_database(t, 3);
  std::ofstream(t / "t.index", std::ios::app) << "word9\t" << base64(1 << 20) << "\tB\n";
  expect_input_error([&] { convert(t); }, {"t.index:5", "word9", "outside"});
  write_database(t, 3);
  std::ofstream(t / "t.index", std::ios::app) << "no tabs here\n";
  expect_input_error([&] { convert(t); }, {"t.index:5", "headword<TAB>offset<TAB>length"});
}

}  // namespace
}  // namespace rr
