// Search beside FAISS: exact inner-product top-k queries/s of rr's exact_search, fp32 and bf16 + exact
// rescoring, vs faiss::IndexFlatIP (fp32) and faiss::IndexScalarQuantizer fp16 on the same float32 vectors,
// k = 10/100/1000, 1 and 2 threads, one run; and how many queries each rr list equals the correctly rounded
// top-k exactly.
// Usage: bench_search_vs_faiss [n=100000] [d=768] [nq=256] [index.h5 dataset-name]  (an rr index adds a real
// corpus; RR_SEARCH_CORPUS_BLOCK=rows overrides rr's corpus block)
#include <faiss/IndexFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <omp.h>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mm.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "common/threads.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "search/bf16_corpus.h"
#include "search/exact_search.h"

namespace {

// Best time of at least `reps` runs, and of as many as fit in half a second (a small corpus's search takes
// milliseconds: three runs left its figures to the noise of 2 shared cores), after one cold run (which warms
// both sides up, so neither pays first-touch costs).
template <typename Fn>
double timed(Fn&& fn, int reps) {
  fn();
  double best = 1e30, total = 0;
  for (int r = 0; r < reps || (total < 0.5 && r < 500); ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, t);
    total += t;
  }
  return best;
}

// The correctly rounded top-k (products summed in double, rounded to float once; trec_eval's order with the
// bench's ids), against which bf16 search is checked: nq x k.
rr::TopK rounded_reference(const std::vector<float>& xb, int64_t n, int64_t d, const std::vector<float>& xq,
                           int64_t nq, const std::vector<int64_t>& tie, int64_t k) {
  const at::Tensor q = at::from_blob(const_cast<float*>(xq.data()), {nq, d}, at::kFloat).to(at::kDouble);
  rr::TopK out(nq, k);
  std::vector<int64_t> order(static_cast<size_t>(n));
  const at::Tensor c = at::from_blob(const_cast<float*>(xb.data()), {n, d}, at::kFloat).to(at::kDouble);
  const at::Tensor s = at::mm(q, c.t()).to(at::kFloat).contiguous();
  const float* sc = s.data_ptr<float>();
  for (int64_t i = 0; i < nq; ++i) {
    const float* row = sc + i * n;
    for (int64_t j = 0; j < n; ++j) order[j] = j;
    const int64_t kk = std::min(k, n);
    std::partial_sort(order.begin(), order.begin() + kk, order.end(),
                      [&](int64_t a, int64_t b) { return rr::ranks_before(row[a], tie[a], row[b], tie[b]); });
    for (int64_t r = 0; r < kk; ++r) {
      out.doc[i * k + r] = order[r];
      out.score[i * k + r] = row[order[r]];
    }
  }
  return out;
}

// Queries whose list equals `ref` (ids, and scores too when `scores`).
int64_t equal_lists(const rr::TopK& got, const rr::TopK& ref, bool scores) {
  int64_t same = 0;
  for (int64_t i = 0; i < got.nq; ++i) {
    bool eq = true;
    for (int64_t r = 0; r < got.k && eq; ++r) {
      eq = got.doc[i * got.k + r] == ref.doc[i * ref.k + r] &&
           (!scores || got.score[i * got.k + r] == ref.score[i * ref.k + r]);
    }
    same += eq;
  }
  return same;
}

void compare(const char* what, const std::vector<float>& xb, int64_t n, int64_t d,
             const std::vector<float>& xq, int64_t nq, const rr::SearchParams& params) {
  std::printf("\n%s: %ld x %ld corpus, %ld queries\n", what, n, d, nq);
  faiss::IndexFlatIP flat(static_cast<faiss::Index::idx_t>(d));
  flat.add(n, xb.data());
  faiss::IndexScalarQuantizer sq(static_cast<faiss::Index::idx_t>(d), faiss::ScalarQuantizer::QT_fp16,
                                 faiss::METRIC_INNER_PRODUCT);
  sq.train(n, xb.data());
  sq.add(n, xb.data());
  std::vector<int64_t> tie(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) tie[i] = n - i;  // ids in row order
  const rr::MatrixView corpus{xb.data(), n, d, rr::VectorType::Float32};
  auto t0 = std::chrono::steady_clock::now();
  const rr::Bf16Corpus packed(corpus, params.corpus_block, std::min(params.query_block, nq));
  std::printf("bf16 packing: %.2f s once per shard, %.1f MB (n x d x 2 B)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), n * d * 2 / 1e6);
  std::printf("%-3s %-5s %9s %9s %9s %9s %8s %8s %8s %10s %10s %9s\n", "thr", "k", "fp32 q/s", "bf16 q/s",
              "flat q/s", "sq16 q/s", "bf16/flt", "bf16/sq", "bf16/f32", "bf16 exact", "fp32 exact",
              "ids=fp32");
  for (int64_t k : {10, 100, 1000}) {
    const rr::TopK ref = rounded_reference(xb, n, d, xq, nq, tie, k);
    for (int threads : {1, 2}) {
      rr::set_threads(threads);
      omp_set_num_threads(threads);
      rr::SearchParams p = params;
      p.k = k;
      rr::TopK fp32, bf16;
      const double t32 = timed([&] { fp32 = rr::exact_search(xq.data(), nq, corpus, 0, tie.data(), p); }, 3);
      p.bf16 = true;
      const double t16 =
          timed([&] { bf16 = rr::exact_search(xq.data(), nq, corpus, 0, tie.data(), p, &packed); }, 3);
      std::vector<float> D(static_cast<size_t>(nq * k));
      std::vector<faiss::Index::idx_t> I(static_cast<size_t>(nq * k));
      const double tflat = timed([&] { flat.search(nq, xq.data(), k, D.data(), I.data()); }, 3);
      // The scalar quantizer scans without a GEMM (~50x slower): timed on the first 32 queries.
      const int64_t nsq = std::min<int64_t>(nq, 32);
      const double tsq = timed([&] { sq.search(nsq, xq.data(), k, D.data(), I.data()); }, 1) * nq / nsq;
      std::printf(
          "%-3d %-5ld %9.1f %9.1f %9.1f %9.1f %7.2fx %7.2fx %7.2fx %5ld/%-4ld %5ld/%-4ld %5ld/%-4ld\n",
          threads, k, nq / t32, nq / t16, nq / tflat, nq / tsq, tflat / t16, tsq / t16, t32 / t16,
          equal_lists(bf16, ref, true), nq, equal_lists(fp32, ref, true), nq, equal_lists(bf16, fp32, false),
          nq);
    }
  }
  std::printf(
      "exact: queries whose top-k ids and scores equal the correctly rounded top-k (double sums); "
      "ids=fp32: queries whose bf16 top-k ids equal rr fp32's (sgemm)\n");
  // How many extra candidates bf16 search needs: exact lists per margin (the default is marked *).
  std::printf("bf16 margin study (exact lists of %ld):", nq);
  for (int64_t k : {10, 100, 1000}) {
    const rr::TopK ref = rounded_reference(xb, n, d, xq, nq, tie, k);
    std::printf("\n  k %-5ld", k);
    for (int64_t margin : {int64_t{0}, k / 64, k / 16, k / 8, k / 4, k / 2, k}) {
      rr::SearchParams p = params;
      p.k = k;
      p.bf16 = true;
      p.bf16_margin = margin;
      const rr::TopK got = rr::exact_search(xq.data(), nq, corpus, 0, tie.data(), p, &packed);
      std::printf("  m %ld%s: %ld", margin, margin == rr::default_bf16_margin(k) ? "*" : "",
                  equal_lists(got, ref, true));
    }
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 100000, d = argc > 2 ? std::atoll(argv[2]) : 768;
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
