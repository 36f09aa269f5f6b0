// The training loop every trainer shares (base, experts, multi-task): resume from a checkpoint, the learning
// rate schedule (linear warm-up, linear decay), the data-parallel end of each step (gradients summed over the
// group, clipping, AdamW), logging with rate and ETA, dev evaluation that keeps the best parameters, early
// stopping, a time limit, and checkpoints. The trainer supplies what one step computes.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "model/adamw.h"
#include "train/collectives.h"
#include "train/train_curve.h"

namespace rr {

struct LoopSpec {
  std::string label;  // for logs ("base", "expert-cisi", "multitask")
  int64_t steps = 0;
  double lr = 1e-4;         // peak learning rate
  double warmup_ratio = 0;  // share of steps of linear warm-up
  double grad_clip = 0;     // max global gradient norm (0: off)
  int64_t eval_every = 0;   // steps between dev evaluations (0: none)
  int64_t patience = 0;     // stop after this many evaluations without improvement (0: never)
  double min_dev_gain = 0;  // a dev score becomes the best only if it beats the best by more than this
  double max_minutes = 0;   // stop after this long (0: no limit)
  int64_t checkpoint_every = 0;
  std::filesystem::path checkpoint_dir;  // empty: no checkpoints
  std::string fingerprint;  // identity of the inputs: a checkpoint made from others is not resumed
  double chance_loss = 0;   // the loss of a model that learned nothing (InfoNCE: ln of the candidates per
                            // query); > 0: training whose mean loss over its last tenth (at least 10 steps)
                            // is not below it fails instead of returning (0: no such check)
};

// The schedule and checkpoint settings every training config has (steps, lr, warm-up, clipping, checkpoints).
template <typename Config>
LoopSpec loop_spec(const std::string& label, const Config& cfg, const std::filesystem::path& checkpoint_dir) {
  LoopSpec s;
  s.label = label;
  s.steps = cfg.steps;
  s.lr = cfg.lr;
  s.warmup_ratio = cfg.warmup_ratio;
  s.grad_clip = cfg.grad_clip;
  s.checkpoint_every = cfg.checkpoint_every;
  s.checkpoint_dir = checkpoint_dir;
  return s;
}

// Forward and backward of this rank's share of `step`; returns its share of the loss (the group's shares sum
// to the step's loss). Gradients accumulate on the parameters.
using StepFn = std::function<double(int64_t step)>;
// The dev score of the current parameters (computed on group rank 0; others may return anything), or -1
// when there is no dev data. Empty: no dev evaluation.
using EvalFn = std::function<double()>;

// Trains `params` (handles; requires_grad is set for the loop and cleared after). With dev evaluation the
// parameters end as the best evaluated ones (step 0 = the untrained start); without, as the last step's.
// Training that fails — a loss that is not finite, or (chance_loss) one that never got below chance — throws
// Runtime saying what was seen and what to change, so that no model is written from it.
TrainCurve run_loop(const LoopSpec& spec, std::map<std::string, at::Tensor>& params, AdamW& opt,
                    const Collectives& group, const StepFn& step, const EvalFn& evaluate = {});

}  // namespace rr
