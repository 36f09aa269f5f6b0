#include "train/base_trainer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "common/error.h"
#include "data/split.h"
#include "train/adamw.h"
#include "train/train_common.h"
#include "train/training_data.h"

namespace rr {

namespace {

constexpr int64_t kChunkTokens = 8192;  // padded tokens per forward chunk

// Global batch of `step`: distinct documents with usable text, and each one's two crops.
struct CropBatch {
  std::vector<std::vector<int32_t>> a, b;
};

CropBatch sample_crops(const std::vector<std::vector<int32_t>>& docs,
                       const std::vector<std::vector<int32_t>>& titles, const std::vector<int64_t>& usable,
                       const BaseTrainerOptions& o, int64_t step) {
  const auto& c = o.config;
  std::mt19937_64 rng(stable_hash("crops" + std::to_string(step), o.seed));
  const int64_t B = std::min<int64_t>(c.batch_size, static_cast<int64_t>(usable.size()));
  // Distinct documents: a partial Fisher-Yates shuffle of the usable ones.
  std::vector<int64_t> pick = usable;
  for (int64_t i = 0; i < B; ++i)
    std::swap(pick[i], pick[std::uniform_int_distribution<int64_t>(i, pick.size() - 1)(rng)]);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto crop = [&](const std::vector<int32_t>& body) {
    auto t = random_crop(body, c.crop_min, c.crop_max, c.max_length, o.cls_id, o.sep_id, rng);
    if (c.word_deletion > 0) {
      std::vector<int32_t> kept = {t.front()};
      for (size_t i = 1; i + 1 < t.size(); ++i)
        if (unit(rng) >= c.word_deletion) kept.push_back(t[i]);
      kept.push_back(t.back());
      if (kept.size() > 2) t.swap(kept);
    }
    return t;
  };
  CropBatch out;
  for (int64_t i = 0; i < B; ++i) {
    const auto& doc = docs[pick[i]];
    const size_t title = titles.empty() ? 0 : titles[pick[i]].size();
    // No random draw unless title pairs are on, so runs without them keep their batches.
    if (c.title_pairs > 0 && title > 0 && doc.size() >= title + 4 && unit(rng) < c.title_pairs) {
      std::vector<int32_t> a = {o.cls_id};
      a.insert(a.end(), doc.begin(),
               doc.begin() + static_cast<int64_t>(std::min<size_t>(title, c.max_length - 2)));
      a.push_back(o.sep_id);
      out.a.push_back(std::move(a));
      out.b.push_back(crop(std::vector<int32_t>(doc.begin() + static_cast<int64_t>(title), doc.end())));
      continue;
    }
    out.a.push_back(crop(doc));
    out.b.push_back(crop(doc));
  }
  return out;
}

}  // namespace

TrainCurve train_base(BertEncoder& model, const std::vector<std::vector<int32_t>>& documents,
                      const std::vector<std::vector<int32_t>>& titles, const BaseTrainerOptions& o,
                      const Collectives& group) {
  RR_CHECK(titles.empty() || titles.size() == documents.size(), Runtime,
           "train_base: {} titles for {} documents", titles.size(), documents.size());
  const auto& cfg = o.config;
  std::vector<int64_t> usable;
  for (size_t i = 0; i < documents.size(); ++i)
    if (documents[i].size() >= 4) usable.push_back(static_cast<int64_t>(i));
  RR_CHECK(usable.size() >= 2, Input, "base training needs at least 2 documents with 4+ tokens, got {}",
           usable.size());
  const at::Device device = model.device();
  auto params = trainable_params(nullptr, &model);
  for (auto& [n, t] : params) t.set_requires_grad(true);
  std::vector<at::Tensor> param_list;
  for (auto& [n, t] : params) param_list.push_back(t);
  AdamW opt(params, {0.9, 0.999, 1e-8, cfg.weight_decay});
  const std::string fingerprint = fmt::format("base|{}|{}|{}|{}|{}|{}|{}", o.seed, cfg.steps, cfg.batch_size,
                                              cfg.lr, cfg.hidden_size, group.size(), o.inputs);
  TrainCurve curve;
  TensorMap best = snapshot(params);
  int64_t start = 0;
  if (auto ck = load_checkpoint(o.checkpoint_dir, params, opt, best, fingerprint)) {
    start = ck->step;
    curve = ck->curve;
    curve.resumed = true;
    spdlog::info("base: resuming from step {} ({})", start, o.checkpoint_dir.string());
  }
  const int64_t warmup = static_cast<int64_t>(cfg.warmup_ratio * static_cast<double>(cfg.steps));
  const auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0;
  for (int64_t step = start; step < cfg.steps; ++step) {
    CropBatch batch = sample_crops(documents, titles, usable, o, step);
    at::manual_seed(stable_hash("dropout" + std::to_string(step), o.seed) +
                    static_cast<uint64_t>(group.rank()));
    const int64_t B = static_cast<int64_t>(batch.a.size());
    // Equal shares per rank (gathered keys must have one shape): drop the remainder of the global batch.
    const int64_t per = B / group.size(), lo = per * group.rank(), hi = lo + per;
    RR_CHECK(per > 0, Usage, "base batch_size {} is smaller than the {} ranks", B, group.size());
    std::vector<const std::vector<int32_t>*> qa, ka;
    for (int64_t i = lo; i < hi; ++i) qa.push_back(&batch.a[i]), ka.push_back(&batch.b[i]);
    at::Tensor q, k;
    {
      Autocast ac(cfg.bf16, device);
      q = embed_in_length_chunks(model, qa, nullptr, o.pad_id, kChunkTokens);
      k = embed_in_length_chunks(model, ka, nullptr, o.pad_id, kChunkTokens);
    }
    q = q.to(at::kFloat);
    k = k.to(at::kFloat);
    if (cfg.normalize) {
      q = q / q.norm(2, -1, true).clamp_min(1e-6);
      k = k / k.norm(2, -1, true).clamp_min(1e-6);
    }
    // Keys of every rank; their gradient is summed over ranks and handed back to the encoding rank.
    at::Tensor all_k = group.allgather_rows(k.detach()).set_requires_grad(true);
    at::Tensor logits = at::matmul(q, all_k.t()) / cfg.temperature;
    at::Tensor labels = at::arange(lo, hi, at::TensorOptions().dtype(at::kLong).device(device));
    at::Tensor loss = at::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum) /
                      static_cast<double>(per * group.size());
    opt.zero_grad();
    loss.backward();
    at::Tensor key_grad = all_k.grad();
    group.allreduce_sum(key_grad);
    k.backward(key_grad.slice(0, lo, hi));
    const double lr = linear_schedule(cfg.lr, step, warmup, cfg.steps);
    const double global_loss = finish_step(opt, param_list, loss.item<double>(), lr, cfg.grad_clip, group);
    const int64_t done = step + 1;
    curve.steps.push_back(done);
    curve.loss.push_back(global_loss);
    curve.lr.push_back(lr);
    auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - t0).count();
    if (std::chrono::duration<double>(now - last_log).count() > 10 || done == cfg.steps) {
      last_log = now;
      const double rate = (done - start) / std::max(elapsed, 1e-9);
      spdlog::info("base: step {}/{}, loss {:.4f}, lr {:.2e}, {:.2f} steps/s ({:.0f} pairs/s), ETA {:.0f} s",
                   done, cfg.steps, curve.loss.back(), lr, rate, rate * B,
                   (cfg.steps - done) / std::max(rate, 1e-9));
    }
    if (o.evaluate && o.eval_every > 0 && (done % o.eval_every == 0 || done == cfg.steps)) {
      double s = -1;
      if (group.rank() == 0) {
        c10::InferenceMode guard;
        s = o.evaluate(model);
      }
      s = group.broadcast(s);
      if (s >= 0) {
        curve.eval_steps.push_back(done);
        curve.dev_ndcg10.push_back(s);
        spdlog::info("base: dev nDCG@10 {:.4f} at step {}", s, done);
      }
    }
    const bool out_of_time =
        group.broadcast(cfg.max_minutes > 0 && elapsed > cfg.max_minutes * 60 ? 1.0 : 0.0) > 0;
    if (!o.checkpoint_dir.empty() && group.rank() == 0 &&
        ((cfg.checkpoint_every > 0 && done % cfg.checkpoint_every == 0) || done == cfg.steps || out_of_time))
      save_checkpoint(o.checkpoint_dir, Checkpoint{done, curve, 0}, params, opt, snapshot(params),
                      fingerprint);
    if (out_of_time) {
      spdlog::warn("base: stopping at step {} of {}: max_minutes {} reached", done, cfg.steps,
                   cfg.max_minutes);
      break;
    }
  }
  curve.steps_done = curve.steps.empty() ? start : curve.steps.back();
  for (auto& [n, t] : params) t.set_requires_grad(false);
  return curve;
}

}  // namespace rr
