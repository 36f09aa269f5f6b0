// The routing pieces of RouterRetriever against independent references computed with numpy and scikit-learn
// (tests/fixtures/routers/make_router_fixtures.py writes router_reference.json).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>

#include "common/error.h"
#include "h5data/h5_file.h"
#include "mpi/stages/methods.h"
#include "router/router.h"
#include "tests/test_support.h"

namespace rr {
namespace {

const nlohmann::json& reference() {
  static const nlohmann::json ref = [] {
    std::ifstream in(std::string(RR_SOURCE_DIR) + "/tests/fixtures/routers/router_reference.json");
    return nlohmann::json::parse(in);
  }();
  return ref;
}

// A JSON matrix as a tensor (null = -inf).
at::Tensor matrix(const nlohmann::json& rows, at::ScalarType type = at::kFloat) {
  std::vector<double> v;
  for (const auto& row : rows)
    for (const auto& x : row)
      v.push_back(x.is_null() ? -std::numeric_limits<double>::infinity() : x.get<double>());
  const int64_t n = static_cast<int64_t>(rows.size());
  return at::tensor(v, at::kDouble).reshape({n, n ? static_cast<int64_t>(v.size()) / n : 0}).to(type);
}

std::vector<int32_t> ints(const nlohmann::json& j) {
  return j.get<std::vector<int32_t>>();
}

RoutingTrainingSet training_set(const nlohmann::json& pilots, int32_t experts) {
  RoutingTrainingSet t;
  t.num_experts = experts;
  for (size_t d = 0; d < pilots["datasets"].size(); ++d) {
    t.datasets.push_back("d" + std::to_string(d));
    t.query_ids.emplace_back();
    for (size_t q = 0; q < pilots["datasets"][d]["base"].size(); ++q)
      t.query_ids.back().push_back(fmt::format("d{}-q{}", d, q));
    t.base.push_back(matrix(pilots["datasets"][d]["base"]));
    t.dataset_expert.push_back(static_cast<int32_t>(d));
  }
  std::vector<std::vector<int32_t>> labels;
  for (const auto& d : pilots["datasets"]) labels.push_back(ints(d["labels"]));
  t.pilots = build_pilots(t.base, labels, 1, 13);
  return t;
}

std::unique_ptr<Router> fitted(const std::string& name, const RouterParams& p, const RoutingTrainingSet& t) {
  auto r = router_info(name).make(p);
  r->fit(t);
  auto copy = router_info(name).make(p);  // what another rank gets: the state alone
  copy->set_state(r->state());
  return copy;
}

TEST(Pilots, BestExpertsWithBothTieRules) {
  const auto& ref = reference()["best_experts"];
  const at::Tensor scores = matrix(ref["scores"], at::kDouble);
  EXPECT_EQ(best_experts(scores, TieRule::First), ints(ref["first"]));
  EXPECT_EQ(best_experts(scores, TieRule::Skip), ints(ref["skip"]));
  int64_t tied = 0;
  for (size_t q = 0; q < ref["first"].size(); ++q) tied += ref["skip"][q] == -1;
  EXPECT_DOUBLE_EQ(tied_share(scores), static_cast<double>(tied) / static_cast<double>(ref["first"].size()));
}

TEST(Pilots, CentroidsOfEachDatasetExpertGroup) {
  const auto& ref = reference()["pilots"];
  const RoutingTrainingSet t = training_set(ref, 3);
  EXPECT_EQ(t.pilots.expert, ints(ref["expert"]));
  EXPECT_EQ(t.pilots.dataset, ints(ref["dataset"]));
  EXPECT_EQ(t.pilots.count, ref["count"].get<std::vector<int64_t>>());
  EXPECT_LE((t.pilots.emb - matrix(ref["emb"])).abs().max().item<double>(), 1e-5);
}

TEST(Pilots, KMeansFromTheSameInitialCentresAsScikitLearn) {
  const auto& ref = reference()["kmeans"];
  auto [centres, sizes] = lloyd_kmeans(matrix(ref["x"]), matrix(ref["init"]));
  EXPECT_LE((centres - matrix(ref["centres"])).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(sizes, ref["sizes"].get<std::vector<int64_t>>());
}

TEST(Pilots, MeanAndMaxSimilarityWithAnExpertWithoutPilots) {
  const auto& ref = reference();
  const RoutingTrainingSet t = training_set(ref["pilots"], 3);
  const at::Tensor q = matrix(ref["similarity"]["queries"]);
  const int experts = ref["similarity"]["experts"];
  for (const char* kind : {"mean", "max"}) {
    const at::Tensor ours = expert_similarity(q, t.pilots, experts, std::string(kind) == "max");
    const at::Tensor want = matrix(ref["similarity"][kind]);
    EXPECT_TRUE(at::equal(at::isinf(ours), at::isinf(want))) << kind;
    const at::Tensor finite = at::isfinite(want);
    EXPECT_LE((ours.masked_select(finite) - want.masked_select(finite)).abs().max().item<double>(), 1e-4)
        << kind;
  }
}

TEST(Pilots, ArgmaxTakesTheFirstOfTiesAndNothingFromMinusInfinity) {
  const auto& ref = reference()["argmax"];
  EXPECT_EQ(argmax_rows(matrix(ref["scores"])), ints(ref["expected"]));
}

TEST(Routers, PilotMeanAndMaxRouteToTheMostSimilarExpert) {
  const auto& ref = reference();
  const RoutingTrainingSet t = training_set(ref["pilots"], 3);
  const at::Tensor q = matrix(ref["similarity"]["queries"]);
  const std::vector<std::string> ids(static_cast<size_t>(q.size(0)), "q");
  for (const char* name : {"pilot-mean", "pilot-max"}) {
    RouterParams p;
    p.num_experts = ref["similarity"]["experts"];
    const Routing r = fitted(name, p, t)->route({q, ids.data()});
    const char* kind = std::string(name) == "pilot-max" ? "max" : "mean";
    EXPECT_EQ(r.kind, Routing::Kind::PerQuery);
    EXPECT_EQ(r.expert, argmax_rows(matrix(ref["similarity"][kind]))) << name;
  }
}

TEST(Routers, TopKMixtureWeights) {
  const auto& ref = reference();
  const RoutingTrainingSet t = training_set(ref["pilots"], 3);
  const at::Tensor q = matrix(ref["similarity"]["queries"]);
  const std::vector<std::string> ids(static_cast<size_t>(q.size(0)), "q");
  RouterParams p;
  p.num_experts = ref["similarity"]["experts"];
  p.top_k = ref["top_k_mix"]["k"];
  const Routing r = fitted("top-k-mix", p, t)->route({q, ids.data()});
  ASSERT_EQ(r.kind, Routing::Kind::Mixture);
  for (int64_t i = 0; i < q.size(0); ++i) {
    EXPECT_EQ(r.mix_experts[i], ints(ref["top_k_mix"]["experts"][i])) << i;
    EXPECT_EQ(r.expert[i], r.mix_experts[i][0]);
    const auto want = ref["top_k_mix"]["weights"][i].get<std::vector<double>>();
    for (size_t j = 0; j < want.size(); ++j) EXPECT_NEAR(r.mix_weights[i][j], want[j], 1e-6) << i;
  }
}

TEST(Routers, DatasetRouterTakesTheNearestLabelledInstance) {
  const auto& ref = reference();
  const RoutingTrainingSet t = training_set(ref["pilots"], 3);
  const at::Tensor q = matrix(ref["similarity"]["queries"]);
  const std::vector<std::string> ids(static_cast<size_t>(q.size(0)), "q");
  RouterParams p;
  p.num_experts = 3;
  p.dataset_instances = 100;  // more than each dataset has: every training query is an instance
  EXPECT_EQ(fitted("dataset", p, t)->route({q, ids.data()}).expert, ints(ref["dataset_router"]["expected"]));
}

// Both classifier routers against scikit-learn's LogisticRegression (class-balanced; multinomial and
// one-vs-rest) on the same standardised data: the routing decisions of a held-back set agree on >= 97% of the
// queries. (rr takes 300 full-batch Adam steps, scikit-learn solves to 1e-10: the two differ only where the
// decision is close.)
TEST(Routers, ClassifiersAgreeWithScikitLearn) {
  const auto& ref = reference()["classifiers"];
  const auto train_y = ints(ref["train_y"]);
  RoutingTrainingSet t;
  t.num_experts = 3;
  t.datasets = {"d"};
  t.query_ids = {std::vector<std::string>(train_y.size(), "q")};
  t.dataset_expert = {0};
  t.base = {matrix(ref["train_x"])};
  at::Tensor scores = at::zeros({static_cast<int64_t>(train_y.size()), 3}, at::kDouble);
  for (size_t i = 0; i < train_y.size(); ++i) scores[static_cast<int64_t>(i)][train_y[i]] = 1.0;
  t.scores = {scores};
  const at::Tensor test = matrix(ref["test_x"]);
  const std::vector<std::string> ids(static_cast<size_t>(test.size(0)), "q");
  RouterParams p;
  p.num_experts = 3;
  for (auto [name, sklearn] :
       {std::pair{"classification-head", "multinomial"}, {"expert-classifier", "one_vs_rest"}}) {
    const auto ours = fitted(name, p, t)->route({test, ids.data()}).expert;
    const auto theirs = ints(ref[sklearn]), truth = ints(ref["test_y"]);
    int agree = 0, correct = 0;
    for (size_t i = 0; i < ours.size(); ++i) agree += ours[i] == theirs[i], correct += ours[i] == truth[i];
    EXPECT_GE(agree, 0.97 * static_cast<double>(ours.size()))
        << name << ": " << agree << " of " << ours.size();
    EXPECT_GE(correct, 0.8 * static_cast<double>(ours.size())) << name;
  }
}

TEST(Routers, RandomRouterIsSeededUniformAndBlockIndependent) {
  RouterParams p;
  p.num_experts = 4;
  std::vector<std::string> ids;
  for (int i = 0; i < 2000; ++i) ids.push_back("query-" + std::to_string(i));
  const auto router = router_info("random").make(p);
  const auto whole = router->route({at::zeros({2000, 2}), ids.data()}).expert;
  const auto tail = router->route({at::zeros({500, 2}), ids.data() + 1500}).expert;
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), whole.begin() + 1500));
  std::vector<int> counts(4, 0);
  for (int32_t e : whole) ++counts.at(e);
  for (int c : counts) EXPECT_NEAR(c, 500, 75);  // about 3.7 standard deviations
  p.seed = 14;
  EXPECT_NE(router_info("random").make(p)->route({at::zeros({2000, 2}), ids.data()}).expert, whole);
}

TEST(Routers, OraclesChooseFromTheSingleExpertsResults) {
  const at::Tensor ndcg =
      at::tensor(std::vector<double>{0.1, 0.5, 0.5, 0.9, 0.2, 0.2, 0.0, 0.0, 0.0}, at::kDouble)
          .reshape({3, 3});
  EXPECT_EQ(router_info("instance-oracle").make({})->choose(ndcg), (std::vector<int32_t>{1, 0, 0}));
  // Column sums 1.0, 0.7, 0.7: expert 0 for every query.
  EXPECT_EQ(router_info("dataset-oracle").make({})->choose(ndcg), (std::vector<int32_t>{0, 0, 0}));
}

TEST(Routers, RegistryNamesAreUniqueAndUnknownOnesAreUsageErrors) {
  std::set<std::string> names;
  for (const auto& r : router_registry()) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_FALSE(r.label.empty()) << r.name;
  }
  try {
    router_info("no-such-router");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("pilot-mean"), std::string::npos);
  }
}

// pilot stores the fitted states and evaluate reads them back: every shape (a one-expert classifier's H x 1
// weights, an empty library's 0 x 0 pilots, scalars) and type comes back as it was; a missing state says
// which router and to run pilot again.
TEST(RouterStates, RoundTripKeepsShapesAndTypes) {
  test::TempDir t;
  const RouterState state = {{"W", at::randn({5, 1})},
                             {"b", at::randn({1})},
                             {"emb", at::empty({0, 0})},
                             {"labels", at::tensor(std::vector<int32_t>{2, 0, 1}, at::kInt)},
                             {"m", at::randn({2, 3}, at::kDouble)},
                             {"s", at::scalar_tensor(0.5, at::kFloat)}};
  {
    auto f = h5::File::create(t / "r.h5");
    stages::write_router_state(f, "expert-classifier", state);
  }
  {
    const auto f = h5::File::open(t / "r.h5", false);
    const RouterState back = stages::read_router_state(f, "expert-classifier");
    ASSERT_EQ(back.size(), state.size());
    for (const auto& [key, tensor] : state) {
      EXPECT_EQ(back.at(key).sizes(), tensor.sizes()) << key;
      EXPECT_EQ(back.at(key).scalar_type(), tensor.scalar_type()) << key;
      EXPECT_TRUE(at::equal(back.at(key), tensor)) << key;
    }
    try {
      stages::read_router_state(f, "dataset");
      FAIL() << "a missing state was read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'dataset' (run `pilot` again"), std::string::npos) << e.what();
    }
  }
  // A damaged state (a size that is not a number, sizes that do not match the values) is a clear error.
  for (const std::vector<std::string>& shape :
       {std::vector<std::string>{"x"}, std::vector<std::string>{"4", "2"}}) {
    {
      auto g = h5::File::open(t / "r.h5", true);
      g.set_attr("/router_states/expert-classifier/W", "shape", shape);
    }
    try {
      stages::read_router_state(h5::File::open(t / "r.h5", false), "expert-classifier");
      FAIL() << "a damaged shape was read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("/router_states/expert-classifier/W"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace rr
