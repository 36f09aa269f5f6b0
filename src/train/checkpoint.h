// Resumable training state: parameters, optimizer state, the best parameters so far and the curve, in one
// directory replaced atomically. A checkpoint records the fingerprint of its inputs and is resumed only
// when they are the same.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "model/safetensors.h"
#include "model/adamw.h"
#include "train/train_curve.h"

namespace rr {

struct Checkpoint {
  int64_t step = 0;
  TrainCurve curve;
  int64_t evals_without_gain = 0;
};

// Detached CPU copies of the parameters.
TensorMap snapshot(const std::map<std::string, at::Tensor>& params);
// Copies src into the parameters (every name must be in src; `what` names the source in errors).
void copy_into(std::map<std::string, at::Tensor>& dst, const TensorMap& src, const std::string& what);

void save_checkpoint(const std::filesystem::path& dir, const Checkpoint& ck,
                     const std::map<std::string, at::Tensor>& params, const AdamW& opt, const TensorMap& best,
                     const std::string& fingerprint);
// Loads into params/opt/best and returns the state, or nothing when there is no checkpoint or it was made
// from other inputs (with a warning). A corrupt state file is an Input error naming it.
std::optional<Checkpoint> load_checkpoint(const std::filesystem::path& dir,
                                          std::map<std::string, at::Tensor>& params, AdamW& opt,
                                          TensorMap& best, const std::string& fingerprint);

}  // namespace rr
