// Throughput on one device (a GPU where there is one; `cpu` runs the same code here): rr's encoding engine
// (encode_ids: length-sorted batches under a token budget) in texts/s on a random BERT, fp32 and bf16, beside
// the device's GEMM rate measured in the same run; and DeviceIndex search in queries/s over an N x 768 random
// index stored fp32 and bf16, at k 10 and 1000, its lists checked against exact_search (CPU) on a sample.
// Every timed call ends with its results on the host, so the timings include the device's work.
// Usage: bench_device_throughput DEVICE [texts] [index_rows] [layers]
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "model/autocast.h"
#include "model/bert_encoder.h"
#include "model/text_encoder.h"
#include "search/device_index.h"
#include "search/flat_index.h"

namespace {

// Seconds of one call after a warm-up call (kernels chosen, weights cast or packed).
double seconds(const std::function<void()>& fn) {
  fn();
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double gemm_tflops(const c10::Device& device, at::ScalarType type) {
  const int64_t n = device.is_cpu() ? 1024 : 8192;
  const at::Tensor a = at::randn({n, n}).to(device, type), b = at::randn({n, n}).to(device, type);
  const double s = seconds([&] { at::mm(a, b).sum().item<float>(); });
  return 2.0 * static_cast<double>(n * n * n) / s / 1e12;
}

void encoder(const c10::Device& device, int64_t texts, int64_t layers) {
  rr::BertConfig c;  // BERT-base widths: 768 hidden, 12 heads, 3072 intermediate
  c.num_hidden_layers = layers;
  rr::BertEncoder model = rr::BertEncoder::random(c, 1);
  model.to(device);
  rr::TokenIds ids;
  std::srand(3);
  for (int64_t i = 0; i < texts; ++i) {  // lengths 32..128, as passages truncated at 128 are
    std::vector<int32_t> t(static_cast<size_t>(32 + std::rand() % 97));
    for (auto& x : t) x = 1000 + std::rand() % 20000;
    ids.push_back(std::move(t));
  }
  for (const bool bf16 : {false, true}) {
    if (bf16 && !rr::has_fast_bf16(device)) {
      std::printf("encode bf16: no fast bf16 on %s\n", device.str().c_str());
      continue;
    }
    rr::EncodeParams p;
    p.max_length = 128;
    p.bf16 = bf16;
    const double s = seconds([&] { rr::encode_ids(model, ids, p); });
    std::printf("encode %s: %8.0f texts/s (%ld texts, %ld layers; device GEMM %.1f TFLOP/s)\n",
                bf16 ? "bf16" : "fp32", static_cast<double>(texts) / s, texts, layers,
                gemm_tflops(device, bf16 ? at::kBFloat16 : at::kFloat));
  }
}

void search(const c10::Device& device, int64_t rows) {
  const int64_t d = 768, nq = 1024;
  const at::Tensor corpus = at::randn({rows, d}), queries = at::randn({nq, d});
  std::vector<int64_t> tie(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) tie[static_cast<size_t>(i)] = (i * 7919) % rows;
  rr::SearchParams p;
  p.device = device.str();
  const rr::SearchQueries q{queries.data_ptr<float>(), d, nullptr, nq};
  for (const at::ScalarType stored : {at::kFloat, at::kBFloat16}) {
    const at::Tensor v = corpus.to(stored).contiguous();
    const rr::DeviceIndex index(v, tie, 0, p);
    for (const int64_t k : {10, 1000}) {
      rr::TopK got;
      const double s = seconds([&] { got = index.search(q, k); });
      // The lists of 16 queries against exact_search's on the CPU (the same rows as stored).
      const rr::TopK want = rr::FlatIndex(v, tie, 0, {}).search({q.vectors, d, nullptr, 16}, k);
      int64_t same = 0;
      for (int64_t i = 0; i < 16 * k; ++i)
        same += got.doc[static_cast<size_t>(i)] == want.doc[static_cast<size_t>(i)];
      std::printf("search %s %ld x %ld, k %4ld: %8.0f queries/s (hits equal to the CPU's: %.4f of 16 x k)\n",
                  stored == at::kFloat ? "fp32" : "bf16", rows, d, k, static_cast<double>(nq) / s,
                  static_cast<double>(same) / static_cast<double>(16 * k));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DEVICE [texts] [index_rows] [layers]\n", argv[0]);
    return 2;
  }
  const c10::Device device(argv[1]);
  const int64_t texts = argc > 2 ? std::atoll(argv[2]) : 4096,
                rows = argc > 3 ? std::atoll(argv[3]) : 1000000;
  const int64_t layers = argc > 4 ? std::atoll(argv[4]) : 12;
  c10::InferenceMode guard;
  encoder(device, texts, layers);
  search(device, rows);
  return 0;
}
