#include <gtest/gtest.h>

#include "common/error.h"
#include "config/experiment.h"
#include "config/json_reader.h"
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
  EXPECT_THROW(apply_override(doc, "no-equals-sign"), Error);
  EXPECT_THROW(apply_override(doc, "datasets.9.name=x"), Error);
  EXPECT_THROW(Experiment::load("/nonexistent/exp.json"), Error);
}

}  // namespace
}  // namespace rr
