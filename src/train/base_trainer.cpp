#include "train/base_trainer.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <memory>

#include "common/error.h"
#include "common/stable_hash.h"
#include "model/autocast.h"
#include "model/full_model.h"
#include "model/query_model.h"
#include "model/text_encoder.h"
#include "model/adamw.h"
#include "train/info_nce.h"
#include "train/inverse_cloze.h"
#include "train/piece_bm25.h"
#include "train/train_loop.h"
#include "train/training_data.h"

namespace rr {

namespace {

constexpr int64_t kChunkTokens = 8192;  // padded tokens per forward chunk

// Global batch of `step`: distinct documents with usable text, and each one's pair.
struct CropBatch {
  std::vector<std::vector<int32_t>> a, b;
};

// [CLS] tokens[begin, begin + n) [SEP], at most max_length ids.
std::vector<int32_t> framed(const std::vector<int32_t>& tokens, size_t begin, size_t n, int64_t max_length,
                            const BaseTrainerOptions& o) {
  n = std::min<size_t>(n, static_cast<size_t>(max_length - 2));
  std::vector<int32_t> out = {o.cls_id};
  out.insert(out.end(), tokens.begin() + static_cast<int64_t>(begin),
             tokens.begin() + static_cast<int64_t>(begin + n));
  out.push_back(o.sep_id);
  return out;
}

CropBatch sample_crops(const std::vector<std::vector<int32_t>>& docs,
                       const std::vector<std::vector<int32_t>>& titles, const std::vector<int64_t>& usable,
                       const PieceBm25* bm25, const BaseTrainerOptions& o, int64_t step) {
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
    // No random draw unless title (lexical) pairs are on, so runs without them keep their batches.
    if (c.title_pairs > 0 && title > 0 && doc.size() >= title + 4 && unit(rng) < c.title_pairs) {
      out.a.push_back(framed(doc, 0, title, c.max_length, o));
      out.b.push_back(crop(std::vector<int32_t>(doc.begin() + static_cast<int64_t>(title), doc.end())));
      continue;
    }
    if (bm25 && doc.size() > static_cast<size_t>(c.lexical_span_min) && unit(rng) < c.lexical_pairs) {
      const int64_t hi = std::min<int64_t>(c.lexical_span_max, static_cast<int64_t>(doc.size()) - 1);
      const int64_t len = std::uniform_int_distribution<int64_t>(c.lexical_span_min, hi)(rng);
      const int64_t begin = std::uniform_int_distribution<int64_t>(0, doc.size() - len)(rng);
      const std::vector<int32_t> span(doc.begin() + begin, doc.begin() + begin + len);
      const int64_t top = bm25->best(span);
      const auto& positive = docs[top >= 0 ? top : pick[i]];
      out.a.push_back(framed(span, 0, span.size(), c.max_length, o));
      out.b.push_back(framed(positive, 0, positive.size(), c.max_length, o));
      continue;
    }
    if (c.sentence_pairs > 0 && unit(rng) < c.sentence_pairs) {
      if (auto ict = inverse_cloze_pair(doc, o.sentence_ends, c.lexical_span_min, c.max_length - 2, rng)) {
        out.a.push_back(framed(ict->query, 0, ict->query.size(), c.max_length, o));
        out.b.push_back(framed(ict->positive, 0, ict->positive.size(), c.max_length, o));
        continue;
      }
    }
    out.a.push_back(crop(doc));
    out.b.push_back(crop(doc));
  }
  return out;
}

// This rank's share of one step: the crops of its slice of the global batch as queries, everyone's other
// crops (gathered) as keys; returns its share of the batch-mean InfoNCE loss after the backward pass.
double crop_step(const FullModel& net, const CropBatch& batch, const BaseTrainerOptions& o,
                 const at::Device& device, const ForwardMode& mode, const Collectives& group) {
  const auto& cfg = o.config;
  const int64_t B = static_cast<int64_t>(batch.a.size());
  // Equal shares per rank (gathered keys must have one shape): drop the remainder of the global batch.
  const int64_t per = B / group.size(), lo = per * group.rank(), hi = lo + per;
  RR_CHECK(per > 0, Usage, "base batch_size {} is smaller than the {} ranks", B, group.size());
  std::vector<const std::vector<int32_t>*> qa, ka;
  for (int64_t i = lo; i < hi; ++i) qa.push_back(&batch.a[i]), ka.push_back(&batch.b[i]);
  at::Tensor q, k;
  {
    Autocast ac(cfg.bf16, device);
    q = embed_in_length_chunks(net, qa, o.pad_id, kChunkTokens, device, mode);
    k = embed_in_length_chunks(net, ka, o.pad_id, kChunkTokens, device, mode);
  }
  return gathered_info_nce_backward(q.to(at::kFloat), k.to(at::kFloat), cfg.temperature, cfg.normalize,
                                    group);
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
  FullModel net(model);  // shares the weights being trained
  auto params = net.trainable();
  AdamW opt(params, {0.9, 0.999, 1e-8, cfg.weight_decay});
  LoopSpec spec = loop_spec("base", cfg, o.checkpoint_dir);
  spec.max_minutes = cfg.max_minutes;
  // Each query crop's candidates: the other crops of the global batch (equal shares per rank).
  spec.chance_loss = std::log(static_cast<double>(cfg.batch_size / group.size() * group.size()));
  // Not the group size: the global batch of a step does not depend on it, so a relaunch on another rank count
  // resumes (dropout masks and the order of gradient sums then differ, as on any rank count).
  spec.fingerprint = fmt::format("base|{}|{}|{}|{}|{}|{}", o.seed, cfg.steps, cfg.batch_size, cfg.lr,
                                 cfg.hidden_size, o.inputs);
  std::unique_ptr<PieceBm25> bm25;
  if (cfg.lexical_pairs > 0) bm25 = std::make_unique<PieceBm25>(documents);
  TrainCurve curve = run_loop(spec, params, opt, group, [&](int64_t step) {
    const CropBatch batch = sample_crops(documents, titles, usable, bm25.get(), o, step);
    const ForwardMode mode{true,
                           make_generator(device, stable_hash("dropout" + std::to_string(step), o.seed) +
                                                      static_cast<uint64_t>(group.rank()))};
    return crop_step(net, batch, o, device, mode, group);
  });
  // Trained to compare by cosine, the model is searched by cosine: its norms were never trained and would
  // otherwise weigh every dot product at random.
  if (cfg.normalize) model.set_embedding_rule({Pooling::Mean, true});
  return curve;
}

}  // namespace rr
