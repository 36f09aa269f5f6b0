// Bench (a): the encoder forward on BERT-base shapes as achieved GFLOP/s, beside an sgemm peak measured in
// the same run; where the CPU has fast bf16 (AVX512_BF16/AMX), also the forward under bf16 autocast (rr's
// precision bf16: packed weights, fused epilogues) beside a bf16 GEMM peak (the best of ATen's product and
// the packed one). Usage: bench_encoder_flops [threads] [batch] [seq] [layers]
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/runtime_info.h"
#include "common/threads.h"
#include "model/autocast.h"
#include "model/bert_encoder.h"
#include "model/bf16_dense.h"

namespace {

template <typename Fn>
double best_seconds(Fn&& fn, int reps) {
  fn();  // warm-up
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t B = argc > 2 ? std::atoll(argv[2]) : 32, T = argc > 3 ? std::atoll(argv[3]) : 128;
  const int64_t layers = argc > 4 ? std::atoll(argv[4]) : 12;
  rr::set_threads(threads);
  c10::InferenceMode guard;
  auto info = rr::runtime_info();
  std::printf("runtime: BLAS %s, allocator %s, %d threads\n", info.blas.c_str(), info.allocator.c_str(),
              info.threads);

  rr::BertConfig c;  // BERT-base: 768 hidden, 12 heads, 3072 intermediate
  // The sgemm peak is the best of a large square product and the encoder's own FFN shape
  // ((B*T) x H times H x I), each through at::mm (the BLAS) and at::linear (what the encoder calls).
  auto gflops = [&](int64_t m, int64_t k, int64_t n, at::ScalarType type = at::kFloat) {
    at::Tensor a = at::randn({m, k}).to(type), b = at::randn({k, n}).to(type), bt = b.t().contiguous();
    const double mm_s = best_seconds([&] { at::mm(a, b); }, 5);
    const double linear_s = best_seconds([&] { at::linear(a, bt); }, 5);
    return 2.0 * static_cast<double>(m * k * n) / std::min(mm_s, linear_s) / 1e9;
  };
  const double square = gflops(2048, 2048, 2048);
  const double ffn = gflops(B * T, c.hidden_size, c.intermediate_size);
  const double peak = std::max(square, ffn);

  c.num_hidden_layers = layers;
  rr::BertEncoder model = rr::BertEncoder::random(c, 1);
  at::Tensor ids = at::randint(1000, 20000, {B, T}, at::kLong), mask = at::ones({B, T}, at::kLong);
  const double fwd_s = best_seconds([&] { model.forward(ids, mask); }, 3);
  const double H = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
  const double bt = static_cast<double>(B * T);
  // Per layer: Q, K, V, output projections (4 x 2 B T H^2), FFN (2 x 2 B T H I), attention (2 x 2 B T^2 H).
  const double flops =
      static_cast<double>(layers) * (8 * bt * H * H + 4 * bt * H * I + 4 * bt * static_cast<double>(T) * H);
  const double achieved = flops / fwd_s / 1e9;
  std::printf(
      "sgemm 2048^3: %.1f GFLOP/s, sgemm %ldx%ldx%ld (FFN shape): %.1f GFLOP/s -> peak %8.1f GFLOP/s\n",
      square, B * T, c.hidden_size, c.intermediate_size, ffn, peak);
  std::printf("encoder forward B=%ld T=%ld, %ld layers: %8.1f GFLOP/s (%.0f tokens/s)\n", B, T, layers,
              achieved, bt / fwd_s);
  std::printf("ratio encoder / sgemm peak: %.2f (target >= 0.80)\n", achieved / peak);

  const c10::Device cpu(c10::kCPU);
  if (!rr::has_fast_bf16(cpu)) {
    std::printf("bf16: this CPU has no AVX512_BF16 or AMX-BF16 (rr refuses precision bf16 here)\n");
    return 0;
  }
  // The bf16 peak adds the product rr's encoder runs: weights packed once (Bf16Dense), bf16 out.
  auto packed_gflops = [&](int64_t m, int64_t k, int64_t n) {
    const rr::Bf16Dense dense({at::randn({n, k})}, {at::zeros({n})});
    const at::Tensor a = at::randn({m, k}).to(at::kBFloat16), out = at::empty({m, n}, a.options());
    const double s = best_seconds([&] { dense.forward(a, rr::Bf16Dense::Epilogue::None, out); }, 5);
    return 2.0 * static_cast<double>(m * k * n) / s / 1e9;
  };
  const double bf16_plain = std::max(gflops(2048, 2048, 2048, at::kBFloat16),
                                     gflops(B * T, c.hidden_size, c.intermediate_size, at::kBFloat16));
  const double bf16_packed =
      std::max(packed_gflops(2048, 2048, 2048), packed_gflops(B * T, c.hidden_size, c.intermediate_size));
  const double bf16_peak = std::max(bf16_plain, bf16_packed);
  // The first bf16 forward packs the weights (Bf16Dense); on 1 x 8 tokens that is nearly all of its time.
  const auto pack_start = std::chrono::steady_clock::now();
  {
    rr::Autocast autocast(true, cpu);
    model.forward(ids.narrow(0, 0, 1).narrow(1, 0, 8), mask.narrow(0, 0, 1).narrow(1, 0, 8));
  }
  const double pack_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - pack_start).count();
  const double bf16_s = best_seconds(
      [&] {
        rr::Autocast autocast(true, cpu);
        model.forward(ids, mask);
      },
      5);  // as many tries as each GEMM peak measurement
  const double bf16_achieved = flops / bf16_s / 1e9;
  std::printf(
      "bf16 GEMM (2048^3 and FFN shape): at::mm/at::linear %.1f GFLOP/s, packed weights %.1f GFLOP/s -> peak "
      "%8.1f GFLOP/s\n",
      bf16_plain, bf16_packed, bf16_peak);
  std::printf("encoder forward bf16 (precision bf16):   %8.1f GFLOP/s (%.0f tokens/s)\n", bf16_achieved,
              bt / bf16_s);
  std::printf("packing the weights for bf16 (the first bf16 forward, 1 x 8 tokens): %.2f s\n", pack_s);
  std::printf(
      "ratio bf16 encoder / bf16 GEMM peak: %.2f (target >= 0.80); bf16 / fp32 encoder: %.2fx "
      "(target >= 2.0x)\n",
      bf16_achieved / bf16_peak, fwd_s / bf16_s);
  return 0;
}
