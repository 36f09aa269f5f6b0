// The record of a training run: logged steps with loss and learning rate, and the dev evaluations.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace rr {

struct TrainCurve {
  std::vector<int64_t> steps;  // logged steps
  std::vector<double> loss, lr;
  std::vector<int64_t> eval_steps;  // dev evaluations (step 0 = the untrained start)
  std::vector<double> dev_ndcg10;
  int64_t best_step = 0;
  double best_dev = -1;  // -1: no dev data
  int64_t steps_done = 0;
  bool resumed = false;
};

nlohmann::json curve_to_json(const TrainCurve& curve);
// Throws Input naming `where` when a field is missing or mistyped.
TrainCurve curve_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace rr
