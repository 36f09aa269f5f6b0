#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"
#include "eval/measures.h"
#include "eval/trec_files.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using test::TempDir;
using test::write_file;

// Every line of a trec_eval fixture, reproduced to 1e-9 through the library.
void expect_fixture(const std::string& name, const std::vector<std::string>& specs) {
  auto dir = test::shared_dir() / "fixtures" / "trec_eval" / name;
  MeasureSet measures(specs);
  Evaluation ev = evaluate_run(measures, read_trec_run(dir / "run.txt"), read_trec_qrels(dir / "qrels.txt"));
  std::ifstream in(dir / "expected_trec_eval.txt");
  std::string measure, qid;
  double expected;
  int checked = 0;
  while (in >> measure >> qid >> expected) {
    int m = measures.index_of(measure);
    ASSERT_GE(m, 0) << measure;
    double got;
    if (qid == "all") {
      got = ev.mean[m];
    } else {
      auto it = std::find(ev.query_ids.begin(), ev.query_ids.end(), qid);
      ASSERT_NE(it, ev.query_ids.end()) << qid;
      got = ev.values[it - ev.query_ids.begin()][m];
    }
    EXPECT_NEAR(got, expected, 1e-9) << measure << " " << qid;
    ++checked;
  }
  EXPECT_EQ(checked * 1u, (ev.query_ids.size() + 1) * measures.size());
}

TEST(Measures, ReproducesTrecEvalSmallFixture) {
  RR_REQUIRE_SHARED();
  expect_fixture("small", {"map", "recip_rank", "P.10", "recall.100", "ndcg_cut.10", "map_cut.10"});
}

TEST(Measures, ReproducesTrecEvalSyntheticFixture) {
  RR_REQUIRE_SHARED();
  const std::string k = ".1,3,5,10,100,1000";
  expect_fixture("synthetic",
                 {"ndcg_cut" + k, "map_cut" + k, "recall" + k, "P" + k, "recip_rank", "map", "ndcg"});
}

TEST(Measures, HandComputedGradedQuery) {
  // Ranked: d3 (rel 0), then d9 and d1 tie at 9.0 -> d9 first (larger id), then d2.
  MeasureSet m({"ndcg_cut.2,10", "P.2", "recall.3", "recip_rank", "map"});
  std::map<std::string, int> judged = {{"d1", 2}, {"d2", 1}, {"d3", 0}, {"d5", 1}};
  auto v = m.evaluate({{"d3", 10}, {"d1", 9}, {"d9", 9}, {"d2", 5}}, judged);
  const double idcg10 = 2 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  const double dcg10 = 2 / std::log2(4.0) + 1 / std::log2(5.0);
  EXPECT_DOUBLE_EQ(v[m.index_of("ndcg_cut_2")], 0.0);
  EXPECT_DOUBLE_EQ(v[m.index_of("ndcg_cut_10")], dcg10 / idcg10);
  EXPECT_DOUBLE_EQ(v[m.index_of("P_2")], 0.0);
  EXPECT_DOUBLE_EQ(v[m.index_of("recall_3")], 1.0 / 3);
  EXPECT_DOUBLE_EQ(v[m.index_of("recip_rank")], 1.0 / 3);
  EXPECT_DOUBLE_EQ(v[m.index_of("map")], (1.0 / 3 + 2.0 / 4) / 3);
}

TEST(Measures, NegativeJudgmentsAddNothingAndQueriesWithoutRelevantScoreZero) {
  MeasureSet m({"ndcg_cut.10", "recall.10", "map"});
  auto v = m.evaluate({{"a", 3}, {"b", 2}}, {{"a", -1}, {"b", 0}});
  for (double x : v) EXPECT_EQ(x, 0.0);
}

TEST(Measures, MeanIsOverQueriesInBothRunAndQrels) {
  MeasureSet m({"P.1"});
  TrecRun run = {{"q1", {{"a", 1}}}, {"q2", {{"b", 1}}}, {"runonly", {{"c", 1}}}};
  Judgments qrels = {{"q1", {{"a", 1}}}, {"q2", {{"x", 1}}}, {"qrelsonly", {{"c", 1}}}};
  auto ev = evaluate_run(m, run, qrels);
  ASSERT_EQ(ev.query_ids, (std::vector<std::string>{"q1", "q2"}));
  EXPECT_DOUBLE_EQ(ev.mean[0], 0.5);
}

TEST(Measures, IgnoreIdenticalIdsDropsTheQueryItself) {
  std::vector<ScoredDoc> docs = {{"q1", 5}, {"d", 4}};
  drop_identical_id(docs, "q1");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].doc_id, "d");
}

TEST(Measures, DefaultCutoffsAndOrderFollowTrecEval) {
  MeasureSet m({"ndcg_cut", "map", "P.10,5"});
  std::vector<std::string> expected = {"map", "P_5", "P_10"};
  for (long k : {5, 10, 15, 20, 30, 100, 200, 500, 1000}) expected.push_back("ndcg_cut_" + std::to_string(k));
  EXPECT_EQ(m.names(), expected);
}

TEST(Measures, BadSpecsAreUsageErrors) {
  for (const char* bad : {"nope", "P.0", "P.x", "map.5", "P.5,5"}) {
    try {
      MeasureSet m({bad});
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << bad;
    }
  }
}

TEST(Measures, DuplicateDocumentInRunIsAnError) {
  MeasureSet m({"map"});
  EXPECT_THROW(m.evaluate({{"a", 2}, {"b", 1}, {"a", 0.5}}, {{"a", 1}}), Error);
}

TEST(TrecFiles, MalformedLinesNameFileLineAndField) {
  TempDir tmp;
  write_file(tmp / "q", "q1 0 d1 1\nq1 0 d2 x\n");
  try {
    read_trec_qrels(tmp / "q");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":2: field 'rel'"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), 2);
  }
  write_file(tmp / "r", "q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 t\n");
  try {
    read_trec_run(tmp / "r");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":2: 5 fields, expected 6"), std::string::npos) << e.what();
  }
  write_file(tmp / "d", "q1 0 d1 1\nq1 0 d1 0\n");
  EXPECT_THROW(read_trec_qrels(tmp / "d"), Error);
}

TEST(TrecFiles, RunWriterRoundTripsFloatScoresAndOrder) {
  TempDir tmp;
  float s1 = 0.1234567891f, s2 = 1e-7f;
  TrecRun run = {{"q", {{"b", s2}, {"a", s1}, {"c", s1}}}};
  write_trec_run(tmp / "run", run, "rr");
  auto back = read_trec_run(tmp / "run");
  ASSERT_EQ(back["q"].size(), 3u);
  EXPECT_EQ(back["q"][0].doc_id, "c");  // tie with "a": larger id first
  EXPECT_EQ(back["q"][1].doc_id, "a");
  EXPECT_EQ(static_cast<float>(back["q"][0].score), s1);
  EXPECT_EQ(static_cast<float>(back["q"][2].score), s2);
}

}  // namespace
}  // namespace rr
