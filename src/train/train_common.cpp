#include "train/train_common.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <numeric>

#include "common/atomic_output.h"
#include "common/error.h"

namespace rr {

Autocast::Autocast(bool on, const at::Device& device) : on_(on), cuda_(device.is_cuda()) {
  if (!on_) return;
  if (cuda_) {
    at::autocast::set_enabled(true);
  } else {
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
}
Autocast::~Autocast() {
  if (!on_) return;
  if (cuda_)
    at::autocast::set_enabled(false);
  else
    at::autocast::set_cpu_enabled(false);
  at::autocast::clear_cache();
}

std::pair<at::Tensor, at::Tensor> pad_batch(const std::vector<const std::vector<int32_t>*>& rows, int32_t pad,
                                            const at::Device& device) {
  int64_t T = 0;
  for (auto* r : rows) T = std::max<int64_t>(T, static_cast<int64_t>(r->size()));
  const int64_t B = static_cast<int64_t>(rows.size());
  at::Tensor ids = at::full({B, T}, pad, at::kLong), mask = at::zeros({B, T}, at::kLong);
  auto* ip = ids.data_ptr<int64_t>();
  auto* mp = mask.data_ptr<int64_t>();
  for (int64_t i = 0; i < B; ++i)
    for (size_t j = 0; j < rows[i]->size(); ++j)
      ip[i * T + static_cast<int64_t>(j)] = (*rows[i])[j], mp[i * T + static_cast<int64_t>(j)] = 1;
  return {ids.to(device), mask.to(device)};
}

// The trainable tensors by name (adapter: PEFT key names; full: HF names).
at::Tensor embed_in_length_chunks(const BertEncoder& model,
                                  const std::vector<const std::vector<int32_t>*>& rows,
                                  const AdapterBatch* lora, int32_t pad, int64_t token_budget) {
  std::vector<int64_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return rows[a]->size() > rows[b]->size(); });
  std::vector<at::Tensor> parts;
  size_t begin = 0;
  while (begin < order.size()) {
    const int64_t longest = static_cast<int64_t>(rows[order[begin]]->size());
    size_t end = begin + 1;
    while (end < order.size() && static_cast<int64_t>(end - begin + 1) * longest <= token_budget) ++end;
    std::vector<const std::vector<int32_t>*> chunk;
    for (size_t i = begin; i < end; ++i) chunk.push_back(rows[order[i]]);
    auto [ids, mask] = pad_batch(chunk, pad, model.device());
    parts.push_back(model.embed(ids, mask, lora, /*training=*/true));
    begin = end;
  }
  std::vector<int64_t> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<int64_t>(i);
  return at::cat(parts).index_select(0, at::tensor(inverse, at::kLong).to(model.device()));
}

double finish_step(AdamW& opt, const std::vector<at::Tensor>& params, double local_loss, double lr,
                   double grad_clip, const Collectives& group) {
  for (at::Tensor p : params) {  // a handle: the gradient set here is the parameter's own
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    at::Tensor g = p.grad();
    group.allreduce_sum(g);
  }
  at::Tensor loss = at::full({1}, local_loss, at::kDouble);
  group.allreduce_sum(loss);
  if (grad_clip > 0) clip_grad_norm(params, grad_clip);
  opt.step(lr);
  opt.zero_grad();
  return loss.item<double>();
}

std::map<std::string, at::Tensor> trainable_params(LoraAdapter* adapter, BertEncoder* full) {
  std::map<std::string, at::Tensor> out;
  if (adapter) {
    for (auto& [m, ab] : adapter->modules) {
      out["base_model.model." + m + ".lora_A.weight"] = ab.first;
      out["base_model.model." + m + ".lora_B.weight"] = ab.second;
    }
  } else {
    for (const auto& [n, t] : full->params()) out[n] = t;
  }
  return out;
}

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

nlohmann::json curve_json(const TrainCurve& c) {
  return {{"steps", c.steps},
          {"loss", c.loss},
          {"lr", c.lr},
          {"eval_steps", c.eval_steps},
          {"dev_ndcg10", c.dev_ndcg10},
          {"best_step", c.best_step},
          {"best_dev", c.best_dev}};
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
                      {"curve", curve_json(ck.curve)},
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
  ck.step = j["step"].get<int64_t>();
  ck.evals_without_gain = j["evals_without_gain"].get<int64_t>();
  const auto& c = j["curve"];
  ck.curve.steps = c["steps"].get<std::vector<int64_t>>();
  ck.curve.loss = c["loss"].get<std::vector<double>>();
  ck.curve.lr = c["lr"].get<std::vector<double>>();
  ck.curve.eval_steps = c["eval_steps"].get<std::vector<int64_t>>();
  ck.curve.dev_ndcg10 = c["dev_ndcg10"].get<std::vector<double>>();
  ck.curve.best_step = c["best_step"].get<int64_t>();
  ck.curve.best_dev = c["best_dev"].get<double>();
  copy_into(params, read_safetensors(dir / "params.safetensors"), (dir / "params.safetensors").string());
  std::map<std::string, at::Tensor> state;
  for (auto& [n, t] : read_safetensors(dir / "optimizer.safetensors")) state[n] = t;
  opt.load_state(state);
  best = read_safetensors(dir / "best.safetensors");
  return ck;
}

}  // namespace rr
