#include "train/checkpoint.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "common/atomic_output.h"
#include "common/error.h"

namespace rr {

void copy_into(std::map<std::string, at::Tensor>& dst, const TensorMap& src, const std::string& what) {
  at::NoGradGuard no_grad;
  for (auto& [name, t] : dst) {
    auto it = src.find(name);
    RR_CHECK(it != src.end(), Input, "{}: lacks tensor {}", what, name);
    t.copy_(it->second);
  }
}

TensorMap snapshot(const std::map<std::string, at::Tensor>& params) {
  TensorMap s;
  for (const auto& [n, t] : params) s[n] = t.detach().to(at::kCPU).clone();
  return s;
}

void save_checkpoint(const std::filesystem::path& dir, const Checkpoint& ck,
                     const std::map<std::string, at::Tensor>& params, const AdamW& opt, const TensorMap& best,
                     const std::string& fingerprint) {
  AtomicDirectory out(dir);
  write_safetensors(out.temp_path() / "params.safetensors", snapshot(params));
  TensorMap state;
  for (const auto& [n, t] : opt.state()) state[n] = t;
  write_safetensors(out.temp_path() / "optimizer.safetensors", state);
  write_safetensors(out.temp_path() / "best.safetensors", best);
  nlohmann::json j = {{"step", ck.step},
                      {"evals_without_gain", ck.evals_without_gain},
                      {"curve", curve_to_json(ck.curve)},
                      {"fingerprint", fingerprint}};
  {
    AtomicFile f(out.temp_path() / "state.json");
    f.stream() << j.dump(1) << "\n";
    f.commit();
  }
  out.commit();
}

std::optional<Checkpoint> load_checkpoint(const std::filesystem::path& dir,
                                          std::map<std::string, at::Tensor>& params, AdamW& opt,
                                          TensorMap& best, const std::string& fingerprint) {
  if (dir.empty() || !std::filesystem::exists(dir / "state.json")) return std::nullopt;
  std::ifstream in(dir / "state.json");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    RR_THROW(Input, "{}: corrupt checkpoint state: {}", (dir / "state.json").string(), e.what());
  }
  if (j.value("fingerprint", "") != fingerprint) {
    spdlog::warn("{}: checkpoint was made with other settings; starting afresh", dir.string());
    return std::nullopt;
  }
  Checkpoint ck;
  try {
    ck.step = j.at("step").get<int64_t>();
    ck.evals_without_gain = j.at("evals_without_gain").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    RR_THROW(Input, "{}: corrupt checkpoint state: {}", (dir / "state.json").string(), e.what());
  }
  ck.curve = curve_from_json(j["curve"], (dir / "state.json").string());
  copy_into(params, read_safetensors(dir / "params.safetensors"), (dir / "params.safetensors").string());
  std::map<std::string, at::Tensor> state;
  for (auto& [n, t] : read_safetensors(dir / "optimizer.safetensors")) state[n] = t;
  opt.load_state(state);
  best = read_safetensors(dir / "best.safetensors");
  return ck;
}

}  // namespace rr
