// Bench: the expert-training step data-parallel. The same global batch (B queries of T tokens through a
// LoRA'd BERT, their documents as precomputed embeddings, InfoNCE over the whole batch, AdamW) on however
// many ranks mpirun starts: each rank encodes B/P queries, and run_loop sums the gradients in one flat
// all-reduce, as the trainers do. bench/train_parallel.sh runs it at np 1 and 2 and prints the efficiency.
// Usage: mpirun -np P bench_train_parallel [threads=1] [batch=64] [seq=32] [steps=5] [bf16=1]
// Prints one line (rank 0): ranks, threads, precision, seconds per step, and a checksum of the trained LoRA
// weights (the same global batch gives the same weights at every rank count, up to summation order; dropout
// is off, as its masks are drawn per rank).
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/threads.h"
#include "model/autocast.h"
#include "model/bert_encoder.h"
#include "model/lora.h"
#include "mpi/comm.h"
#include "mpi/mpi_collectives.h"
#include "model/adamw.h"
#include "train/info_nce.h"
#include "train/train_loop.h"

int main(int argc, char** argv) {
  rr::mpi::Environment env(argc, argv);
  const rr::mpi::Comm world = rr::mpi::Comm::world();
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int64_t B = argc > 2 ? std::atoll(argv[2]) : 64, T = argc > 3 ? std::atoll(argv[3]) : 32;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 5;
  const bool bf16 = (argc > 5 ? std::atoi(argv[5]) : 1) && rr::has_fast_bf16(c10::Device(c10::kCPU));
  const int P = world.size(), r = world.rank();
  if (B % P) {
    if (r == 0) std::fprintf(stderr, "batch %ld does not split over %d ranks\n", B, P);
    return 2;
  }
  rr::set_threads(threads);
  spdlog::set_level(spdlog::level::warn);  // run_loop's progress lines
  rr::BertConfig c;
  c.vocab_size = 30522;
  const rr::BertEncoder base = rr::BertEncoder::random(c, 1);  // the same seeds on every rank
  rr::LoraAdapter adapter = rr::LoraAdapter::create(base, rr::LoraConfig{}, 2);
  std::map<std::string, at::Tensor> params;
  for (auto& [m, ab] : adapter.modules) {
    params[m + ".A"] = ab.first;
    params[m + ".B"] = ab.second;
  }
  rr::AdamW opt(params, {});
  at::Generator gen = at::detail::createCPUGenerator(3);
  const at::Tensor ids = at::randint(1000, 20000, {B, T}, gen, at::kLong), mask = at::ones({B, T}, at::kLong);
  const at::Tensor docs = at::randn({B, c.hidden_size}, gen);
  const int64_t n = B / P, first = r * n;
  const at::Tensor my_ids = ids.slice(0, first, first + n), my_mask = mask.slice(0, first, first + n);
  const rr::DeltaBatch lora{{&adapter}, {}};
  // Dropout off: its masks are drawn per rank, and the checksum must compare the same arithmetic.
  const rr::ForwardMode mode{false, {}};
  const rr::mpi::MpiCollectives group(world);
  const rr::Autocast autocast(bf16, c10::Device(c10::kCPU));
  const rr::StepFn step = [&](int64_t) {
    const at::Tensor q = base.embed(my_ids, my_mask, &lora, mode);
    const at::Tensor loss = rr::info_nce_share(q, docs, first, B, 0.05);
    loss.backward();
    return loss.item<double>();
  };
  rr::LoopSpec spec;
  spec.label = "bench";
  spec.lr = 1e-4;
  spec.steps = 1;
  rr::run_loop(spec, params, opt, group, step);  // warm-up
  spec.steps = steps;
  world.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  rr::run_loop(spec, params, opt, group, step);
  world.barrier();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double checksum = 0;
  for (const auto& [name, p] : params) checksum += p.to(at::kDouble).abs().sum().item<double>();
  if (r == 0)
    std::printf(
        "np %d x %d threads %s: %d steps of %ld examples (%ld per rank) in %.2f s = %.2f s/step, %.1f "
        "examples/s, LoRA checksum %.6f\n",
        P, threads, bf16 ? "bf16" : "fp32", steps, B, n, s, s / steps, steps * B / s, checksum);
  return 0;
}
