// Pieces shared by rr's trainers: autocast scope, padding, parameter snapshots and resumable checkpoints.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/bert_encoder.h"
#include "train/adamw.h"
#include "train/collectives.h"
#include "train/query_trainer.h"

namespace rr {

// bf16 autocast on the CPU (or CUDA autocast) for the scope, when `on`.
class Autocast {
 public:
  Autocast(bool on, const at::Device& device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool on_, cuda_;
};

// Rows padded to the longest: (input_ids, attention_mask), B x T int64 on device.
std::pair<at::Tensor, at::Tensor> pad_batch(const std::vector<const std::vector<int32_t>*>& rows, int32_t pad,
                                            const at::Device& device);

// Embeds rows with gradients, in chunks of rows of similar length (at most `token_budget` padded tokens
// each), so that short rows are not padded to the longest of the whole batch. Returns B x H in the order of
// `rows`.
at::Tensor embed_in_length_chunks(const BertEncoder& model,
                                  const std::vector<const std::vector<int32_t>*>& rows,
                                  const AdapterBatch* lora, int32_t pad, int64_t token_budget);

// The trainable tensors by name (adapter: PEFT key names; full model: HF names); handles, not copies.
std::map<std::string, at::Tensor> trainable_params(LoraAdapter* adapter, BertEncoder* full);
TensorMap snapshot(const std::map<std::string, at::Tensor>& params);
void copy_into(std::map<std::string, at::Tensor>& dst, const TensorMap& src, const std::string& what);

// The end of a data-parallel step: sums the gradients (and the loss) over the group, clips, takes the AdamW
// step at `lr` and clears the gradients. Returns the loss summed over the group.
double finish_step(AdamW& opt, const std::vector<at::Tensor>& params, double local_loss, double lr,
                   double grad_clip, const Collectives& group);

struct Checkpoint {
  int64_t step = 0;
  TrainCurve curve;
  int64_t evals_without_gain = 0;
};

// A checkpoint directory (params, optimizer state, best params, state.json), replaced atomically.
// `fingerprint` identifies the settings: a checkpoint made with others is ignored (with a warning).
void save_checkpoint(const std::filesystem::path& dir, const Checkpoint& ck,
                     const std::map<std::string, at::Tensor>& params, const AdamW& opt, const TensorMap& best,
                     const std::string& fingerprint);
std::optional<Checkpoint> load_checkpoint(const std::filesystem::path& dir,
                                          std::map<std::string, at::Tensor>& params, AdamW& opt,
                                          TensorMap& best, const std::string& fingerprint);

}  // namespace rr
