// Bench (issue 31): query-encoder throughput of routed batches beside the base alone, in one run. BERT-base
// (12 x 768, random weights), queries of `length` tokens; each routed query uses one of T LoRA experts (r 8
// on query and value, random A and B) in mixed-expert batches (encode_ids with row_model: the base
// projections shared, each row adding its expert's delta). Rows spread uniformly over T = 1, 7, 30, 100, then
// T = 100 with 80% of the rows on one expert; fp32, and bf16 where the device has it. Usage:
// bench_routed_throughput [threads] [queries] [length] [layers] [device: cpu | cuda]
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>

#include "common/runtime_info.h"
#include "common/threads.h"
#include "model/autocast.h"
#include "model/bert_encoder.h"
#include "model/lora.h"
#include "model/lora_expert.h"
#include "model/text_encoder.h"

namespace {

double seconds(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t queries = argc > 2 ? std::atoll(argv[2]) : 256, length = argc > 3 ? std::atoll(argv[3]) : 32;
  const int64_t layers = argc > 4 ? std::atoll(argv[4]) : 12;
  const c10::Device device(argc > 5 ? argv[5] : "cpu");
  rr::set_threads(threads);
  c10::InferenceMode guard;
  const auto info = rr::runtime_info();
  std::printf(
      "runtime: BLAS %s, allocator %s, %d threads, device %s; %lld queries of %lld tokens, %lld layers\n",
      info.blas.c_str(), info.allocator.c_str(), info.threads, device.str().c_str(),
      static_cast<long long>(queries), static_cast<long long>(length), static_cast<long long>(layers));
  rr::BertConfig c;  // BERT-base
  c.num_hidden_layers = layers;
  rr::BertEncoder base = rr::BertEncoder::random(c, 1);
  base.to(device);
  std::vector<std::unique_ptr<rr::LoraExpert>> experts;
  at::Generator gen = at::detail::createCPUGenerator(7);
  for (uint64_t e = 0; e < 100; ++e) {
    rr::LoraAdapter a = rr::LoraAdapter::create(base, rr::LoraConfig{}, 100 + e);
    for (auto& [module, ab] : a.modules) ab.second = at::randn(ab.second.sizes(), gen) * 0.02;  // B != 0
    a.to(device);
    experts.push_back(std::make_unique<rr::LoraExpert>(base, std::move(a)));
  }
  std::mt19937 rng(11);
  rr::TokenIds ids(queries);
  for (auto& row : ids) {
    row = {101};
    for (int64_t t = 2; t < length; ++t) row.push_back(1000 + static_cast<int32_t>(rng() % 20000));
    row.push_back(102);
  }
  struct Case {
    const char* name;
    int experts;
    double skew;  // share of the rows on expert 0 (0: uniform)
  };
  const Case cases[] = {{"T = 1", 1, 0},
                        {"T = 7", 7, 0},
                        {"T = 30", 30, 0},
                        {"T = 100", 100, 0},
                        {"T = 100, 80% on one", 100, 0.8}};
  for (const bool bf16 : {false, true}) {
    if (bf16 && !rr::has_fast_bf16(device)) {
      std::printf("bf16: this device has no fast bf16; skipped\n");
      continue;
    }
    rr::EncodeParams params;
    params.max_length = length;
    params.bf16 = bf16;
    const auto run = [&](const std::vector<const rr::QueryModel*>& models, const std::vector<int32_t>& rows) {
      return seconds([&] { rr::encode_ids(base, ids, params, models, rows); });
    };
    run({}, {});  // warm-up (bf16: packs the weights once)
    const double base_s = std::min(run({}, {}), run({}, {}));
    std::printf("%s base alone: %8.1f queries/s\n", bf16 ? "bf16" : "fp32", queries / base_s);
    for (const Case& k : cases) {
      std::vector<const rr::QueryModel*> models;
      for (int e = 0; e < k.experts; ++e) models.push_back(experts[e].get());
      std::vector<int32_t> rows(queries);
      for (int64_t q = 0; q < queries; ++q)
        rows[q] = k.skew > 0 && static_cast<double>(rng() % 1000) < 1000 * k.skew
                      ? 0
                      : static_cast<int32_t>(rng() % static_cast<uint32_t>(k.experts));
      const double s = std::min(run(models, rows), run(models, rows));
      std::printf("%s routed, %-20s %8.1f queries/s  %.3fx the base\n", bf16 ? "bf16" : "fp32", k.name,
                  queries / s, base_s / s);
    }
  }
  return 0;
}
