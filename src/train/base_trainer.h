// rr's own base encoder: a BERT trained from scratch by contrastive learning on pairs made from the corpus
// documents alone: two independent random crops (Contriever), or a title, lexical (BM25-imitation) or inverse
// cloze pair (BaseTrainingConfig). The other pairs' positives in the global batch (all ranks) are the
// negatives. Both sides are trained; the gradient of keys gathered from other ranks flows back to the rank
// that encoded them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "model/bert_encoder.h"
#include "train/collectives.h"
#include "train/train_curve.h"

namespace rr {

struct BaseTrainerOptions {
  BaseTrainingConfig config;
  uint64_t seed = 13;
  std::filesystem::path checkpoint_dir;
  std::string inputs;  // fingerprint of everything the training depends on: a checkpoint made from other
                       // inputs is not resumed
  int32_t cls_id = 2, sep_id = 3, pad_id = 0;
  std::vector<int32_t> sentence_ends;  // the pieces that end a sentence (for config.sentence_pairs)
};

// documents: body tokens (no [CLS]/[SEP]) of every training document; titles: each document's title tokens,
// which begin its body (empty: no title; the whole vector may be empty when config.title_pairs is 0). Trains
// `model` in place; with config.normalize its embedding rule becomes cosine (normalised mean pooling).
TrainCurve train_base(BertEncoder& model, const std::vector<std::vector<int32_t>>& documents,
                      const std::vector<std::vector<int32_t>>& titles, const BaseTrainerOptions& options,
                      const Collectives& group);

}  // namespace rr
