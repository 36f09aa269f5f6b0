#include "mpi/stages/train_record.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "common/atomic_output.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"

namespace rr::stages {

namespace {

constexpr const char* kTrainRecord = "rr_train.json";

at::Tensor as_tensor(const std::vector<double>& v) {
  return at::tensor(v, at::kDouble);
}

at::Tensor as_tensor(const std::vector<int64_t>& v) {
  return at::tensor(std::vector<double>(v.begin(), v.end()), at::kDouble);
}

}  // namespace

std::string recorded_fingerprint(const std::filesystem::path& dir) {
  std::ifstream in(dir / kTrainRecord);
  if (!in) return "";
  try {
    return nlohmann::json::parse(in).value("fingerprint", "");
  } catch (const std::exception&) {
    return "";
  }
}

void write_train_record(const std::filesystem::path& dir, const std::string& fp, const TrainCurve& curve) {
  AtomicFile f(dir / kTrainRecord);
  f.stream() << nlohmann::json{{"fingerprint", fp}, {"curve", curve_to_json(curve)}}.dump(1) << "\n";
  f.commit();
}

void store_curves(const Context& ctx,
                  const std::vector<std::pair<std::string, std::filesystem::path>>& models) {
  if (!ctx.root()) return;
  h5::ResultsUpdate up(ctx.exp.results_file(), {});
  auto& f = up.file();
  // The curves of models the experiment no longer has (an expert removed, the multi-task model turned off).
  if (f.exists("/training"))
    for (const auto& model : f.members("/training")) {
      const auto names = ctx.exp.expert_names();
      const bool expert = model.rfind("expert-", 0) == 0;
      if ((expert && std::find(names.begin(), names.end(), model.substr(7)) == names.end()) ||
          (model == "multitask" && (!ctx.exp.train_multitask || names.empty())))
        f.remove(schema::training_curve(model));
    }
  for (const auto& [model, dir] : models) {
    std::ifstream in(dir / kTrainRecord);
    if (!in) continue;
    const TrainCurve c = curve_from_json(nlohmann::json::parse(in)["curve"], (dir / kTrainRecord).string());
    const std::string g = schema::training_curve(model);
    f.remove(g);
    f.write(g + "/steps", as_tensor(c.steps));
    f.write(g + "/loss", as_tensor(c.loss));
    f.write(g + "/lr", as_tensor(c.lr));
    f.write(g + "/eval_steps", as_tensor(c.eval_steps));
    f.write(g + "/dev_ndcg10", as_tensor(c.dev_ndcg10));
    f.set_attr(g, "best_step", c.best_step);
  }
  up.commit();
}

}  // namespace rr::stages
