#include "train/info_nce.h"
#include "model/invariant_ops.h"

#include <ATen/ATen.h>

namespace rr {

at::Tensor info_nce_share(const at::Tensor& q, const at::Tensor& keys, int64_t first, int64_t global_batch,
                          double temperature) {
  at::Tensor logits = invariant_matmul(q, keys.t()) / temperature;
  at::Tensor labels =
      at::arange(first, first + q.size(0), at::TensorOptions().dtype(at::kLong).device(q.device()));
  return at::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum) / static_cast<double>(global_batch);
}

double gathered_info_nce_backward(const at::Tensor& q_in, const at::Tensor& k_in, double temperature,
                                  bool normalize, const Collectives& group) {
  at::Tensor q = q_in, k = k_in;
  if (normalize) {
    q = q / q.norm(2, -1, true).clamp_min(1e-6);
    k = k / k.norm(2, -1, true).clamp_min(1e-6);
  }
  const int64_t n = q.size(0), first = n * group.rank();
  // Keys of every rank; their gradient is summed over ranks and handed back to the encoding rank.
  at::Tensor all_k = group.allgather_rows(k.detach()).set_requires_grad(true);
  at::Tensor loss = info_nce_share(q, all_k, first, n * group.size(), temperature);
  loss.backward();
  at::Tensor key_grad = all_k.grad();
  group.allreduce_sum(key_grad);
  k.backward(key_grad.slice(0, first, first + n));
  return loss.item<double>();
}

}  // namespace rr
