// Contrastive training of the query side (the paper's experts and multi-task model): queries are embedded by
// a query model (a LoRA adapter on the frozen base, or a fully fine-tuned copy), documents by the frozen
// base, whose embeddings are the precomputed corpus index. InfoNCE over in-batch negatives (every document of
// the global batch, all ranks together), dev nDCG@10 every eval_every steps keeping the best; the loop itself
// (schedule, clipping, checkpoints) is run_loop's. Every step's randomness (batch, dropout) is a function of
// (seed, step), so a resumed run ends with the same weights as an uninterrupted one.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "model/query_model.h"
#include "train/collectives.h"
#include "train/train_curve.h"
#include "train/training_data.h"

namespace rr {

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

// Trains `model` on the shared `base` (documents come from the index in `data`). On return the model holds
// the best dev checkpoint (or the last step without dev data).
TrainCurve train_query_side(const BertEncoder& base, QueryModel& model,
                            const std::vector<DatasetTraining>& data, const QueryTrainerOptions& options,
                            const Collectives& group);

}  // namespace rr
