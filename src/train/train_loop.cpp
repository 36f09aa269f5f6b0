#include "train/train_loop.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>

#include "common/log.h"

#include <chrono>
#include <cmath>

#include "common/error.h"
#include "common/fault_injection.h"
#include "common/stop_request.h"
#include "train/checkpoint.h"

namespace rr {

namespace {

// The end of a data-parallel step: sums the gradients (and the loss) over the group, clips, takes the AdamW
// step at `lr` and clears the gradients. Returns the loss summed over the group. The gradients travel as one
// flat buffer: one all-reduce per step, not one per parameter tensor.
double finish_step(AdamW& opt, const std::vector<at::Tensor>& params, double local_loss, double lr,
                   double grad_clip, const Collectives& group) {
  std::vector<at::Tensor> flat;
  for (at::Tensor p : params) {  // a handle: the gradient set here is the parameter's own
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    flat.push_back(p.grad().reshape(-1));
  }
  if (group.size() > 1 && !flat.empty()) {
    at::Tensor all = at::cat(flat);
    group.allreduce_sum(all);
    int64_t offset = 0;
    for (at::Tensor p : params) {
      const int64_t n = p.numel();
      p.grad().copy_(all.slice(0, offset, offset + n).view_as(p));
      offset += n;
    }
  }
  at::Tensor loss = at::full({1}, local_loss, at::kDouble);
  group.allreduce_sum(loss);
  if (grad_clip > 0) clip_grad_norm(params, grad_clip);
  opt.step(lr);
  opt.zero_grad();
  return loss.item<double>();
}

// Progress lines: the group's first rank at info, the others at debug.
template <typename... Args>
void log_progress(const Collectives& group, fmt::format_string<Args...> format, Args&&... args) {
  spdlog::log(leader_level(group.rank() == 0), format, std::forward<Args>(args)...);
}

class Loop {
 public:
  Loop(const LoopSpec& spec, std::map<std::string, at::Tensor>& params, AdamW& opt, const Collectives& group,
       const EvalFn& evaluate)
      : s_(spec), params_(params), opt_(opt), group_(group), evaluate_(evaluate), best_(snapshot(params)) {
    for (auto& [n, t] : params_) list_.push_back(t);
  }

  // Resumes from a checkpoint, or scores the untrained start. Returns the first step to run.
  int64_t start() {
    if (auto ck = load_checkpoint(s_.checkpoint_dir, params_, opt_, best_, s_.fingerprint)) {
      curve_ = ck->curve;
      curve_.resumed = true;
      evals_without_gain_ = ck->evals_without_gain;
      log_progress(group_, "{}: resuming from step {} ({})", s_.label, ck->step, s_.checkpoint_dir.string());
      return ck->step;
    }
    if (evaluate_ && s_.eval_every > 0) {
      const double score = dev_score();
      if (score >= 0) {
        curve_.eval_steps.push_back(0);
        curve_.dev_ndcg10.push_back(score);
        curve_.best_dev = score;
        curve_.best_step = 0;
        log_progress(group_, "{}: dev nDCG@10 at step 0 (the untrained start) {:.4f}", s_.label, score);
      }
    }
    return 0;
  }

  // Records a finished step; returns false when training should stop (patience, time limit).
  bool finish(int64_t step, double local_loss, int64_t first) {
    const double lr = linear_schedule(s_.lr, step, warmup(), s_.steps);
    const double loss = finish_step(opt_, list_, local_loss, lr, s_.grad_clip, group_);
    const int64_t done = step + 1;
    RR_CHECK(
        std::isfinite(loss), Runtime,
        "{}: the loss is {} at step {} (learning rate {:.2e}): training diverged; lower the learning rate, "
        "set a grad_clip, or turn bf16 off; no model was written",
        s_.label, loss, done, lr);
    fault_point("train-step");
    curve_.steps.push_back(done);
    curve_.loss.push_back(loss);
    curve_.lr.push_back(lr);
    log_step(done, first, lr);
    bool stop = false;
    if (evaluate_ && s_.eval_every > 0 && (done % s_.eval_every == 0 || done == s_.steps))
      stop = evaluate(done);
    // One broadcast decides both for the whole group: rank 0's clock and rank 0's stop request (SIGUSR1).
    const double signals = group_.broadcast((s_.max_minutes > 0 && elapsed() > s_.max_minutes * 60 ? 1 : 0) +
                                            (stop_requested() ? 2 : 0));
    const bool out_of_time = static_cast<int>(signals) & 1,
               stop_requested_now = static_cast<int>(signals) & 2;
    stop = stop || out_of_time || stop_requested_now;
    if (!s_.checkpoint_dir.empty() && group_.rank() == 0 &&
        ((s_.checkpoint_every > 0 && done % s_.checkpoint_every == 0) || done == s_.steps || stop))
      save_checkpoint(s_.checkpoint_dir, Checkpoint{done, curve_, evals_without_gain_}, params_, opt_,
                      evaluate_ ? best_ : snapshot(params_), s_.fingerprint);
    if (out_of_time)
      spdlog::warn("{}: stopping at step {} of {}: max_minutes {} reached", s_.label, done, s_.steps,
                   s_.max_minutes);
    RR_CHECK(!stop_requested_now, Stopped,
             "{}: stopped on request (SIGUSR1) at step {} of {}{}; run the same command again to resume",
             s_.label, done, s_.steps,
             s_.checkpoint_dir.empty() ? " (no checkpoints: it restarts)" : ", checkpoint written");
    return !stop;
  }

  TrainCurve end(int64_t first) {
    curve_.steps_done = curve_.steps.empty() ? first : curve_.steps.back();
    check_learned();
    if (curve_.best_dev >= 0) copy_into(params_, best_, "best checkpoint");
    return curve_;
  }

 private:
  // A model whose loss stayed at or above chance learned nothing: every expert, router and table downstream
  // would be computed on it. (Checked over the last tenth of the steps, at least 10, when there are that
  // many.)
  void check_learned() const {
    const auto n = static_cast<int64_t>(curve_.loss.size());
    const int64_t window = std::max<int64_t>(10, n / 10);
    if (s_.chance_loss <= 0 || n < window) return;
    double mean = 0;
    for (int64_t i = n - window; i < n; ++i)
      mean += curve_.loss[static_cast<size_t>(i)] / static_cast<double>(window);
    RR_CHECK(
        mean < s_.chance_loss, Runtime,
        "{}: the mean loss of the last {} steps is {:.3f}, not below chance ({:.3f}, a model that learned "
        "nothing): training failed and no model was written. Try cosine similarity (normalize: true), a "
        "lower learning rate or more steps",
        s_.label, window, mean, s_.chance_loss);
  }

  int64_t warmup() const { return static_cast<int64_t>(s_.warmup_ratio * static_cast<double>(s_.steps)); }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

  double dev_score() {
    double score = -1;
    if (group_.rank() == 0) {
      c10::InferenceMode guard;
      score = evaluate_();
    }
    return group_.broadcast(score);
  }

  void log_step(int64_t done, int64_t first, double lr) {
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_log_).count() <= 10 && done != s_.steps) return;
    last_log_ = now;
    const double rate = static_cast<double>(done - first) / std::max(elapsed(), 1e-9);
    log_progress(group_, "{}: step {}/{}, loss {:.4f}, lr {:.2e}, {:.2f} steps/s, ETA {:.0f} s", s_.label,
                 done, s_.steps, curve_.loss.back(), lr, rate,
                 static_cast<double>(s_.steps - done) / std::max(rate, 1e-9));
  }

  // A dev evaluation after step `done`; returns true when patience is exhausted.
  bool evaluate(int64_t done) {
    const double score = dev_score();
    if (score < 0) return false;
    curve_.eval_steps.push_back(done);
    curve_.dev_ndcg10.push_back(score);
    if (score > curve_.best_dev + s_.min_dev_gain) {
      curve_.best_dev = score;
      curve_.best_step = done;
      best_ = snapshot(params_);
      evals_without_gain_ = 0;
    } else {
      ++evals_without_gain_;
    }
    log_progress(group_, "{}: dev nDCG@10 {:.4f} at step {} (best {:.4f} at step {})", s_.label, score, done,
                 curve_.best_dev, curve_.best_step);
    if (s_.patience > 0 && evals_without_gain_ >= s_.patience) {
      log_progress(group_, "{}: early stop: {} evaluations without improvement", s_.label,
                   evals_without_gain_);
      return true;
    }
    return false;
  }

  using Clock = std::chrono::steady_clock;
  const LoopSpec& s_;
  std::map<std::string, at::Tensor>& params_;
  AdamW& opt_;
  const Collectives& group_;
  const EvalFn& evaluate_;
  std::vector<at::Tensor> list_;
  TensorMap best_;
  TrainCurve curve_;
  int64_t evals_without_gain_ = 0;
  Clock::time_point t0_ = Clock::now(), last_log_ = t0_;
};

}  // namespace

TrainCurve run_loop(const LoopSpec& spec, std::map<std::string, at::Tensor>& params, AdamW& opt,
                    const Collectives& group, const StepFn& step, const EvalFn& evaluate) {
  for (auto& [n, t] : params) t.set_requires_grad(true);
  Loop loop(spec, params, opt, group, evaluate);
  const int64_t first = loop.start();
  for (int64_t s = first; s < spec.steps; ++s) {
    opt.zero_grad();
    if (!loop.finish(s, step(s), first)) break;
  }
  TrainCurve curve = loop.end(first);
  for (auto& [n, t] : params) t.set_requires_grad(false);
  return curve;
}

}  // namespace rr
