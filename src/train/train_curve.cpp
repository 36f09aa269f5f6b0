#include "train/train_curve.h"

#include "common/error.h"

namespace rr {

nlohmann::json curve_to_json(const TrainCurve& c) {
  return {{"steps", c.steps},
          {"loss", c.loss},
          {"lr", c.lr},
          {"eval_steps", c.eval_steps},
          {"dev_ndcg10", c.dev_ndcg10},
          {"best_step", c.best_step},
          {"best_dev", c.best_dev},
          {"steps_done", c.steps_done}};
}

TrainCurve curve_from_json(const nlohmann::json& j, const std::string& where) {
  TrainCurve c;
  try {
    c.steps = j.at("steps").get<std::vector<int64_t>>();
    c.loss = j.at("loss").get<std::vector<double>>();
    c.lr = j.at("lr").get<std::vector<double>>();
    c.eval_steps = j.at("eval_steps").get<std::vector<int64_t>>();
    c.dev_ndcg10 = j.at("dev_ndcg10").get<std::vector<double>>();
    c.best_step = j.at("best_step").get<int64_t>();
    c.best_dev = j.at("best_dev").get<double>();
    c.steps_done = j.value("steps_done", c.steps.empty() ? int64_t{0} : c.steps.back());
  } catch (const nlohmann::json::exception& e) {
    RR_THROW(Input, "{}: bad training curve: {}", where, e.what());
  }
  return c;
}

}  // namespace rr
