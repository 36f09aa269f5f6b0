#include <gtest/gtest.h>

#include "common/error.h"
#include "data/beir.h"
#include "data/jsonl_reader.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using test::expect_input_error;
using test::TempDir;
using test::write_file;

void write_dataset(const TempDir& t, const std::string& corpus, const std::string& queries,
                   const std::string& qrels) {
  write_file(t / "corpus.jsonl", corpus);
  write_file(t / "queries.jsonl", queries);
  write_file(t / "qrels" / "test.tsv", qrels);
}

TEST(Beir, LoadsAFolderAndKeepsJudgedQueries) {
  TempDir t;
  write_dataset(t,
                "{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"caf\\u00e9 \\\"x\\\"\"}\n\n{\"_id\": 7, "
                "\"text\": \"b\", "
                "\"metadata\": {\"a\": [1]}}\r\n",
                "{\"_id\": \"q1\", \"text\": \"what\"}\n{\"_id\": \"q2\", \"text\": \"unjudged\"}\n",
                "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\t7\t0\n");
  auto ds = load_beir(t.path());
  ASSERT_EQ(ds.corpus.size(), 2u);
  EXPECT_EQ(ds.corpus[0].text, "caf\xc3\xa9 \"x\"");
  EXPECT_EQ(ds.corpus[0].encoder_text(), "T caf\xc3\xa9 \"x\"");
  EXPECT_EQ(ds.corpus[1].id, "7");
  EXPECT_EQ(ds.corpus[1].line, 3);
  ASSERT_EQ(ds.queries.size(), 1u);
  EXPECT_EQ(ds.qrels["q1"]["7"], 0);
}

TEST(Beir, WriterRoundTrips) {
  TempDir t;
  std::vector<TextRecord> docs = {{"a", "ti\"tle", "line\nbreak\ttab \x01 ctrl \xe2\x82\xac", 0},
                                  {"b", "", "x", 0}};
  write_corpus(t / "corpus.jsonl", docs);
  auto back = read_corpus(t / "corpus.jsonl");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].title, docs[0].title);
  EXPECT_EQ(back[0].text, docs[0].text);
  Qrels q = {{"q", {{"a", 2}}}};
  write_qrels_tsv(t / "qrels" / "dev.tsv", q);
  EXPECT_EQ(read_qrels_tsv(t / "qrels" / "dev.tsv"), q);
}

TEST(Beir, GeneratedQueriesUseThePrefix) {
  TempDir t;
  write_file(t / "corpus.jsonl", "{\"_id\": \"d\", \"text\": \"x\"}\n");
  write_file(t / "gen-queries.jsonl", "{\"_id\": \"genQ1\", \"text\": \"q\", \"metadata\": {}}\n");
  write_file(t / "gen-qrels" / "train.tsv", "query-id\tcorpus-id\tscore\ngenQ1\td\t1\n");
  auto ds = load_beir(t.path(), {.split = "train", .prefix = "gen"});
  ASSERT_EQ(ds.queries.size(), 1u);
  EXPECT_EQ(ds.queries[0].id, "genQ1");
}

// A UTF-8 byte-order mark at the start (some editors write one) is skipped, not "invalid JSON" at line 1.
TEST(Beir, ByteOrderMarkIsSkipped) {
  TempDir t;
  write_file(t / "corpus.jsonl",
             "\xEF\xBB\xBF{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"text\": \"y\"}\n");
  const auto corpus = read_corpus(t / "corpus.jsonl");
  ASSERT_EQ(corpus.size(), 2u);
  EXPECT_EQ(corpus[0].id, "a");
}

TEST(Beir, BadInputNamesFileLineAndField) {
  TempDir t;
  auto corpus = t / "corpus.jsonl";
  write_file(corpus, "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"text\": \"x\"\n");
  expect_input_error([&] { read_corpus(corpus); }, {"corpus.jsonl:2", "invalid JSON"});
  write_file(corpus, "{\"_id\": \"a\", \"text\": \"x\"}\n{\"title\": \"t\", \"text\": \"x\"}\n");
  expect_input_error([&] { read_corpus(corpus); }, {"corpus.jsonl:2", "'_id'"});
  write_file(corpus, "{\"_id\": \"a\", \"title\": \"t\"}\n");
  expect_input_error([&] { read_corpus(corpus); }, {"corpus.jsonl:1", "'text'"});
  write_file(corpus, "{\"_id\": \"a\", \"text\": 5}\n");
  expect_input_error([&] { read_corpus(corpus); }, {"corpus.jsonl:1", "'text' must be a string"});
  write_file(corpus, "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"a\", \"text\": \"y\"}\n");
  expect_input_error([&] { read_corpus(corpus); }, {"corpus.jsonl:2", "duplicate id 'a'", "line 1"});
  write_file(corpus, "{\"_id\": \"a\", \"text\": \"bad \xff\xfe utf8\"}\n");
  expect_input_error([&] { read_corpus(corpus); }, {"corpus.jsonl:1", "UTF-8"});
  write_file(corpus, "\n  \n");
  expect_input_error([&] { read_corpus(corpus); }, {"corpus.jsonl", "empty"});
  write_file(corpus, "[1, 2]\n");
  expect_input_error([&] { read_corpus(corpus); }, {"corpus.jsonl:1", "object"});
  expect_input_error([&] { read_corpus(t / "missing.jsonl"); }, {"missing.jsonl", "cannot open"});
  // queries.jsonl: the same rules, named as the queries file.
  auto queries = t / "queries.jsonl";
  write_file(queries, "{\"_id\": \"q1\", \"text\": \"x\"}\n{\"_id\": \"q1\", \"text\": \"y\"}\n");
  expect_input_error([&] { read_queries(queries); }, {"queries.jsonl:2", "duplicate id 'q1'"});
  write_file(queries, "{\"_id\": \"q1\"}\n");
  expect_input_error([&] { read_queries(queries); }, {"queries.jsonl:1", "'text'"});
  write_file(queries, "{\"_id\": \"\", \"text\": \"x\"}\n");
  expect_input_error([&] { read_queries(queries); }, {"queries.jsonl:1", "'_id'"});
  write_file(queries, "{\"_id\": \"q1\", \"text\": \"x\"\n");
  expect_input_error([&] { read_queries(queries); }, {"queries.jsonl:1", "invalid JSON"});
  write_file(queries, "");
  expect_input_error([&] { read_queries(queries); }, {"queries.jsonl", "empty"});
}

TEST(Beir, BadQrels) {
  TempDir t;
  auto q = t / "q.tsv";
  write_file(q, "query-id\tcorpus-id\tscore\nq1\td1\n");
  expect_input_error([&] { read_qrels_tsv(q); }, {"q.tsv:2", "3 tab-separated"});
  write_file(q, "query-id\tcorpus-id\tscore\nq1\td1\thigh\n");
  expect_input_error([&] { read_qrels_tsv(q); }, {"q.tsv:2", "'score'"});
  write_file(q, "query-id\tcorpus-id\tscore\n");
  expect_input_error([&] { read_qrels_tsv(q); }, {"q.tsv", "empty"});
  // Without a header, line 1 is data (BEIR would drop it).
  write_file(q, "q1\td1\t1\n");
  EXPECT_EQ(read_qrels_tsv(q).at("q1").at("d1"), 1);
}

TEST(Beir, QrelsNamingAnUnknownQueryIsAnErrorUnknownDocumentAWarning) {
  TempDir t;
  write_dataset(t, "{\"_id\": \"d1\", \"text\": \"x\"}\n", "{\"_id\": \"q1\", \"text\": \"y\"}\n",
                "query-id\tcorpus-id\tscore\nq1\tmissing-doc\t1\n");
  EXPECT_EQ(load_beir(t.path()).qrels.size(), 1u);
  write_file(t / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq9\td1\t1\n");
  expect_input_error([&] { load_beir(t.path()); }, {"test.tsv", "'q9'"});
}

TEST(JsonLines, StreamsLinesLongerThanTheChunk) {
  TempDir t;
  std::string big(20u << 20, 'x');
  write_file(t / "big.jsonl", "{\"id\": \"a\", \"text\": \"" + big + "\"}\n{\"id\": \"b\", \"text\": \"y\"}");
  JsonLinesReader r(t / "big.jsonl");
  TextRecord rec;
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.text.size(), big.size());
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.id, "b");
  EXPECT_EQ(rec.line, 2);
  EXPECT_FALSE(r.next(rec));
}

}  // namespace
}  // namespace rr
