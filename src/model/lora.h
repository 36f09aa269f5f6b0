// LoRA adapters in Hugging Face PEFT's format (adapter_config.json + adapter_model.safetensors/.bin).
// For an adapted Linear y = x W^T + b, LoRA adds scaling * dropout(x) A^T B^T with A [r x in], B [out x r],
// scaling = lora_alpha / r (PEFT 0.5, fan_in_fan_out false, bias "none").
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "model/linear_delta.h"

namespace rr {

class BertEncoder;

struct LoraConfig {
  int64_t r = 8;         // rank (paper: 8)
  double alpha = 32;     // lora_alpha (paper: 32)
  double dropout = 0.1;  // lora_dropout on the adapter's input, training only
  std::vector<std::string> targets = {"query", "value"};  // module names matched as PEFT does (suffix)
  std::string base_model;                                 // base_model_name_or_path, informational
  double scaling() const { return alpha / static_cast<double>(r); }
};

// True when a Linear at `module_path` (e.g. "encoder.layer.0.attention.self.query") is a target.
bool lora_targets(const LoraConfig& config, const std::string& module_path);

class LoraAdapter final : public LinearDelta {
 public:
  LoraConfig config;
  // module path -> (A [r x in], B [out x r])
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> modules;

  // A fresh adapter on every target Linear of `base`: A Kaiming-uniform (a = sqrt(5), as PEFT), B zero.
  static LoraAdapter create(const BertEncoder& base, const LoraConfig& config, uint64_t seed);
  // Reads a PEFT directory (safetensors preferred, else adapter_model.bin), checking names and shapes against
  // `base`. Throws Input naming the file and listing every unknown, missing or misshapen tensor.
  static LoraAdapter load(const std::filesystem::path& dir, const BertEncoder& base);
  // Writes adapter_config.json and adapter_model.safetensors (atomic).
  void save(const std::filesystem::path& dir) const;

  bool adapts(const std::string& module) const override { return modules.count(module) > 0; }
  // scaling * B A dropout(x) for a target module (dropout when training), undefined for the others.
  at::Tensor contribution(const std::string& module, const at::Tensor& x,
                          const ForwardMode& mode) const override;
  // The base with W + scaling * B A in each target Linear: the adapter's inference model for whole batches.
  BertEncoder merged_into(const BertEncoder& base) const;

  void to(const at::Device& device);
};

}  // namespace rr
