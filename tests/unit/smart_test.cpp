#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "data/beir.h"
#include "data/smart.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using test::TempDir;
using test::write_file;

struct Classic {
  const char* dir;
  const char* docs;
  const char* queries;
  const char* qrels;
  RelevanceScale relevance;
  int64_t n_docs, n_queries, n_judged, n_judgments;
};

// The counts of ../shared/data/classic/*/SOURCE.md.
const Classic kClassic[] = {
    {"cranfield", "cran.all.1400", "cran.qry", "cranqrel", RelevanceScale::Rank, 1400, 225, 225, 1837},
    {"cisi", "CISI.ALL", "CISI.QRY", "CISI.REL", RelevanceScale::Keep, 1460, 112, 76, 3114},
    {"med", "MED.ALL", "MED.QRY", "MED.REL", RelevanceScale::Keep, 1033, 30, 30, 696},
};

TEST(Smart, ReproducesTheClassicCollectionCountsWithNoDanglingQrels) {
  RR_REQUIRE_SHARED();
  for (const auto& c : kClassic) {
    TempDir t;
    auto src = test::shared_dir() / "data" / "classic" / c.dir;
    SmartConvertOptions o;
    o.relevance = c.relevance;
    auto s = convert_smart(src / c.docs, src / c.queries, src / c.qrels, t / "beir", o);
    EXPECT_EQ(s.documents, c.n_docs) << c.dir;
    EXPECT_EQ(s.queries, c.n_queries) << c.dir;
    EXPECT_EQ(s.judged_queries, c.n_judged) << c.dir;
    EXPECT_EQ(s.judgments, c.n_judgments) << c.dir;
    // What was written loads as BEIR with every judgment pointing at a real query and document.
    auto ds = load_beir(t / "beir");
    EXPECT_EQ(static_cast<int64_t>(ds.corpus.size()), c.n_docs);
    EXPECT_EQ(static_cast<int64_t>(ds.queries.size()), c.n_judged);
    std::set<std::string> docs;
    for (const auto& d : ds.corpus) docs.insert(d.id);
    int64_t judgments = 0;
    for (const auto& [q, judged] : ds.qrels)
      for (const auto& [d, rel] : judged) {
        EXPECT_TRUE(docs.count(d)) << c.dir << " " << d;
        ++judgments;
      }
    EXPECT_EQ(judgments, c.n_judgments);
  }
}

TEST(Smart, CranfieldUsesPositionalQueryIdsAndRankGrades) {
  RR_REQUIRE_SHARED();
  TempDir t;
  auto src = test::shared_dir() / "data" / "classic" / "cranfield";
  SmartConvertOptions o;
  o.relevance = RelevanceScale::Rank;
  auto s = convert_smart(src / "cran.all.1400", src / "cran.qry", src / "cranqrel", t / "b", o);
  EXPECT_EQ(s.query_numbering, "position");
  EXPECT_EQ(s.below_one, 225);
  auto q = read_qrels_tsv(t / "b" / "qrels" / "test.tsv");
  EXPECT_EQ(q.at("1").at("184"), 3);  // code 2 -> 5 - 2
  auto queries = read_queries(t / "b" / "queries.jsonl");
  EXPECT_EQ(queries[2].id, "3");  // the third query is ".I 004" in the file
  EXPECT_EQ(queries[2].text, "what problems of heat conduction in composite slabs have been solved so far .");
}

TEST(Smart, HandlesWildLayouts) {
  TempDir t;
  // CRLF, zero-padded ids, content on the marker line, unknown fields, Latin-1 bytes, tabs.
  write_file(t / "docs",
             ".I 001\r\n.T\r\nFirst  title\r\n.A\r\nsomeone\r\n.W\r\nbody\tone\r\n  more\r\n.I 2\r\n.W body "
             "caf\xe9\r\n.X\r\n1 2 3\r\n");
  write_file(t / "qry", ".I 1\n.W\nfirst query\n.I 02\n.W\nsecond query\n");
  struct Layout {
    std::string qrels;
    const char* name;
    int rel_d1;
  };
  const Layout layouts[] = {
      {"1 1\n02   2\n", "qid docid", 1},
      {"1\t001\t3\n2\t2\t1\n", "qid docid rel", 3},
      {"1 0 1 2\n2 0 2 1\n", "qid 0 docid rel", 2},
      {"  1     1\t0\t0.000000\r\n  2     2\t0\t0\r\n", "qid docid 0 0.0", 1},
  };
  for (const auto& l : layouts) {
    write_file(t / "rel", l.qrels);
    auto s = convert_smart(t / "docs", t / "qry", t / "rel", t / "out", {});
    EXPECT_EQ(s.qrels_layout, l.name);
    auto ds = load_beir(t / "out");
    ASSERT_EQ(ds.corpus.size(), 2u);
    EXPECT_EQ(ds.corpus[0].id, "1");
    EXPECT_EQ(ds.corpus[0].title, "First title");
    EXPECT_EQ(ds.corpus[0].text, "body one more");
    EXPECT_EQ(ds.corpus[1].text, "body caf\xc3\xa9");
    EXPECT_EQ(ds.qrels.at("1").at("1"), l.rel_d1) << l.name;
    EXPECT_EQ(ds.qrels.at("2").at("2"), 1) << l.name;
  }
}

// Some distributions end the queries file with a bare ".I n": skipped (counted), the others keep their ids.
TEST(Smart, EmptyQueryRecordsAreSkipped) {
  TempDir t;
  write_file(t / "docs", ".I 1\n.W\nx\n.I 2\n.W\ny\n");
  write_file(t / "qry", ".I 1\n.W\nfirst\n.I 2\n.W\nsecond\n.I 0\n");
  write_file(t / "rel", "1 1\n2 2\n");
  auto s = convert_smart(t / "docs", t / "qry", t / "rel", t / "out", {});
  EXPECT_EQ(s.empty_queries, 1);
  auto ds = load_beir(t / "out");
  ASSERT_EQ(ds.queries.size(), 2u);
  EXPECT_EQ(ds.queries[1].text, "second");
}

TEST(Smart, BadInputIsAClearError) {
  TempDir t;
  write_file(t / "docs", ".I 1\n.W\nx\n.I 2\n.W\ny\n");
  write_file(t / "qry", ".I 1\n.W\nq\n");
  auto expect = [&](const std::string& docs, const std::string& qrels, const std::string& fragment) {
    write_file(t / "d2", docs);
    write_file(t / "rel", qrels);
    try {
      convert_smart(t / "d2", t / "qry", t / "rel", t / "out", {});
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Input);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect(".I 1\n.W\nx\n", "1 9\n", "rel:1: field 'docid': document 9");
  expect(".I 1\n.W\nx\n", "1 1\n1 1 2\n", "rel:2: 3 fields where line 1 has 2");
  expect(".I 1\n.W\nx\n.I 01\n.W\ny\n", "1 1\n", "d2:4: field '.I': duplicate id 1");
  expect("text first\n.I 1\n", "1 1\n", "d2:1: text before the first");
  expect(".I 1\n.W\nx\n", "1 1 high\n", "rel:1: field 'rel'");
  expect(".I 1\n.W\nx\n", "5 1\n", "neither the '.I' ids");
  expect("", "1 1\n", "no '.I' records");
  write_file(t / "qry", ".I 1\n.A\nsomeone\n");  // fields, but no text
  expect(".I 1\n.W\nx\n", "1 1\n", "qry:1: query 1 has no '.W' text");
  EXPECT_FALSE(std::filesystem::exists(t / "out"));  // nothing half-written
}

}  // namespace
}  // namespace rr
