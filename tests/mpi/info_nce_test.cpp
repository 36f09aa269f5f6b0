// InfoNCE with keys gathered over the ranks (the base trainer's step) against PyTorch autograd on the whole
// batch (tests/fixtures/training/make_training_fixtures.py): each rank holds its slice of the queries and
// keys; the loss shares summed over ranks and the per-rank gradients put together equal the reference.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "mpi/comm.h"
#include "mpi/mpi_collectives.h"
#include "train/info_nce.h"

namespace rr::mpi {
namespace {

at::Tensor rows_of(const nlohmann::json& values, int64_t n, int64_t d, int64_t lo, int64_t hi) {
  return at::tensor(values.get<std::vector<double>>(), at::kDouble)
      .reshape({n, d})
      .slice(0, lo, hi)
      .to(at::kFloat);
}

TEST(InfoNce, GatheredKeysMatchAutogradOnAnyRankCount) {
  std::ifstream in(std::string(RR_SOURCE_DIR) + "/tests/fixtures/training/training_reference.json");
  const nlohmann::json ref = nlohmann::json::parse(in);
  auto world = Comm::world();
  const mpi::MpiCollectives group(world);
  for (const auto& c : ref["info_nce"]) {
    const int64_t n = c["rows"], d = c["dim"];
    if (n % world.size() != 0) GTEST_SKIP() << n << " rows do not split over " << world.size() << " ranks";
    const int64_t per = n / world.size(), lo = per * world.rank(), hi = lo + per;
    at::Tensor q = rows_of(c["q"], n, d, lo, hi).set_requires_grad(true);
    at::Tensor k = rows_of(c["k"], n, d, lo, hi).set_requires_grad(true);
    double loss = gathered_info_nce_backward(q, k, c["temperature"], c["normalize"], group);
    world.allreduce_sum_double(&loss, 1);
    EXPECT_NEAR(loss, c["loss"].get<double>(), 1e-5 * std::max(1.0, std::abs(c["loss"].get<double>())));
    const at::Tensor grad_q = group.allgather_rows(q.grad()), grad_k = group.allgather_rows(k.grad());
    EXPECT_LT((grad_q - rows_of(c["grad_q"], n, d, 0, n)).abs().max().item<double>(), 1e-5);
    EXPECT_LT((grad_k - rows_of(c["grad_k"], n, d, 0, n)).abs().max().item<double>(), 1e-5);
  }
}

}  // namespace
}  // namespace rr::mpi
