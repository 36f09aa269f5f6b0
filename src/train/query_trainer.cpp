#include "train/query_trainer.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "common/stable_hash.h"
#include "eval/dense_eval.h"
#include "model/adamw.h"
#include "model/autocast.h"
#include "model/text_encoder.h"
#include "search/index.h"
#include "search/topk.h"
#include "train/info_nce.h"
#include "train/train_loop.h"

namespace rr {

namespace {

// This rank's share of one step: its contiguous slice of the global batch, in `accumulation` micro-batches;
// each query's positive is its own document, every other document of the global batch a negative.
double query_step(const QueryModel& model, const std::vector<BatchItem>& batch, const at::Tensor& docs,
                  const TrainingConfig& cfg, int32_t pad, const ForwardMode& mode, const Collectives& group) {
  const at::Device device = docs.device();
  const int64_t B = static_cast<int64_t>(batch.size());
  const int64_t lo = B * group.rank() / group.size(), hi = B * (group.rank() + 1) / group.size();
  const int64_t micro = std::max<int64_t>(1, (hi - lo + cfg.accumulation - 1) / cfg.accumulation);
  double loss_sum = 0;
  for (int64_t m0 = lo; m0 < hi; m0 += micro) {
    const int64_t m1 = std::min(hi, m0 + micro);
    std::vector<const std::vector<int32_t>*> toks;
    for (int64_t i = m0; i < m1; ++i) toks.push_back(&batch[i].tokens);
    at::Tensor q;
    {
      Autocast ac(cfg.bf16, device);
      q = embed_in_length_chunks(model, toks, pad, 8192, device, mode);
    }
    at::Tensor loss = info_nce_share(q.to(at::kFloat), docs, m0, B, cfg.temperature);
    loss.backward();
    loss_sum += loss.item<double>();
  }
  return loss_sum;
}

// The dev queries of the training datasets against their corpora, each corpus indexed once per training run
// on the training device (a DeviceIndex there, one upload; on the CPU a FlatIndex over the stored rows).
class DevEvaluation {
 public:
  DevEvaluation(const std::vector<DatasetTraining>& data, const c10::Device& device, int64_t batch)
      : data_(data), batch_(batch) {
    SearchParams params;
    params.device = device.str();
    for (const auto& d : data)
      indexes_.push_back(d.dev_queries.empty() ? nullptr
                                               : make_dense_index(d.doc_embeddings.to(at::kCPU).contiguous(),
                                                                  tie_keys(d.doc_ids), 0, params));
  }

  // Mean dev nDCG@10 of `model` over the datasets that have dev queries (BEIR semantics), or -1 when none do.
  double ndcg10(const BertEncoder& base, const QueryModel& model) const {
    static const MeasureSet kNdcg10({"ndcg_cut.10"});
    double sum = 0;
    int n = 0;
    for (size_t i = 0; i < data_.size(); ++i) {
      const DatasetTraining& d = data_[i];
      if (!indexes_[i]) continue;
      EncodeParams p;
      p.max_batch = batch_;
      const at::Tensor q = encode_ids(base, d.dev_queries, p, {&model});
      sum +=
          evaluate_dense(q, d.dev_query_ids, *indexes_[i], d.doc_ids, d.dev_qrels, kNdcg10, 10, true).mean[0];
      ++n;
    }
    return n ? sum / n : -1.0;
  }

 private:
  const std::vector<DatasetTraining>& data_;
  int64_t batch_;
  std::vector<std::unique_ptr<Index>> indexes_;  // per dataset; null without dev queries
};

}  // namespace

TrainCurve train_query_side(const BertEncoder& base, QueryModel& model,
                            const std::vector<DatasetTraining>& data, const QueryTrainerOptions& o,
                            const Collectives& group) {
  const TrainingConfig& cfg = o.config;
  const at::Device device = base.device();
  auto params = model.trainable();
  AdamW opt(params, {cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay});
  LoopSpec spec = loop_spec(o.label, cfg, o.checkpoint_dir);
  spec.eval_every = cfg.eval_every;
  spec.patience = cfg.patience;
  spec.min_dev_gain = cfg.min_dev_gain;
  // Not the group size: the global batch of a step does not depend on it, so a relaunch on another rank count
  // resumes (dropout masks and the order of gradient sums then differ, as on any rank count).
  spec.fingerprint = fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", o.seed, cfg.steps, cfg.batch_size, cfg.lr,
                                 cfg.lora.r, cfg.temperature, o.label, o.inputs);
  const SamplerParams sp{.batch_size = cfg.batch_size,
                         .judged_share = cfg.judged_share,
                         .max_query_length = cfg.max_query_length,
                         .cls_id = o.cls_id,
                         .sep_id = o.sep_id};
  const auto step = [&](int64_t s) {
    const auto batch = sample_batch(data, sp, o.seed, s);
    const ForwardMode mode{true, make_generator(device, stable_hash("dropout" + std::to_string(s), o.seed) +
                                                            static_cast<uint64_t>(group.rank()))};
    std::vector<at::Tensor> rows;
    for (const auto& it : batch) rows.push_back(data[it.dataset].doc_embeddings[it.doc]);
    const at::Tensor docs = at::stack(rows).to(device);  // B x H, frozen
    return query_step(model, batch, docs, cfg, o.pad_id, mode, group);
  };
  const DevEvaluation dev(data, device, o.eval_batch);
  return run_loop(spec, params, opt, group, step, [&] { return dev.ndcg10(base, model); });
}

}  // namespace rr
