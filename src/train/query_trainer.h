// Contrastive training of the query side (the paper's experts and multi-task model): queries are encoded by
// base + LoRA adapter (or by a fully fine-tuned copy), documents by the frozen base, whose embeddings are the
// precomputed corpus index. InfoNCE over in-batch negatives (every document of the global batch, all ranks
// together), AdamW with warm-up and linear decay, clipping, accumulation, optional bf16 autocast, dev nDCG@10
// every eval_every steps keeping the best, resumable checkpoints. Every step's randomness (batch, dropout) is
// a function of (seed, step), so a resumed run ends with the same weights as an uninterrupted one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "model/bert_encoder.h"
#include "train/collectives.h"
#include "train/training_data.h"

namespace rr {

struct TrainCurve {
  std::vector<int64_t> steps;  // logged steps
  std::vector<double> loss, lr;
  std::vector<int64_t> eval_steps;  // dev evaluations (step 0 = the untrained start)
  std::vector<double> dev_ndcg10;
  int64_t best_step = 0;
  double best_dev = -1;  // -1: no dev data
  int64_t steps_done = 0;
  bool resumed = false;
};

struct QueryTrainerOptions {
  TrainingConfig config;
  uint64_t seed = 13;
  std::filesystem::path checkpoint_dir;  // resumable state; empty: no checkpoints
  std::string label = "expert";          // for logs
  std::string inputs;  // fingerprint of everything the training depends on (config, data, base): a checkpoint
                       // made from other inputs is not resumed
  int32_t cls_id = 101, sep_id = 102, pad_id = 0;
  int64_t eval_batch = 64;
};

// Trains `adapter` (LoRA on the frozen base; set `full` to null) or `full` (every weight; adapter null).
// On return the trained object holds the best dev checkpoint (or the last step without dev data).
TrainCurve train_query_side(const BertEncoder& base, LoraAdapter* adapter, BertEncoder* full,
                            const std::vector<DatasetTraining>& data, const QueryTrainerOptions& options,
                            const Collectives& group);

// Mean dev nDCG@10 over the datasets that have dev queries (BEIR semantics), or -1 when none do.
double dev_ndcg10(const BertEncoder& encoder, const LoraAdapter* adapter,
                  const std::vector<DatasetTraining>& data, int64_t batch);

}  // namespace rr
