#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <sched.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "common/threads.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using test::run_rr;
using test::TempDir;

TEST(Cli, HelpEverywhereAndExitCodes) {
  std::string out, err;
  EXPECT_EQ(run_rr("--help", &out), 0);
  EXPECT_NE(out.find("measure"), std::string::npos);
  EXPECT_EQ(run_rr("", nullptr, &err), 2);
  EXPECT_EQ(run_rr("frobnicate", nullptr, &err), 2);
  EXPECT_NE(err.find("unknown command"), std::string::npos);
  for (const char* cmd : {"measure", "convert smart", "tokenize", "embed", "vocab"}) {
    EXPECT_EQ(run_rr(std::string(cmd) + " --help", &out), 0) << cmd;
    EXPECT_NE(out.find("--threads"), std::string::npos) << cmd;
    EXPECT_NE(out.find("--log-level"), std::string::npos) << cmd;
  }
  EXPECT_EQ(run_rr("measure --bogus", nullptr, &err), 2);
  EXPECT_NE(err.find("bogus"), std::string::npos);
  EXPECT_EQ(run_rr("measure --qrels /nonexistent --run /nonexistent", nullptr, &err), 2);
  EXPECT_NE(err.find("/nonexistent"), std::string::npos);
  EXPECT_EQ(run_rr("measure --qrels x --run y --log-level loud", nullptr, &err), 2);
  EXPECT_EQ(run_rr("convert nosuchformat", nullptr, &err), 2);
}

// An output_dir that cannot be created: exit 2 from every stage naming the key, and a problem in `check`.
TEST(Cli, OutputDirThatCannotBeCreatedNamesTheKey) {
  TempDir t;
  test::write_file(t / "afile", "");
  test::write_file(t / "exp.json",
                   R"({"name": "x", "output_dir": "afile/out", "datasets": [{"name": "a"}]})");
  std::string out, err;
  EXPECT_EQ(run_rr("prepare --config " + (t / "exp.json").string(), &out, &err), 2);
  EXPECT_NE(err.find("'output_dir' = '" + (t / "afile" / "out").string() + "' cannot be created"),
            std::string::npos)
      << err;
  EXPECT_EQ(run_rr("check --config " + (t / "exp.json").string(), &out, &err), 2);
  EXPECT_NE(out.find("'output_dir'"), std::string::npos) << out;
}

TEST(Cli, MeasurePrintsTrecEvalLayout) {
  TempDir t;
  test::write_file(t / "q", "q1 0 a 1\nq1 0 b 0\n");
  test::write_file(t / "r", "q1 Q0 b 1 2.0 x\nq1 Q0 a 2 1.0 x\n");
  std::string out;
  ASSERT_EQ(
      run_rr("measure --qrels " + (t / "q").string() + " --run " + (t / "r").string() + " -m P.1,2 -q", &out),
      0);
  EXPECT_EQ(out,
            "P_1                   \tq1\t0.000000000000\nP_2                   \tq1\t0.500000000000\n"
            "P_1                   \tall\t0.000000000000\nP_2                   \tall\t0.500000000000\n");
}

TEST(Cli, MeasureFixturesThroughTheExecutable) {
  RR_REQUIRE_SHARED();
  auto dir = test::shared_dir() / "fixtures" / "trec_eval" / "synthetic";
  TempDir t;
  std::string out;
  ASSERT_EQ(
      run_rr("measure --qrels " + (dir / "qrels.txt").string() + " --run " + (dir / "run.txt").string() +
                 " -m ndcg_cut.1,3,5,10,100,1000 -m map_cut.1,3,5,10,100,1000 -m recall.1,3,5,10,100,1000 "
                 "-m P.1,3,5,10,100,1000 -m recip_rank -m map -m ndcg -q",
             &out),
      0);
  test::write_file(t / "actual", out);
  std::string cmd = "python3 " + (test::shared_dir() / "checks" / "compare_trec.py").string() + " " +
                    (dir / "expected_trec_eval.txt").string() + " " + (t / "actual").string() +
                    " 1e-9 >/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(Cli, BadTextsNameFileAndLine) {
  TempDir t;
  test::write_file(t / "v.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nok\n");
  test::write_file(t / "in.jsonl",
                   "{\"id\": \"a\", \"text\": \"ok\"}\n{\"id\": \"b\", \"text\": \"bad \xff\"}\n");
  std::string out, err;
  EXPECT_EQ(run_rr("tokenize --vocab " + (t / "v.txt").string() + " --input " + (t / "in.jsonl").string(),
                   &out, &err),
            2);
  EXPECT_NE(err.find("in.jsonl:2"), std::string::npos) << err;
  EXPECT_NE(err.find("UTF-8"), std::string::npos) << err;
  test::write_file(t / "in.jsonl", "{\"id\": \"a\", \"txt\": \"ok\"}\n");
  EXPECT_EQ(run_rr("tokenize --vocab " + (t / "v.txt").string() + " --input " + (t / "in.jsonl").string(),
                   &out, &err),
            2);
  EXPECT_NE(err.find("in.jsonl:1: missing field 'text'"), std::string::npos) << err;
  EXPECT_EQ(
      run_rr("embed --model " + t.path().string() + " --input " + (t / "in.jsonl").string(), &out, &err), 2);
  EXPECT_NE(err.find(t.path().string()), std::string::npos) << err;
  EXPECT_EQ(run_rr("embed --model " + t.path().string() + " --input x --device cuda:0", &out, &err), 2);
}

TEST(Cli, EmbedPrecisionMustBeFp32OrBf16) {
  RR_REQUIRE_SHARED();
  TempDir t;
  test::write_file(t / "in.jsonl", "{\"id\": \"a\", \"text\": \"ok\"}\n");
  std::string out, err;
  EXPECT_EQ(run_rr("embed --model " + (test::shared_dir() / "fixtures/hf-tiny-bert").string() + " --input " +
                       (t / "in.jsonl").string() + " --max-length 32 --precision fp16",
                   &out, &err),
            2);
  EXPECT_NE(err.find("--precision: precision must be fp32 or bf16, got 'fp16'"), std::string::npos) << err;
  EXPECT_TRUE(out.empty()) << out;
}

// A process confined to one CPU, as mpirun binds a rank when it starts one or two: --threads 0 takes that
// one CPU, and --threads 2 there is a warning naming the fix.
TEST(Threads, FollowTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  const int threads_before = at::get_num_threads();
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  std::ostringstream log;
  const auto logger_before = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  EXPECT_EQ(usable_cpus(), 1);
  EXPECT_EQ(set_threads(0), 1);
  EXPECT_EQ(log.str(), "");
  EXPECT_EQ(set_threads(2, 1, /*leader=*/false), 2);  // not the node's leader: debug, not shown
  EXPECT_EQ(log.str(), "");
  EXPECT_EQ(set_threads(2), 2);
  EXPECT_NE(log.str().find("2 threads but this process may run on 1 CPU(s)"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("--bind-to none"), std::string::npos);
  spdlog::set_default_logger(logger_before);
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_EQ(usable_cpus(), CPU_COUNT(&saved));
  set_threads(threads_before);
}

}  // namespace
}  // namespace rr
