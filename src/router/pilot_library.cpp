#include "router/pilot_library.h"

#include <ATen/ATen.h>

#include <limits>
#include <map>
#include <random>

#include "common/error.h"
#include "model/invariant_ops.h"

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

double tied_share(const at::Tensor& scores) {
  if (scores.size(0) == 0) return 0.0;
  const auto first = best_experts(scores, TieRule::First), unique = best_experts(scores, TieRule::Skip);
  int64_t tied = 0;
  for (size_t q = 0; q < first.size(); ++q) tied += unique[q] < 0 && first[q] >= 0;
  return static_cast<double>(tied) / static_cast<double>(first.size());
}

namespace {

// k-means++ seeding (Arthur & Vassilvitskii): the first centre uniformly, each next one with probability
// proportional to the squared distance to the nearest centre so far. Returns row indices of x.
std::vector<int64_t> kmeans_plus_plus(const at::Tensor& x, int64_t k, uint64_t seed) {
  const int64_t n = x.size(0);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> centres = {
      static_cast<int64_t>(std::uniform_int_distribution<int64_t>(0, n - 1)(rng))};
  at::Tensor d2 = (x - x[centres[0]]).pow(2).sum(1);
  while (static_cast<int64_t>(centres.size()) < k) {
    std::vector<double> w(d2.data_ptr<float>(), d2.data_ptr<float>() + n);
    double total = 0;
    for (double v : w) total += v;
    const int64_t pick =
        total > 0 ? static_cast<int64_t>(std::discrete_distribution<int64_t>(w.begin(), w.end())(rng))
                  : static_cast<int64_t>(centres.size());
    centres.push_back(pick);
    d2 = at::minimum(d2, (x - x[pick]).pow(2).sum(1));
  }
  return centres;
}

void add_pilot(PilotLibrary& lib, std::vector<at::Tensor>& rows, at::Tensor emb, int64_t count,
               int32_t expert, int32_t dataset) {
  rows.push_back(std::move(emb));
  lib.count.push_back(count);
  lib.expert.push_back(expert);
  lib.dataset.push_back(dataset);
}

}  // namespace

std::pair<at::Tensor, std::vector<int64_t>> lloyd_kmeans(const at::Tensor& x, at::Tensor c, int max_iter) {
  const int64_t k = c.size(0), n = x.size(0);
  at::Tensor assign;
  for (int iter = 0; iter < max_iter; ++iter) {
    // Squared distances |x|^2 - 2 x c^T + |c|^2 (what cdist computes by a product, here thread-invariant).
    at::Tensor next =
        (x.pow(2).sum(1, true) - 2 * invariant_mm(x, c.t()) + c.pow(2).sum(1).unsqueeze(0)).argmin(1);
    if (assign.defined() && at::equal(next, assign)) break;
    assign = next;
    for (int64_t j = 0; j < k; ++j) {
      at::Tensor members = (assign == j).nonzero().squeeze(1);
      if (members.numel() > 0) c[j] = x.index_select(0, members).mean(0);
    }
  }
  std::vector<int64_t> sizes(static_cast<size_t>(k), 0);
  const at::Tensor a = assign.contiguous();
  for (int64_t i = 0; i < n; ++i) ++sizes[a.data_ptr<int64_t>()[i]];
  return {c, sizes};
}

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
    const auto dataset = static_cast<int32_t>(d);
    for (const auto& [expert, members] : groups) {
      at::Tensor x = base[d].index_select(0, at::tensor(members, at::kLong)).to(at::kFloat);
      if (per_group == 1) {
        add_pilot(lib, rows, x.mean(0), static_cast<int64_t>(members.size()), expert, dataset);
        continue;
      }
      const auto start = kmeans_plus_plus(x, std::min(per_group, x.size(0)),
                                          seed + d * 1000 + static_cast<uint64_t>(expert));
      auto [centroids, sizes] = lloyd_kmeans(x, x.index_select(0, at::tensor(start, at::kLong)).clone());
      for (int64_t j = 0; j < centroids.size(0); ++j)
        if (sizes[j] > 0) add_pilot(lib, rows, centroids[j], sizes[j], expert, dataset);
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
  at::Tensor all = invariant_mm(query_base.to(at::kFloat), lib.emb.t());  // Q x P
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

}  // namespace rr
