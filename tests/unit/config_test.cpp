#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"
#include "config/experiment.h"
#include "data/json_reader.h"
#include "mpi/stages/stage.h"
#include "search/search_layout.h"
#include "tests/test_support.h"

namespace rr {
namespace {

nlohmann::json minimal() {
  return nlohmann::json::parse(
      R"({"name": "x", "datasets": [{"name": "a"}, {"name": "b"}], "experts": [{"name": "a"}]})");
}

std::string usage_error(const nlohmann::json& doc) {
  try {
    Experiment::parse(doc, "/cfg/exp.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(Config, DefaultsPathsAndOverrides) {
  auto doc = minimal();
  apply_override(doc, "expert_training.lr=5e-5");
  apply_override(doc, "datasets.1.pseudo_queries=crop");
  apply_override(doc, "output_dir=out");
  Experiment e = Experiment::parse(doc, "/cfg/exp.json");
  EXPECT_DOUBLE_EQ(e.expert_training.lr, 5e-5);
  EXPECT_EQ(e.expert_training.lora.r, 8);  // the paper's defaults
  EXPECT_DOUBLE_EQ(e.expert_training.lora.alpha, 32);
  EXPECT_DOUBLE_EQ(e.expert_training.temperature, 0.05);
  EXPECT_EQ(e.datasets[1].pseudo_queries, PseudoQueries::Crop);
  EXPECT_EQ(e.output_dir, "/cfg/out");  // relative to the config file
  EXPECT_EQ(e.datasets[0].path, "/cfg/out/data/a");
  EXPECT_EQ(e.experts[0].adapter, "/cfg/out/experts/a");
  EXPECT_EQ(e.experts[0].datasets, std::vector<std::string>{"a"});
  EXPECT_EQ(e.base.path, "/cfg/out/base");
}

TEST(Config, UnknownKeysListTheValidOnes) {
  auto doc = minimal();
  doc["expert_training"]["lrr"] = 1;
  std::string msg = usage_error(doc);
  EXPECT_NE(msg.find("'expert_training.lrr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lr"), std::string::npos) << msg;
  EXPECT_NE(msg.find("temperature"), std::string::npos) << msg;
  doc = minimal();
  doc["datasets"][0]["sourse"] = nlohmann::json::object();
  EXPECT_NE(usage_error(doc).find("datasets[0].sourse"), std::string::npos);
}

TEST(Config, BadValuesNameTheKey) {
  auto doc = minimal();
  doc["seed"] = "thirteen";
  EXPECT_NE(usage_error(doc).find("'seed' must be an integer"), std::string::npos);
  doc = minimal();
  doc["experts"][0]["datasets"] = {"nope"};
  EXPECT_NE(usage_error(doc).find("'nope'"), std::string::npos);
  doc = minimal();
  doc["datasets"][1]["name"] = "a";
  EXPECT_NE(usage_error(doc).find("defined twice"), std::string::npos);
  doc = minimal();
  doc["datasets"][0]["name"] = "a/b";
  EXPECT_NE(usage_error(doc).find("[A-Za-z0-9_.-]+"), std::string::npos);
  doc = minimal();
  doc["routing"]["routers"] = {"pilot-mean", "oracle-of-delphi"};
  EXPECT_NE(usage_error(doc).find("oracle-of-delphi"), std::string::npos);
  doc = minimal();
  doc["expert_training"]["batch_size"] = 10;
  doc["expert_training"]["accumulation"] = 3;
  EXPECT_NE(usage_error(doc).find("multiple of accumulation"), std::string::npos);
  doc = minimal();
  doc["datasets"][0]["path"] = "";
  EXPECT_NE(usage_error(doc).find("'datasets[0].path' must be a non-empty path"), std::string::npos);
  doc = minimal();
  doc["datasets"][0]["path"] = 7;
  EXPECT_NE(usage_error(doc).find("datasets[0].path"), std::string::npos);
  doc = minimal();
  doc["evaluation"]["max_doc_length"] = -5;
  EXPECT_NE(usage_error(doc).find("'evaluation.max_doc_length' = -5 must be in [2, 8192]"),
            std::string::npos);
  doc = minimal();
  doc["expert_training"]["max_query_length"] = 0;
  EXPECT_NE(usage_error(doc).find("'expert_training.max_query_length' = 0"), std::string::npos);
  doc = minimal();
  doc["evaluation"]["precision"] = "fp16";
  EXPECT_NE(usage_error(doc).find("evaluation.precision: precision must be fp32 or bf16, got 'fp16'"),
            std::string::npos);
  for (const char* key : {"k", "store_k", "corpus_block"}) {
    doc = minimal();
    doc["evaluation"][key] = 0;
    EXPECT_NE(usage_error(doc).find(std::string("'evaluation.") + key + "' = 0 must be in [1, "),
              std::string::npos)
        << key;
  }
  doc = minimal();  // the expert cache holds at least one expert
  doc["max_loaded_experts"] = 0;
  EXPECT_NE(usage_error(doc).find("'max_loaded_experts' = 0 must be in [1, "), std::string::npos);
  doc = minimal();
  doc["evaluation"]["singles"] = "some";
  EXPECT_NE(usage_error(doc).find("evaluation.singles must be \"all\", \"own\" or \"none\", got \"some\""),
            std::string::npos);
  doc = minimal();
  doc["evaluation"]["k"] = 10;
  doc["evaluation"]["store_k"] = 20;
  EXPECT_NE(usage_error(doc).find("'evaluation.store_k' = 20 must be in [1, 10]"), std::string::npos);
  doc = minimal();  // --set with the wrong type: a string where a number goes, a number where a list goes
  apply_override(doc, "expert_training.lr=fast");
  EXPECT_NE(usage_error(doc).find("expert_training.lr"), std::string::npos);
  doc = minimal();
  apply_override(doc, "routing.routers=7");
  EXPECT_NE(usage_error(doc).find("routing.routers"), std::string::npos);
  doc = minimal();
  doc["datasets"][0]["checksums"] = {{"qrels/test.tsv", "abc"}};
  EXPECT_NE(usage_error(doc).find("datasets[0].checksums.qrels/test.tsv: expected a SHA-256"),
            std::string::npos);
  doc = minimal();
  doc["datasets"][0]["checksums"] = {{"qrels/test.tsv", 5}};
  EXPECT_NE(usage_error(doc).find("an object of strings"), std::string::npos);
  EXPECT_THROW(apply_override(doc, "no-equals-sign"), Error);
  EXPECT_THROW(apply_override(doc, "datasets.9.name=x"), Error);
  EXPECT_THROW(Experiment::load("/nonexistent/exp.json"), Error);
}

}  // namespace
}  // namespace rr

namespace rr {
namespace {

// Per-job Slurm requests: rr's defaults, the user's default, the cpu class, the stage; bad values name the
// key.
TEST(Config, SlurmRequestsAreLayeredPerJob) {
  auto doc = minimal();
  doc["slurm"] = nlohmann::json::parse(R"({"signal_seconds": 120,
      "default": {"partition": "gpu", "gpus_per_task": 1, "ntasks": 8, "time": "12:00:00"},
      "cpu": {"partition": "cpu"}, "train-expert": {"ntasks": 4, "mem": "64G"}})");
  const Experiment e = Experiment::parse(doc, "/cfg/exp.json");
  EXPECT_EQ(
      sbatch_options(e.slurm, "encode"),
      "--ntasks=8 --cpus-per-task=1 --time=12:00:00 --partition=gpu --gpus-per-task=1 --signal=B:USR1@120 "
      "--requeue");
  // The light stages: one task, no GPU, their own partition, rr's shorter time.
  EXPECT_EQ(sbatch_options(e.slurm, "report"),
            "--ntasks=1 --cpus-per-task=1 --time=01:00:00 --partition=cpu --signal=B:USR1@120 --requeue");
  EXPECT_EQ(sbatch_options(e.slurm, "score-assemble"), sbatch_options(e.slurm, "pilot"));
  EXPECT_EQ(sbatch_options(e.slurm, "train-expert"),
            "--ntasks=4 --cpus-per-task=2 --time=08:00:00 --partition=gpu --mem=64G --gpus-per-task=1 "
            "--signal=B:USR1@120 --requeue");
  EXPECT_THROW(sbatch_options(e.slurm, "trian-expert"), Error);
  std::vector<std::string> jobs = {"default", "cpu"};  // the config layer's list follows the stage table
  for (const auto& s : stages::stage_table()) jobs.push_back(s.name);
  std::vector<std::string> names = slurm_job_names();
  std::sort(jobs.begin(), jobs.end());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, jobs);
  auto bad = minimal();
  bad["slurm"]["default"]["time"] = "twelve hours";
  EXPECT_NE(usage_error(bad).find("'slurm.default.time' = 'twelve hours' is not a Slurm time"),
            std::string::npos);
  bad = minimal();
  bad["slurm"]["evaluat"]["ntasks"] = 4;
  EXPECT_NE(usage_error(bad).find("slurm.evaluat"), std::string::npos);
  bad = minimal();
  bad["slurm"]["score"]["gpus_per_task"] = -1;
  EXPECT_NE(usage_error(bad).find("'slurm.score.gpus_per_task' = -1"), std::string::npos);
}

// Search layout: the issue's figure (MS MARCO on 512 ranks in whole 16,384-row blocks: 53%; the default
// 4,096: 84%), search groups for corpora with fewer units than ranks, and bf16's 256-row units (CPU only).
TEST(SearchLayout, UnitsGroupsAndBalance) {
  EvaluationConfig ev;
  const auto marco = search_layout(ev.corpus_block, ev.bf16, 8841823, 512);
  EXPECT_EQ(marco.units, 2159);
  EXPECT_EQ(marco.groups, 1);
  EXPECT_NEAR(marco.balance(8841823, 512), 0.843, 0.001);
  ev.corpus_block = 16384;
  EXPECT_EQ(search_layout(ev.corpus_block, ev.bf16, 8841823, 512).units, 540);
  EXPECT_NEAR(search_layout(ev.corpus_block, ev.bf16, 8841823, 512).balance(8841823, 512), 0.527, 0.001);
  ev.corpus_block = 16;
  const auto tiny = search_layout(ev.corpus_block, ev.bf16, 60, 64);
  EXPECT_EQ(tiny.units, 4);
  EXPECT_EQ(tiny.groups, 16);  // 16 groups of 4 ranks, one 16-row block each
  EXPECT_DOUBLE_EQ(tiny.balance(60, 64), (60.0 / 64) / (16.0 / 16));
  const auto three = search_layout(ev.corpus_block, ev.bf16, 60, 3);
  EXPECT_EQ(three.groups, 1);
  EXPECT_DOUBLE_EQ(three.balance(60, 3), 20.0 / 32);  // rank 0 holds two of the four blocks
  EXPECT_EQ(search_layout(ev.corpus_block, ev.bf16, 0, 8).groups, 1);
  EXPECT_DOUBLE_EQ(search_layout(ev.corpus_block, ev.bf16, 0, 8).balance(0, 8), 1.0);
  ev.bf16 = true;
  EXPECT_EQ(search_layout(ev.corpus_block, ev.bf16, 8841823, 512).align, kBalancedShardRows);
  EXPECT_GT(search_layout(ev.corpus_block, ev.bf16, 8841823, 512).balance(8841823, 512), 0.98);
  EXPECT_EQ(search_layout(ev.corpus_block, false, 60, 4).align, 16);  // bf16 search is the CPU's
}

}  // namespace
}  // namespace rr
