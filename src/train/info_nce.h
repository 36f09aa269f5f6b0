// InfoNCE, the contrastive loss of every trainer: each query's positive is one key, every other key of the
// global batch a negative. The loss of a data-parallel group is split into per-rank shares that sum to the
// batch mean, so gradients summed over the group equal one process's on the whole batch.
#pragma once

#include <ATen/core/Tensor.h>

#include "train/collectives.h"

namespace rr {

// This rank's share of the batch-mean loss (a differentiable scalar): queries q (n x d) against keys
// (K x d, every key of the global batch), query i's positive is key first + i; the rank's summed loss over
// global_batch.
at::Tensor info_nce_share(const at::Tensor& q, const at::Tensor& keys, int64_t first, int64_t global_batch,
                          double temperature);

// The symmetric case where every rank encodes its own slice of queries and keys (n x d each, the same n on
// every rank; keys of all ranks are the negatives): L2-normalises both when `normalize`, runs the backward
// pass through q and k (the gathered keys' gradients summed over the group and handed back to the rank that
// encoded them), and returns this rank's share of the batch-mean loss.
double gathered_info_nce_backward(const at::Tensor& q, const at::Tensor& k, double temperature,
                                  bool normalize, const Collectives& group);

}  // namespace rr
