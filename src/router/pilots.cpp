#include "router/pilots.h"

#include <ATen/ATen.h>

#include <limits>
#include <map>
#include <random>

#include "common/error.h"

namespace rr {

std::vector<int32_t> best_experts(const at::Tensor& scores, TieRule rule) {
  at::Tensor s = scores.to(at::kDouble).contiguous();
  const int64_t Q = s.size(0), T = s.size(1);
  auto a = s.accessor<double, 2>();
  std::vector<int32_t> out(static_cast<size_t>(Q), -1);
  for (int64_t q = 0; q < Q; ++q) {
    int32_t best = 0;
    int ties = 1;
    for (int64_t t = 1; t < T; ++t) {
      if (a[q][t] > a[q][best])
        best = static_cast<int32_t>(t), ties = 1;
      else if (a[q][t] == a[q][best])
        ++ties;
    }
    out[q] = (rule == TieRule::Skip && ties > 1) ? -1 : best;
  }
  return out;
}

namespace {

// k-means++ seeding and Lloyd iterations on rows of x (n x H); returns k x H centroids and sizes.
std::pair<at::Tensor, std::vector<int64_t>> kmeans(const at::Tensor& x, int64_t k, uint64_t seed) {
  const int64_t n = x.size(0);
  k = std::min(k, n);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> centers = {
      static_cast<int64_t>(std::uniform_int_distribution<int64_t>(0, n - 1)(rng))};
  at::Tensor d2 = (x - x[centers[0]]).pow(2).sum(1);
  while (static_cast<int64_t>(centers.size()) < k) {
    std::vector<double> w(d2.data_ptr<float>(), d2.data_ptr<float>() + n);
    double total = 0;
    for (double v : w) total += v;
    int64_t pick = total > 0
                       ? static_cast<int64_t>(std::discrete_distribution<int64_t>(w.begin(), w.end())(rng))
                       : static_cast<int64_t>(centers.size());
    centers.push_back(pick);
    d2 = at::minimum(d2, (x - x[pick]).pow(2).sum(1));
  }
  at::Tensor c = x.index_select(0, at::tensor(centers, at::kLong)).clone();
  at::Tensor assign;
  for (int iter = 0; iter < 50; ++iter) {
    at::Tensor dist = at::cdist(x, c);
    at::Tensor next = dist.argmin(1);
    if (assign.defined() && at::equal(next, assign)) break;
    assign = next;
    for (int64_t j = 0; j < k; ++j) {
      at::Tensor members = (assign == j).nonzero().squeeze(1);
      if (members.numel() > 0) c[j] = x.index_select(0, members).mean(0);
    }
  }
  std::vector<int64_t> sizes(static_cast<size_t>(k), 0);
  auto ap = assign.contiguous();
  for (int64_t i = 0; i < n; ++i) ++sizes[ap.data_ptr<int64_t>()[i]];
  return {c, sizes};
}

}  // namespace

PilotLibrary build_pilots(const std::vector<at::Tensor>& base,
                          const std::vector<std::vector<int32_t>>& labels, int64_t per_group, uint64_t seed) {
  RR_CHECK(base.size() == labels.size(), Runtime, "build_pilots: {} embedding sets, {} label sets",
           base.size(), labels.size());
  RR_CHECK(per_group >= 1, Usage, "routing.pilots_per_group must be >= 1, got {}", per_group);
  PilotLibrary lib;
  std::vector<at::Tensor> rows;
  for (size_t d = 0; d < base.size(); ++d) {
    std::map<int32_t, std::vector<int64_t>> groups;
    for (size_t q = 0; q < labels[d].size(); ++q)
      if (labels[d][q] >= 0) groups[labels[d][q]].push_back(static_cast<int64_t>(q));
    for (const auto& [expert, members] : groups) {
      at::Tensor x = base[d].index_select(0, at::tensor(members, at::kLong)).to(at::kFloat);
      if (per_group == 1) {
        rows.push_back(x.mean(0));
        lib.count.push_back(static_cast<int64_t>(members.size()));
        lib.expert.push_back(expert);
        lib.dataset.push_back(static_cast<int32_t>(d));
        continue;
      }
      auto [centroids, sizes] = kmeans(x, per_group, seed + d * 1000 + static_cast<uint64_t>(expert));
      for (int64_t j = 0; j < centroids.size(0); ++j) {
        if (sizes[j] == 0) continue;
        rows.push_back(centroids[j]);
        lib.count.push_back(sizes[j]);
        lib.expert.push_back(expert);
        lib.dataset.push_back(static_cast<int32_t>(d));
      }
    }
  }
  lib.emb = rows.empty() ? at::empty({0, base.empty() ? 0 : base[0].size(1)}) : at::stack(rows).contiguous();
  return lib;
}

at::Tensor expert_similarity(const at::Tensor& query_base, const PilotLibrary& lib, int num_experts,
                             bool use_max) {
  const int64_t Q = query_base.size(0);
  at::Tensor sim = at::full({Q, num_experts}, -std::numeric_limits<float>::infinity());
  if (lib.emb.size(0) == 0) return sim;
  at::Tensor all = at::matmul(query_base.to(at::kFloat), lib.emb.t());  // Q x P
  for (int e = 0; e < num_experts; ++e) {
    std::vector<int64_t> cols;
    for (size_t p = 0; p < lib.expert.size(); ++p)
      if (lib.expert[p] == e) cols.push_back(static_cast<int64_t>(p));
    if (cols.empty()) continue;
    at::Tensor s = all.index_select(1, at::tensor(cols, at::kLong));
    sim.select(1, e).copy_(use_max ? std::get<0>(s.max(1)) : s.mean(1));
  }
  return sim;
}

std::vector<int32_t> argmax_rows(const at::Tensor& scores) {
  at::Tensor s = scores.to(at::kFloat).contiguous();
  const int64_t Q = s.size(0), T = s.size(1);
  std::vector<int32_t> out(static_cast<size_t>(Q), -1);
  const float* p = s.data_ptr<float>();
  for (int64_t q = 0; q < Q; ++q) {
    int64_t best = -1;
    for (int64_t t = 0; t < T; ++t)
      if (p[q * T + t] > -std::numeric_limits<float>::infinity() &&
          (best < 0 || p[q * T + t] > p[q * T + best]))
        best = t;
    out[q] = static_cast<int32_t>(best);
  }
  return out;
}

Mixture top_k_mixture(const at::Tensor& similarity, int64_t k) {
  Mixture m;
  at::Tensor s = similarity.to(at::kFloat).contiguous();
  const int64_t Q = s.size(0), T = s.size(1);
  for (int64_t q = 0; q < Q; ++q) {
    std::vector<std::pair<float, int32_t>> v;
    for (int64_t t = 0; t < T; ++t)
      if (s[q][t].item<float>() > -std::numeric_limits<float>::infinity())
        v.push_back({s[q][t].item<float>(), static_cast<int32_t>(t)});
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first > b.first; });
    v.resize(std::min<size_t>(v.size(), static_cast<size_t>(k)));
    std::vector<int32_t> ex;
    std::vector<float> w;
    float mx = v.empty() ? 0.f : v[0].first, z = 0;
    for (auto& [sim, e] : v) z += std::exp(sim - mx);
    for (auto& [sim, e] : v) ex.push_back(e), w.push_back(std::exp(sim - mx) / z);
    m.experts.push_back(ex);
    m.weights.push_back(w);
  }
  return m;
}

std::vector<int32_t> nearest_instance(const at::Tensor& query_base, const at::Tensor& instances,
                                      const std::vector<int32_t>& instance_labels) {
  RR_CHECK(instances.size(0) == static_cast<int64_t>(instance_labels.size()) && instances.size(0) > 0,
           Runtime, "nearest_instance: {} instances, {} labels", instances.size(0), instance_labels.size());
  at::Tensor best =
      at::matmul(query_base.to(at::kFloat), instances.to(at::kFloat).t()).argmax(1).contiguous();
  std::vector<int32_t> out;
  for (int64_t q = 0; q < best.size(0); ++q) out.push_back(instance_labels[best.data_ptr<int64_t>()[q]]);
  return out;
}

at::Tensor train_and_score_classifier(const at::Tensor& train_x, const std::vector<int32_t>& labels,
                                      int classes, const at::Tensor& test_x, bool one_vs_rest,
                                      uint64_t seed) {
  std::vector<int64_t> keep, y;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0) keep.push_back(static_cast<int64_t>(i)), y.push_back(labels[i]);
  at::Tensor out = at::zeros({test_x.size(0), classes});
  if (keep.empty()) return out;
  at::Tensor x = train_x.to(at::kFloat).index_select(0, at::tensor(keep, at::kLong));
  at::Tensor mean = x.mean(0), std = x.std(0).clamp_min(1e-6);
  x = (x - mean) / std;
  at::Tensor target = at::tensor(y, at::kLong);
  at::manual_seed(seed);
  at::Tensor W = (at::randn({x.size(1), classes}) * 0.01).set_requires_grad(true);
  at::Tensor b = at::zeros({classes}).set_requires_grad(true);
  // Class-balanced weights: each class counts as much as every other, however rare.
  at::Tensor counts = at::bincount(target, {}, classes).to(at::kFloat).clamp_min(1);
  at::Tensor cw = counts.sum() / (counts * static_cast<double>(classes));
  at::Tensor m_w = at::zeros_like(W), v_w = at::zeros_like(W), m_b = at::zeros_like(b),
             v_b = at::zeros_like(b);
  const double lr = 1e-2, wd = 1e-3;
  for (int step = 1; step <= 300; ++step) {
    at::Tensor logits = at::matmul(x, W) + b;
    at::Tensor loss;
    if (one_vs_rest) {
      at::Tensor onehot = at::one_hot(target, classes).to(at::kFloat);
      at::Tensor pos_weight = (onehot.size(0) - onehot.sum(0)).clamp_min(1) / onehot.sum(0).clamp_min(1);
      loss = at::binary_cross_entropy_with_logits(logits, onehot, {}, pos_weight);
    } else {
      loss = at::cross_entropy_loss(logits, target, cw);
    }
    loss = loss + wd * W.pow(2).sum();
    W.mutable_grad() = at::Tensor();
    b.mutable_grad() = at::Tensor();
    loss.backward();
    at::NoGradGuard ng;
    for (auto [p, m, v] : {std::tuple{W, m_w, v_w}, std::tuple{b, m_b, v_b}}) {
      m.mul_(0.9).add_(p.grad(), 0.1);
      v.mul_(0.999).addcmul_(p.grad(), p.grad(), 0.001);
      p.sub_(lr * (m / (1 - std::pow(0.9, step))) / ((v / (1 - std::pow(0.999, step))).sqrt() + 1e-8));
    }
  }
  at::NoGradGuard ng;
  at::Tensor logits = at::matmul((test_x.to(at::kFloat) - mean) / std, W) + b;
  return one_vs_rest ? at::sigmoid(logits) : at::softmax(logits, 1);
}

}  // namespace rr
