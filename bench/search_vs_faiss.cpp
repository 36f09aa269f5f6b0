// Search beside FAISS: exact inner-product top-k queries/s of rr's exact_search vs faiss::IndexFlatIP on the
// same float32 vectors, k = 10/100/1000, 1 and 2 threads, one run; plus the peak resident memory each adds.
// Usage: bench_search_vs_faiss [n=200000] [d=768] [nq=256] [index.h5 dataset-name]  (an rr index adds a real
// corpus; RR_SEARCH_CORPUS_BLOCK=rows overrides rr's corpus block)
#include <faiss/IndexFlat.h>
#include <omp.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "common/threads.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "search/exact_search.h"

namespace {

long status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key));
  return 0;
}

// Best time of 3 runs (s) and the peak RSS (MB) added by the first, cold run (VmHWM reset through
// /proc/self/clear_refs); the cold run also warms both sides up, so neither pays first-touch costs in its
// time.
template <typename Fn>
std::pair<double, double> timed(Fn&& fn) {
  std::ofstream("/proc/self/clear_refs") << "5";
  const long before = status_kb("VmRSS:");
  fn();
  const double added_mb = (status_kb("VmHWM:") - before) / 1024.0;
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return {best, added_mb};
}

void compare(const char* what, const std::vector<float>& xb, int64_t n, int64_t d,
             const std::vector<float>& xq, int64_t nq, const rr::SearchParams& params) {
  std::printf("\n%s: %ld x %ld corpus, %ld queries\n", what, n, d, nq);
  std::printf("%-8s %-7s %12s %12s %8s %12s %12s\n", "threads", "k", "rr q/s", "faiss q/s", "ratio",
              "rr +RSS MB", "faiss +RSS MB");
  faiss::IndexFlatIP index(static_cast<faiss::Index::idx_t>(d));
  index.add(n, xb.data());
  std::vector<int64_t> tie(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) tie[i] = n - i;  // ids in row order
  for (int threads : {1, 2}) {
    rr::set_threads(threads);
    omp_set_num_threads(threads);
    for (int64_t k : {10, 100, 1000}) {
      rr::SearchParams p = params;
      p.k = k;
      auto [rs, rmem] = timed([&] {
        rr::exact_search(xq.data(), nq, {xb.data(), n, d, rr::VectorType::Float32}, 0, tie.data(), p);
      });
      std::vector<float> D(static_cast<size_t>(nq * k));
      std::vector<faiss::Index::idx_t> I(static_cast<size_t>(nq * k));
      auto [fs, fmem] = timed([&] { index.search(nq, xq.data(), k, D.data(), I.data()); });
      std::printf("%-8d %-7ld %12.1f %12.1f %7.2fx %12.1f %12.1f\n", threads, k, nq / rs, nq / fs, fs / rs,
                  rmem, fmem);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 200000, d = argc > 2 ? std::atoll(argv[2]) : 768;
  const int64_t nq = argc > 3 ? std::atoll(argv[3]) : 256;
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<float> xb(static_cast<size_t>(n * d)), xq(static_cast<size_t>(nq * d));
  for (auto& x : xb) x = g(rng);
  for (auto& x : xq) x = g(rng);
  rr::SearchParams defaults;
  if (const char* b = std::getenv("RR_SEARCH_CORPUS_BLOCK")) defaults.corpus_block = std::atoll(b);
  std::printf("rr exact_search: blocks of %ld corpus rows x %ld queries (score buffer %.1f MB)\n",
              defaults.corpus_block, defaults.query_block,
              defaults.corpus_block * defaults.query_block * 4 / 1e6);
  compare("random normal vectors", xb, n, d, xq, nq, defaults);
  if (argc > 5) {
    auto f = rr::h5::File::open(argv[4], false);
    auto [rows, cols] = f.shape(rr::schema::index(argv[5]));
    const at::Tensor stored = f.read_rows(rr::schema::index(argv[5]), 0, rows).to(at::kFloat).contiguous();
    std::vector<float> real(stored.data_ptr<float>(), stored.data_ptr<float>() + stored.numel());
    // Queries: the first documents themselves (a real distribution of vectors).
    std::vector<float> rq(real.begin(), real.begin() + std::min(nq, rows) * cols);
    compare((std::string("encoded corpus ") + argv[5]).c_str(), real, rows, cols, rq, std::min(nq, rows),
            defaults);
  }
  return 0;
}
