#include "model/adamw.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"
#include "model/invariant_ops.h"

namespace rr {

AdamW::AdamW(std::map<std::string, at::Tensor> params, AdamWParams p) : params_(std::move(params)), p_(p) {
  for (const auto& [name, t] : params_) {
    m_[name] = at::zeros_like(t);
    v_[name] = at::zeros_like(t);
  }
}

void AdamW::zero_grad() {
  for (auto& [name, t] : params_)
    if (t.grad().defined()) t.mutable_grad() = at::Tensor();
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  ++steps_;
  const double bc1 = 1.0 - std::pow(p_.beta1, static_cast<double>(steps_));
  const double bc2 = 1.0 - std::pow(p_.beta2, static_cast<double>(steps_));
  for (auto& [name, t] : params_) {
    const at::Tensor& g = t.grad();
    if (!g.defined()) continue;
    t.mul_(1.0 - lr * p_.weight_decay);
    at::Tensor& m = m_[name];
    at::Tensor& v = v_[name];
    m.mul_(p_.beta1).add_(g, 1.0 - p_.beta1);
    v.mul_(p_.beta2).addcmul_(g, g, 1.0 - p_.beta2);
    at::Tensor denom = (v.sqrt() / std::sqrt(bc2)).add_(p_.eps);
    t.addcdiv_(m, denom, -lr / bc1);
  }
}

std::map<std::string, at::Tensor> AdamW::state() const {
  std::map<std::string, at::Tensor> s;
  for (const auto& [name, t] : m_) s["exp_avg." + name] = t;
  for (const auto& [name, t] : v_) s["exp_avg_sq." + name] = t;
  s["step"] = at::full({1}, static_cast<double>(steps_), at::kDouble);
  return s;
}

void AdamW::load_state(const std::map<std::string, at::Tensor>& state) {
  at::NoGradGuard no_grad;
  for (auto& [name, t] : m_) {
    auto it = state.find("exp_avg." + name);
    RR_CHECK(it != state.end(), Input, "optimizer state lacks exp_avg.{}", name);
    t.copy_(it->second);
  }
  for (auto& [name, t] : v_) {
    auto it = state.find("exp_avg_sq." + name);
    RR_CHECK(it != state.end(), Input, "optimizer state lacks exp_avg_sq.{}", name);
    t.copy_(it->second);
  }
  auto it = state.find("step");
  RR_CHECK(it != state.end(), Input, "optimizer state lacks step");
  steps_ = static_cast<int64_t>(it->second.to(at::kDouble).item<double>());
}

double linear_schedule(double peak, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup)
    return peak * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  return peak * std::max(0.0, static_cast<double>(total - step) /
                                  static_cast<double>(std::max<int64_t>(1, total - warmup)));
}

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  at::NoGradGuard no_grad;
  // Each tensor's sum of squares stays on its device; one transfer brings them all to the host, where they
  // are added in parameter order (a device-side sum would change the order, and so the last bits).
  std::vector<at::Tensor> squares;
  for (const auto& p : params)
    if (p.grad().defined()) squares.push_back(invariant_sum(p.grad().to(at::kDouble).pow(2)));
  double total = 0;
  if (!squares.empty()) {
    const at::Tensor host = at::stack(squares).cpu().contiguous();
    for (int64_t i = 0; i < host.numel(); ++i) total += host.data_ptr<double>()[i];
  }
  total = std::sqrt(total);
  if (max_norm > 0 && total > max_norm) {
    const double scale = max_norm / (total + 1e-6);
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(scale);
  }
  return total;
}

}  // namespace rr
