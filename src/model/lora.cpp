#include "model/lora.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <regex>

#include "common/atomic_output.h"
#include "common/error.h"
#include "model/bert_encoder.h"
#include "model/invariant_ops.h"
#include "model/pytorch_bin.h"

namespace rr {

namespace {

const std::string kPrefix = "base_model.model.";

LoraConfig read_config(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) RR_THROW(Input, "{}: cannot open adapter config", path.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    RR_THROW(Input, "{}: invalid JSON: {}", path.string(), e.what());
  }
  auto bad = [&](const std::string& key, const std::string& why) {
    RR_THROW(Input, "{}: key '{}': {}", path.string(), key, why);
  };
  if (!j.contains("peft_type") || j["peft_type"] != "LORA") bad("peft_type", "must be \"LORA\"");
  LoraConfig c;
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0)
    bad("r", "must be a positive integer");
  c.r = j["r"].get<int64_t>();
  if (j.contains("lora_alpha")) {
    if (!j["lora_alpha"].is_number()) bad("lora_alpha", "must be a number");
    c.alpha = j["lora_alpha"].get<double>();
  }
  if (j.contains("lora_dropout") && !j["lora_dropout"].is_null()) {
    if (!j["lora_dropout"].is_number()) bad("lora_dropout", "must be a number");
    c.dropout = j["lora_dropout"].get<double>();
  }
  if (j.contains("target_modules")) {
    const auto& t = j["target_modules"];
    c.targets.clear();
    if (t.is_string())
      c.targets.push_back("re:" + t.get<std::string>());  // PEFT: a regex matched in full
    else if (t.is_array())
      for (const auto& x : t) {
        if (!x.is_string()) bad("target_modules", "must hold strings");
        c.targets.push_back(x.get<std::string>());
      }
    else
      bad("target_modules", "must be a list of names or a regex");
  }
  if (j.contains("bias") && j["bias"] != "none") bad("bias", "only \"none\" is supported");
  if (j.contains("fan_in_fan_out") && j["fan_in_fan_out"] == true)
    bad("fan_in_fan_out", "only false is supported (BERT)");
  if (j.contains("use_rslora") && j["use_rslora"] == true)
    bad("use_rslora", "rank-stabilised LoRA is not supported");
  for (const char* key : {"modules_to_save", "layers_to_transform"})
    if (j.contains(key) && !j[key].is_null()) bad(key, "is not supported (must be null)");
  if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
    c.base_model = j["base_model_name_or_path"].get<std::string>();
  return c;
}

}  // namespace

bool lora_targets(const LoraConfig& config, const std::string& module_path) {
  for (const auto& t : config.targets) {
    if (t.rfind("re:", 0) == 0) {
      if (std::regex_match(module_path, std::regex(t.substr(3)))) return true;
    } else if (module_path == t ||
               (module_path.size() > t.size() &&
                module_path.compare(module_path.size() - t.size() - 1, t.size() + 1, "." + t) == 0)) {
      return true;
    }
  }
  return false;
}

LoraAdapter LoraAdapter::create(const BertEncoder& base, const LoraConfig& config, uint64_t seed) {
  RR_CHECK(config.r > 0, Usage, "LoRA rank r must be positive, got {}", config.r);
  LoraAdapter a;
  a.config = config;
  auto gen = at::detail::createCPUGenerator(seed);
  for (const auto& module : base.linear_modules()) {
    if (!lora_targets(config, module)) continue;
    auto [out, in] = base.linear_shape(module);
    // kaiming_uniform_(a=sqrt(5)): bound = sqrt(6 / ((1 + 5) * fan_in)) = 1 / sqrt(fan_in).
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    at::Tensor A = at::empty({config.r, in}).uniform_(-bound, bound, gen).to(base.device());
    at::Tensor B = at::zeros({out, config.r}, at::TensorOptions().device(base.device()));
    a.modules.emplace(module, std::make_pair(A, B));
  }
  RR_CHECK(!a.modules.empty(), Usage, "LoRA target_modules [{}] match no Linear of the model",
           fmt::join(config.targets, ", "));
  return a;
}

LoraAdapter LoraAdapter::load(const std::filesystem::path& dir, const BertEncoder& base) {
  if (!std::filesystem::is_directory(dir)) RR_THROW(Input, "{}: no such adapter directory", dir.string());
  LoraAdapter a;
  a.config = read_config(dir / "adapter_config.json");
  std::filesystem::path weights = dir / "adapter_model.safetensors";
  TensorMap raw;
  if (std::filesystem::exists(weights)) {
    raw = read_safetensors(weights);
  } else {
    weights = dir / "adapter_model.bin";
    if (!std::filesystem::exists(weights))
      RR_THROW(Input, "{}: no adapter_model.safetensors or adapter_model.bin", dir.string());
    raw = read_pytorch_bin(weights);
  }
  std::vector<std::string> problems;
  std::map<std::string, at::Tensor> As, Bs;
  for (const auto& [key, t] : raw) {
    bool is_a = key.size() > 14 && key.compare(key.size() - 14, 14, ".lora_A.weight") == 0;
    bool is_b = key.size() > 14 && key.compare(key.size() - 14, 14, ".lora_B.weight") == 0;
    if (key.rfind(kPrefix, 0) != 0 || !(is_a || is_b)) {
      problems.push_back("unexpected tensor " + key);
      continue;
    }
    std::string module = key.substr(kPrefix.size(), key.size() - kPrefix.size() - 14);
    (is_a ? As : Bs)[module] = t.to(at::kFloat);
  }
  auto modules = base.linear_modules();
  for (const auto& module : modules) {
    bool target = lora_targets(a.config, module);
    bool has_a = As.count(module), has_b = Bs.count(module);
    if (!target && !has_a && !has_b) continue;
    if (!has_a || !has_b) {
      problems.push_back("missing " + kPrefix + module + (has_a ? ".lora_B.weight" : ".lora_A.weight"));
      continue;
    }
    auto [out, in] = base.linear_shape(module);
    const at::Tensor& A = As[module];
    const at::Tensor& B = Bs[module];
    if (A.sizes().vec() != std::vector<int64_t>{a.config.r, in})
      problems.push_back(fmt::format("{}{}.lora_A.weight has shape [{}], needs [{}, {}]", kPrefix, module,
                                     fmt::join(A.sizes(), ", "), a.config.r, in));
    else if (B.sizes().vec() != std::vector<int64_t>{out, a.config.r})
      problems.push_back(fmt::format("{}{}.lora_B.weight has shape [{}], needs [{}, {}]", kPrefix, module,
                                     fmt::join(B.sizes(), ", "), out, a.config.r));
    else
      a.modules.emplace(module, std::make_pair(A.to(base.device()), B.to(base.device())));
    As.erase(module);
    Bs.erase(module);
  }
  for (const auto& [m, t] : As)
    problems.push_back("no Linear '" + m + "' in the base model for " + kPrefix + m + ".lora_A.weight");
  if (!problems.empty())
    RR_THROW(Input, "{}: {} adapter problem(s): {}", weights.string(), problems.size(),
             fmt::join(problems, "; "));
  if (a.modules.empty()) RR_THROW(Input, "{}: the adapter adapts no module", weights.string());
  return a;
}

void LoraAdapter::save(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  nlohmann::ordered_json j;
  j["base_model_name_or_path"] = config.base_model;
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  j["init_lora_weights"] = true;
  j["layers_pattern"] = nullptr;
  j["layers_to_transform"] = nullptr;
  j["lora_alpha"] = config.alpha;
  j["lora_dropout"] = config.dropout;
  j["modules_to_save"] = nullptr;
  j["peft_type"] = "LORA";
  j["r"] = config.r;
  j["revision"] = nullptr;
  bool regex = config.targets.size() == 1 && config.targets[0].rfind("re:", 0) == 0;
  if (regex)
    j["target_modules"] = config.targets[0].substr(3);
  else
    j["target_modules"] = config.targets;
  j["task_type"] = nullptr;
  {
    AtomicFile f(dir / "adapter_config.json");
    f.stream() << j.dump(2) << "\n";
    f.commit();
  }
  TensorMap tensors;
  for (const auto& [module, ab] : modules) {
    tensors.emplace(kPrefix + module + ".lora_A.weight", ab.first);
    tensors.emplace(kPrefix + module + ".lora_B.weight", ab.second);
  }
  write_safetensors(dir / "adapter_model.safetensors", tensors);
}

at::Tensor LoraAdapter::contribution(const std::string& module, const at::Tensor& x,
                                     const ForwardMode& mode) const {
  auto it = modules.find(module);
  if (it == modules.end()) return {};
  const auto& [A, B] = it->second;
  return invariant_linear(invariant_linear(dropout(x, config.dropout, mode), A, {}), B, {})
      .mul(config.scaling());
}

BertEncoder LoraAdapter::merged_into(const BertEncoder& base) const {
  TensorMap merged;
  const double s = config.scaling();
  for (const auto& [module, ab] : modules) {
    const std::string name = module + ".weight";
    merged[name] = base.params().at(name) + invariant_matmul(ab.second, ab.first).mul(s);
  }
  return base.with_params(merged);
}

void LoraAdapter::to(const at::Device& device) {
  for (auto& [m, ab] : modules) {
    ab.first = ab.first.to(device);
    ab.second = ab.second.to(device);
  }
}

}  // namespace rr
