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
  // Whether this delta adds to the Linear at `module` (checked before its input rows are sliced).
  virtual bool adapts(const std::string& module) const = 0;
  // The term to add (module adapted), or an undefined tensor when this delta leaves the module alone.
  virtual at::Tensor contribution(const std::string& module, const at::Tensor& x,
                                  const ForwardMode& mode) const = 0;
};

// Delta e's rows of a batch whose rows are sorted by delta: rows [first, first + count).
struct RowSegment {
  int64_t first = 0;
  int64_t count = 0;
};

// The deltas of one batch. The base projections run once for the whole batch; each row adds its own delta.
struct DeltaBatch {
  std::vector<const LinearDelta*> deltas;
  // segments[e]: the rows delta e applies to, contiguous because the batch's rows are sorted by delta (count
  // 0: none). Empty: every delta applies to every row. Host integers: a Linear slices its input and output
  // by them (views, no gather, no scatter, no device round trip).
  std::vector<RowSegment> segments;
};

// A mixed-expert batch: `order` puts the rows in the sequence the forward pass takes them (rows without a
// delta first, then delta 0's, delta 1's, ..., each in their original order), `batch` gives each delta's
// segment of that sequence. Computed once per batch on the host and read by every Linear.
struct GroupedRows {
  std::vector<int64_t> order;  // order[j]: the original index of the batch's j-th row
  DeltaBatch batch;
};

// Groups rows whose row i adds deltas[row_delta[i]] (-1: none). Throws on a delta index out of range.
GroupedRows group_rows_by_delta(std::vector<const LinearDelta*> deltas,
                                const std::vector<int64_t>& row_delta);

}  // namespace rr
