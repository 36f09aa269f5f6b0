// Bench: the expert-training step (LoRA on the query side, frozen base, documents as precomputed embeddings,
// InfoNCE over in-batch negatives, AdamW) in examples/s. Its peer is pytorch_train_step.py on the same shapes
// and threads; both run fp32, then bf16 autocast where the CPU has fast bf16 (as rr's trainers with
// "bf16": true). Usage: bench_train_step [threads=2] [batch=64] [seq=32] [steps=20] [layers hidden heads
// inter]
#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/threads.h"
#include "model/autocast.h"
#include "model/bert_encoder.h"
#include "model/lora.h"
#include "model/adamw.h"

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t B = argc > 2 ? std::atoll(argv[2]) : 64, T = argc > 3 ? std::atoll(argv[3]) : 32;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 20;
  rr::set_threads(threads);
  rr::BertConfig c;
  c.vocab_size = 30522;
  if (argc > 8) {
    c.num_hidden_layers = std::atoll(argv[5]);
    c.hidden_size = std::atoll(argv[6]);
    c.num_attention_heads = std::atoll(argv[7]);
    c.intermediate_size = std::atoll(argv[8]);
  }
  rr::BertEncoder base = rr::BertEncoder::random(c, 1);
  rr::LoraAdapter adapter = rr::LoraAdapter::create(base, rr::LoraConfig{}, 2);
  std::map<std::string, at::Tensor> params;
  for (auto& [m, ab] : adapter.modules) {
    params[m + ".A"] = ab.first.set_requires_grad(true);
    params[m + ".B"] = ab.second.set_requires_grad(true);
  }
  rr::AdamW opt(params, {});
  at::Generator gen = at::detail::createCPUGenerator(3);
  at::Tensor ids = at::randint(1000, 20000, {B, T}, gen, at::kLong), mask = at::ones({B, T}, at::kLong);
  at::Tensor docs = at::randn({B, c.hidden_size}, gen);
  at::Tensor labels = at::arange(B, at::kLong);
  const rr::DeltaBatch lora{{&adapter}, {}};
  const rr::ForwardMode mode{true, gen};
  auto step = [&] {
    at::Tensor q = base.embed(ids, mask, &lora, mode);
    at::Tensor loss = at::cross_entropy_loss(at::matmul(q, docs.t()) / 0.05, labels);
    opt.zero_grad();
    loss.backward();
    opt.step(1e-4);
  };
  for (const bool bf16 : {false, true}) {
    if (bf16 && !rr::has_fast_bf16(c10::Device(c10::kCPU))) break;
    const rr::Autocast autocast(bf16, c10::Device(c10::kCPU));
    step();  // warm-up
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) step();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("rr %s: %d steps of %ld examples (seq %ld, %ld layers x %ld) in %.2f s = %.1f examples/s\n",
                bf16 ? "bf16" : "fp32", steps, B, T, c.num_hidden_layers, c.hidden_size, s, steps * B / s);
  }
  return 0;
}
