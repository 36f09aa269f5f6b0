#include "train/query_trainer.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>

#include "common/atomic_output.h"
#include "common/error.h"
#include "common/fault_injection.h"
#include "data/split.h"
#include "eval/dense_eval.h"
#include "model/text_encoder.h"
#include "search/topk.h"
#include "train/adamw.h"
#include "train/train_common.h"

namespace rr {

double dev_ndcg10(const BertEncoder& encoder, const LoraAdapter* adapter,
                  const std::vector<DatasetTraining>& data, int64_t batch) {
  static const MeasureSet kNdcg10({"ndcg_cut.10"});
  double sum = 0;
  int n = 0;
  std::vector<const LoraAdapter*> adapters;
  if (adapter) adapters.push_back(adapter);
  for (const auto& d : data) {
    if (d.dev_queries.empty()) continue;
    EncodeParams p;
    p.max_batch = batch;
    at::Tensor q = encode_ids(encoder, d.dev_queries, p, adapters);
    at::Tensor corpus = d.doc_embeddings.contiguous();
    std::vector<int64_t> tie = tie_keys(d.doc_ids);
    DenseCorpus dc{
        {corpus.data_ptr<float>(), corpus.size(0), corpus.size(1), StorageType::Float32}, &d.doc_ids, &tie};
    Evaluation ev = evaluate_dense(q, d.dev_query_ids, dc, d.dev_qrels, kNdcg10, 10, true);
    sum += ev.mean[0];
    ++n;
  }
  return n ? sum / n : -1.0;
}

TrainCurve train_query_side(const BertEncoder& base, LoraAdapter* adapter, BertEncoder* full,
                            const std::vector<DatasetTraining>& data, const QueryTrainerOptions& o,
                            const Collectives& group) {
  RR_CHECK((adapter != nullptr) != (full != nullptr), Runtime,
           "train_query_side: give an adapter or a full model");
  const TrainingConfig& cfg = o.config;
  const at::Device device = base.device();
  auto params = trainable_params(adapter, full);
  for (auto& [n, t] : params) t.set_requires_grad(true);
  std::vector<at::Tensor> param_list;
  for (auto& [n, t] : params) param_list.push_back(t);
  AdamW opt(params, {cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay});
  const std::string fingerprint =
      fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}", o.seed, cfg.steps, cfg.batch_size, cfg.lr, cfg.lora.r,
                  cfg.temperature, group.size(), o.label, o.inputs);
  const BertEncoder& query_encoder = full ? *full : base;
  auto evaluate = [&]() {
    double s = -1;
    if (group.rank() == 0) {
      c10::InferenceMode guard;
      s = dev_ndcg10(query_encoder, adapter, data, o.eval_batch);
    }
    return group.broadcast(s);
  };

  TrainCurve curve;
  TensorMap best = snapshot(params);
  int64_t start = 0, evals_without_gain = 0;
  if (auto ck = load_checkpoint(o.checkpoint_dir, params, opt, best, fingerprint)) {
    start = ck->step;
    curve = ck->curve;
    evals_without_gain = ck->evals_without_gain;
    curve.resumed = true;
    spdlog::info("{}: resuming from step {} ({})", o.label, start, o.checkpoint_dir.string());
  } else if (cfg.eval_every > 0) {
    double s = evaluate();
    if (s >= 0) {
      curve.eval_steps.push_back(0);
      curve.dev_ndcg10.push_back(s);
      curve.best_dev = s;
      curve.best_step = 0;
      spdlog::info("{}: dev nDCG@10 at step 0 (the base alone) {:.4f}", o.label, s);
    }
  }
  SamplerParams sp;
  sp.batch_size = cfg.batch_size;
  sp.judged_share = cfg.judged_share;
  sp.max_query_length = cfg.max_query_length;
  sp.cls_id = o.cls_id;
  sp.sep_id = o.sep_id;
  const int64_t warmup = static_cast<int64_t>(cfg.warmup_ratio * static_cast<double>(cfg.steps));
  const auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0;
  bool stopped = false;
  for (int64_t step = start; step < cfg.steps && !stopped; ++step) {
    auto batch = sample_batch(data, sp, o.seed, step);
    at::manual_seed(stable_hash("dropout" + std::to_string(step), o.seed) +
                    static_cast<uint64_t>(group.rank()));
    const int64_t B = static_cast<int64_t>(batch.size());
    std::vector<at::Tensor> rows;
    for (const auto& it : batch) rows.push_back(data[it.dataset].doc_embeddings[it.doc]);
    at::Tensor docs = at::stack(rows).to(device);  // B x H, frozen
    // This rank's contiguous share of the global batch.
    const int64_t lo = B * group.rank() / group.size(), hi = B * (group.rank() + 1) / group.size();
    double loss_sum = 0;
    opt.zero_grad();
    const int64_t micro = std::max<int64_t>(1, (hi - lo + cfg.accumulation - 1) / cfg.accumulation);
    for (int64_t m0 = lo; m0 < hi; m0 += micro) {
      const int64_t m1 = std::min(hi, m0 + micro);
      std::vector<const std::vector<int32_t>*> toks;
      for (int64_t i = m0; i < m1; ++i) toks.push_back(&batch[i].tokens);
      at::Tensor q;
      {
        Autocast ac(cfg.bf16, device);
        AdapterBatch lora{{adapter}, {}};
        q = embed_in_length_chunks(query_encoder, toks, adapter ? &lora : nullptr, o.pad_id, 8192);
      }
      at::Tensor logits = at::matmul(q.to(at::kFloat), docs.t()) / cfg.temperature;
      at::Tensor labels = at::arange(m0, m1, at::TensorOptions().dtype(at::kLong).device(device));
      at::Tensor loss =
          at::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum) / static_cast<double>(B);
      loss.backward();
      loss_sum += loss.item<double>();
    }
    const double lr = linear_schedule(cfg.lr, step, warmup, cfg.steps);
    const double global_loss = finish_step(opt, param_list, loss_sum, lr, cfg.grad_clip, group);
    const int64_t done = step + 1;
    fault_point("train-step");
    curve.steps.push_back(done);
    curve.loss.push_back(global_loss);
    curve.lr.push_back(lr);
    auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - last_log).count() > 10 || done == cfg.steps) {
      last_log = now;
      double el = std::chrono::duration<double>(now - t0).count(), rate = (done - start) / std::max(el, 1e-9);
      spdlog::info("{}: step {}/{}, loss {:.4f}, lr {:.2e}, {:.2f} steps/s, ETA {:.0f} s", o.label, done,
                   cfg.steps, curve.loss.back(), lr, rate, (cfg.steps - done) / std::max(rate, 1e-9));
    }
    if (cfg.eval_every > 0 && (done % cfg.eval_every == 0 || done == cfg.steps)) {
      double s = evaluate();
      if (s >= 0) {
        curve.eval_steps.push_back(done);
        curve.dev_ndcg10.push_back(s);
        if (s > curve.best_dev + cfg.min_dev_gain) {
          curve.best_dev = s;
          curve.best_step = done;
          best = snapshot(params);
          evals_without_gain = 0;
        } else {
          ++evals_without_gain;
        }
        spdlog::info("{}: dev nDCG@10 {:.4f} at step {} (best {:.4f} at step {})", o.label, s, done,
                     curve.best_dev, curve.best_step);
        if (cfg.patience > 0 && evals_without_gain >= cfg.patience) {
          spdlog::info("{}: early stop: {} evaluations without improvement", o.label, evals_without_gain);
          stopped = true;
        }
      }
    }
    if (!o.checkpoint_dir.empty() && group.rank() == 0 &&
        ((cfg.checkpoint_every > 0 && done % cfg.checkpoint_every == 0) || done == cfg.steps || stopped))
      save_checkpoint(o.checkpoint_dir, Checkpoint{done, curve, evals_without_gain}, params, opt, best,
                      fingerprint);
  }
  curve.steps_done = curve.steps.empty() ? start : curve.steps.back();
  // Keep the best dev checkpoint; without dev data the last step is what there is.
  if (curve.best_dev >= 0) copy_into(params, best, "best checkpoint");
  for (auto& [n, t] : params) t.set_requires_grad(false);
  return curve;
}

}  // namespace rr
