// AdamW (decoupled weight decay) exactly as torch.optim.AdamW computes it, with its state exposed so that
// checkpoints resume bit-for-bit; and Hugging Face's linear warm-up/decay schedule. The optimiser of every
// model rr trains: encoders and adapters (train/), the classifier routers (router/).
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace rr {

struct AdamWParams {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
};

class AdamW {
 public:
  // params: name -> tensor (requires_grad); updated in place from .grad().
  AdamW(std::map<std::string, at::Tensor> params, AdamWParams p);
  void step(double lr);
  void zero_grad();
  int64_t steps() const { return steps_; }
  // "exp_avg.<name>", "exp_avg_sq.<name>" plus "step" (a 1-element tensor).
  std::map<std::string, at::Tensor> state() const;
  void load_state(const std::map<std::string, at::Tensor>& state);
  const std::map<std::string, at::Tensor>& params() const { return params_; }

 private:
  std::map<std::string, at::Tensor> params_, m_, v_;
  AdamWParams p_;
  int64_t steps_ = 0;
};

// HF get_linear_schedule_with_warmup: lr * step / warmup during warm-up, then linear decay to 0 at `total`.
// Step 0 runs at lr 0 when warmup > 0, as in the Hugging Face Trainer the paper's code trains with (LambdaLR
// evaluates the lambda at 0 on construction): that step only fills AdamW's moments. Kept for parity; tested
// against torch.optim.AdamW + LambdaLR + clip_grad_norm_ (tests/unit/training_reference_test.cpp).
double linear_schedule(double peak, int64_t step, int64_t warmup, int64_t total);

// Scales gradients so their global L2 norm is at most max_norm (torch.nn.utils.clip_grad_norm_); returns the
// norm.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace rr
