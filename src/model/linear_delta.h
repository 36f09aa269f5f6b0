// How a BERT forward pass runs (dropout, its random numbers) and what it adds to the base's Linears: the
// hook through which LoRA experts, and batches whose rows use different experts, change the encoder
// without the encoder knowing about LoRA.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace rr {

struct ForwardMode {
  bool training = false;  // dropout on (the model's own and the deltas')
  at::Generator rng;      // dropout's random numbers; needed when training with dropout
};

// Inverted dropout drawn from mode.rng (what at::dropout computes on the CPU from the global generator).
at::Tensor dropout(const at::Tensor& x, double p, const ForwardMode& mode);

// A generator for `device` seeded with `seed` (a fresh one, independent of torch's global generators).
at::Generator make_generator(const c10::Device& device, uint64_t seed);

// A per-Linear addition: contribution(module, x) is added to the output of the Linear at `module`
// (e.g. "encoder.layer.0.attention.self.query") for its input x.
class LinearDelta {
 public:
  virtual ~LinearDelta() = default;
  // The term to add, or an undefined tensor when this delta leaves the module alone.
  virtual at::Tensor contribution(const std::string& module, const at::Tensor& x,
                                  const ForwardMode& mode) const = 0;
};

// The deltas of one batch. The base projections run once for the whole batch; each row adds its own delta.
struct DeltaBatch {
  std::vector<const LinearDelta*> deltas;
  // delta_rows[e]: the batch rows delta e applies to (int64, ascending, on the encoder's device; undefined:
  // none). Empty: every delta applies to every row.
  std::vector<at::Tensor> delta_rows;
};

// The batch whose row i adds deltas[row_delta[i]] (-1: none): rows grouped by delta on the host and moved to
// `device` in one transfer, so the forward pass makes no per-module, per-delta host round trip.
DeltaBatch mixed_delta_batch(std::vector<const LinearDelta*> deltas, const std::vector<int64_t>& row_delta,
                             const c10::Device& device);

}  // namespace rr
