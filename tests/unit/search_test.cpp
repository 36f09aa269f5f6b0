#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include <ATen/ATen.h>
#include "common/error.h"
#include "model/autocast.h"
#include "search/bf16_corpus.h"
#include "search/bf16_index.h"
#include "search/bm25.h"
#include "search/device_index.h"
#include "search/exact_search.h"
#include "search/flat_index.h"
#include "search/topk.h"
#include "train/piece_bm25.h"

namespace rr {
namespace {

// Small-integer vectors make every dot product exact in float32, so brute force and BLAS agree bit for bit;
// what is checked is selection and order (ties included) against trec_eval's ordering.
struct Corpus {
  int64_t n, d;
  std::vector<float> x;
  std::vector<std::string> ids;
};

Corpus make_corpus(int64_t n, int64_t d, int levels, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> v(-levels, levels);
  Corpus c{n, d, std::vector<float>(n * d), {}};
  // Small integer values: every dot product is exact in float32, and ties are frequent.
  for (auto& x : c.x) x = static_cast<float>(v(rng));
  for (int64_t i = 0; i < n; ++i) c.ids.push_back("doc" + std::to_string((i * 7919) % n));
  return c;
}

TopK brute_force(const std::vector<float>& q, int64_t nq, const Corpus& c, const std::vector<int64_t>& tie,
                 int64_t k) {
  TopK out(nq, k);
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<std::pair<float, int64_t>> s;
    for (int64_t j = 0; j < c.n; ++j) {
      float dot = 0;
      for (int64_t t = 0; t < c.d; ++t) dot += q[i * c.d + t] * c.x[j * c.d + t];
      s.push_back({dot, j});
    }
    // trec_eval's order, independently of ranks_before and the tie keys: score descending, then the document
    // id string descending.
    std::sort(s.begin(), s.end(), [&](auto& a, auto& b) {
      return a.first != b.first ? a.first > b.first : c.ids[a.second] > c.ids[b.second];
    });
    for (int64_t r = 0; r < std::min<int64_t>(k, c.n); ++r) {
      out.doc[i * k + r] = s[r].second;
      out.score[i * k + r] = s[r].first;
      out.tie[i * k + r] = tie[s[r].second];
    }
  }
  return out;
}

at::Tensor as_tensor(std::vector<float>& x, int64_t n, int64_t d) {
  return at::from_blob(x.data(), {n, d}, at::kFloat);
}

SearchQueries vectors_of(const Corpus& q) {
  return {q.x.data(), q.d, nullptr, q.n};
}

enum class SearchPath { Fp32, Bf16, Resident };

// Small-integer vectors with frequent ties, against brute force, across k and block sizes, through the Index
// interface (make_dense_index picks the kind); with bf16 the values and products are still exact (small
// integers in bf16), so the candidates need no margin. Resident: a DeviceIndex on `device` (ties at the k-th
// place of a block take its full-ranking path).
void expect_brute_force_across_block_sizes(SearchPath path, const std::string& device = "cpu") {
  Corpus c = make_corpus(1000, 16, 2, 1);
  Corpus qs = make_corpus(37, 16, 2, 2);
  auto tie = tie_keys(c.ids);
  for (int64_t k : {1, 10, 100}) {
    TopK ref = brute_force(qs.x, qs.n, c, tie, k);
    for (int64_t block : {7, 128, 5000}) {
      SearchParams p;
      p.corpus_block = block;
      p.query_block = 5;
      p.bf16 = path == SearchPath::Bf16;
      p.bf16_margin = 0;
      p.device = path == SearchPath::Resident ? device : "cpu";
      // make_dense_index gives a DeviceIndex off the CPU only: on the CPU the resident kind is made by hand.
      const auto index = path == SearchPath::Resident && device == "cpu"
                             ? std::make_unique<DeviceIndex>(as_tensor(c.x, c.n, c.d), tie, 0, p)
                             : make_dense_index(as_tensor(c.x, c.n, c.d), tie, 0, p);
      EXPECT_EQ(index->ntotal(), c.n);
      const bool kind = path == SearchPath::Resident
                            ? dynamic_cast<const DeviceIndex*>(index.get()) != nullptr
                        : path == SearchPath::Bf16 ? dynamic_cast<const Bf16Index*>(index.get()) != nullptr
                                                   : dynamic_cast<const FlatIndex*>(index.get()) != nullptr;
      EXPECT_TRUE(kind) << "another index kind for path " << static_cast<int>(path);
      TopK got = index->search(vectors_of(qs), k);
      EXPECT_EQ(got.doc, ref.doc) << "k " << k << " block " << block << " path " << static_cast<int>(path);
      EXPECT_EQ(got.score, ref.score);
      EXPECT_EQ(got.tie, ref.tie);
    }
  }
}

TEST(ExactSearch, MatchesBruteForceWithTiesAcrossBlockSizes) {
  expect_brute_force_across_block_sizes(SearchPath::Fp32);
}

// Scores of 17 values (-8..8) over 6,000 documents: the k-th place always falls in a run of hundreds of equal
// scores. k 100 and 1,500 through each way a block's floor is found (a first block of >= 16 kept rows: group
// maxima; of >= kept: radix selection; smaller: appended whole), a floor raised between compactions (blocks
// follow) and buffers of >= 64 hits (radix selection, the tie keys deciding at the boundary), fp32 and bf16
// (exact here: small integers, margin 0).
void expect_brute_force_with_heavy_ties(bool bf16) {
  Corpus c = make_corpus(6000, 8, 1, 5);
  Corpus qs = make_corpus(9, 8, 1, 6);
  auto tie = tie_keys(c.ids);
  for (int64_t k : {100, 1500}) {
    const TopK ref = brute_force(qs.x, qs.n, c, tie, k);
    for (int64_t block : {6000, 2000, 250}) {
      SearchParams p;
      p.k = k;
      p.corpus_block = block;
      p.query_block = 4;
      p.bf16 = bf16;
      p.bf16_margin = 0;
      const TopK got =
          exact_search(qs.x.data(), qs.n, {c.x.data(), c.n, c.d, VectorType::Float32}, 0, tie.data(), p);
      EXPECT_EQ(got.doc, ref.doc) << "k " << k << " block " << block << " bf16 " << bf16;
      EXPECT_EQ(got.score, ref.score);
      EXPECT_EQ(got.tie, ref.tie);
    }
  }
}

TEST(ExactSearch, HeavyTiesAtLargeKMatchBruteForce) {
  expect_brute_force_with_heavy_ties(false);
}

TEST(ExactSearch, ShardOfMoreThanInt32RowsIsRefused) {
  const float row[4] = {};
  const int64_t tie = 0;
  SearchParams p;
  p.k = 1;
  try {
    exact_search(row, 1, {row, int64_t{1} << 31, 4, VectorType::Float32}, 0, &tie, p);
    ADD_FAILURE() << "a shard of 2^31 rows was searched";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2147483648 rows"), std::string::npos) << e.what();
  }
}

TEST(ExactSearch, ShardsMergedEqualTheWholeSearch) {
  Corpus c = make_corpus(777, 8, 1, 3);
  Corpus qs = make_corpus(9, 8, 1, 4);
  auto tie = tie_keys(c.ids);
  SearchParams p;
  p.k = 50;
  p.corpus_block = 64;
  TopK whole = exact_search(qs.x.data(), qs.n, {c.x.data(), c.n, c.d, VectorType::Float32}, 0, tie.data(), p);
  std::vector<TopK> parts;
  const int64_t cuts[] = {0, 300, 301, 777};
  for (int s = 0; s < 3; ++s) {
    int64_t lo = cuts[s], hi = cuts[s + 1];
    parts.push_back(exact_search(qs.x.data(), qs.n,
                                 {c.x.data() + lo * c.d, hi - lo, c.d, VectorType::Float32}, lo,
                                 tie.data() + lo, p));
  }
  TopK merged = merge_topk(parts, p.k);
  EXPECT_EQ(merged.doc, whole.doc);
  EXPECT_EQ(merged.score, whole.score);
}

TEST(ExactSearch, Float16StorageScoresTheRoundedVectors) {
  Corpus c = make_corpus(300, 8, 3, 5);
  for (auto& x : c.x) x *= 0.37f;
  Corpus qs = make_corpus(4, 8, 3, 6);
  auto tie = tie_keys(c.ids);
  const at::Tensor halves =
      at::from_blob(c.x.data(), {static_cast<int64_t>(c.x.size())}, at::kFloat).to(at::kHalf).contiguous();
  Corpus rounded = c;
  const at::Tensor back = halves.to(at::kFloat).contiguous();
  std::copy(back.data_ptr<float>(), back.data_ptr<float>() + back.numel(), rounded.x.begin());
  SearchParams p;
  p.k = 20;
  TopK a =
      exact_search(qs.x.data(), qs.n, {halves.data_ptr(), c.n, c.d, VectorType::Float16}, 0, tie.data(), p);
  TopK b =
      exact_search(qs.x.data(), qs.n, {rounded.x.data(), c.n, c.d, VectorType::Float32}, 0, tie.data(), p);
  EXPECT_EQ(a.doc, b.doc);
  EXPECT_EQ(a.score, b.score);
}

// Both search paths: k beyond the corpus leaves empty slots; an empty shard gives empty lists.
TEST(ExactSearch, FewerDocumentsThanKLeavesEmptySlots) {
  Corpus c = make_corpus(3, 4, 2, 7);
  auto tie = tie_keys(c.ids);
  const SearchQueries one = SearchQueries{c.x.data(), c.d, nullptr, 1};
  const at::Tensor empty = at::empty({0, c.d}, at::kFloat);
  for (const std::string device : {"cpu-flat", "cpu"}) {
    SearchParams p;
    const auto index = device == "cpu"
                           ? std::unique_ptr<Index>(new DeviceIndex(as_tensor(c.x, c.n, c.d), tie, 0, p))
                           : make_dense_index(as_tensor(c.x, c.n, c.d), tie, 0, p);
    const TopK t = index->search(one, 5);
    EXPECT_EQ(t.count(0), 3);
    EXPECT_EQ(t.doc[3], -1);
  }
  EXPECT_EQ(FlatIndex(empty, {}, 0, {}).search(one, 5).count(0), 0);
  EXPECT_EQ(DeviceIndex(empty, {}, 0, {}).search(one, 5).count(0), 0);
  EXPECT_EQ(FlatIndex(empty, {}, 7, {}).first_row(), 7);
}

TEST(DeviceIndex, MatchesBruteForceWithTiesAcrossBlockSizes) {
  expect_brute_force_across_block_sizes(SearchPath::Resident);
}

TEST(DeviceIndex, OnAGpuMatchesBruteForceWithTies) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device here (this LibTorch or machine has none)";
  expect_brute_force_across_block_sizes(SearchPath::Resident, "cuda");
}

// On the CPU the resident search runs the very products of exact_search: the same bits, for float32 and
// float16 storage, k below and above the block size, and a shard numbered from its offset.
TEST(DeviceIndex, EqualsExactSearchBitForBitOnTheCpu) {
  std::mt19937 rng(21);
  std::normal_distribution<float> g;
  const int64_t n = 2500, d = 48, nq = 19;
  std::vector<float> x(n * d), q(nq * d);
  for (auto& v : x) v = g(rng);
  for (auto& v : q) v = g(rng);
  std::vector<std::string> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back("p" + std::to_string(i));
  const auto tie = tie_keys(ids);
  const at::Tensor halves = at::from_blob(x.data(), {n, d}, at::kFloat).to(at::kHalf).contiguous();
  for (const at::Tensor& stored : {as_tensor(x, n, d), halves}) {
    SearchParams p;
    p.corpus_block = 512;
    p.query_block = 8;
    const DeviceIndex resident(stored, tie, 1000, p);
    EXPECT_EQ(resident.ntotal(), n);
    EXPECT_EQ(resident.memory_bytes(), n * d * stored.element_size() + n * 8);
    const MatrixView corpus = matrix_view(stored);
    for (int64_t k : {10, 700}) {
      p.k = k;
      const TopK want = exact_search(q.data(), nq, corpus, 1000, tie.data(), p);
      const TopK got = resident.search({q.data(), d, nullptr, nq}, k);
      EXPECT_EQ(got.doc, want.doc) << "k " << k;
      EXPECT_EQ(got.score, want.score);
      EXPECT_EQ(got.tie, want.tie);
    }
  }
}

// bf16 search is refused where bf16 is emulated; elsewhere these tests run it.
bool bf16_search_runs() {
  if (has_fast_bf16(c10::Device(c10::kCPU))) return true;
  Corpus c = make_corpus(10, 4, 1, 1);
  SearchParams p;
  p.bf16 = true;
  auto tie = tie_keys(c.ids);
  EXPECT_THROW(exact_search(c.x.data(), 1, {c.x.data(), c.n, c.d, VectorType::Float32}, 0, tie.data(), p),
               Error);
  return false;
}

TEST(Bf16Search, ExactOnIntegerVectorsWithTiesAcrossBlockShapes) {
  if (!bf16_search_runs()) GTEST_SKIP() << "this CPU has no fast bf16: bf16 search is refused (checked)";
  expect_brute_force_across_block_sizes(SearchPath::Bf16);
}

TEST(Bf16Search, HeavyTiesAtLargeKMatchBruteForce) {
  if (!bf16_search_runs()) GTEST_SKIP() << "this CPU has no fast bf16: bf16 search is refused (checked)";
  expect_brute_force_with_heavy_ties(true);
}

// Top-k by the inner product correctly rounded to float (double sums), in trec_eval's order.
TopK rounded_reference(const std::vector<float>& q, int64_t nq, const std::vector<float>& x, int64_t n,
                       int64_t d, const std::vector<int64_t>& tie, int64_t k) {
  TopK out(nq, k);
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<std::pair<float, int64_t>> s;
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0;
      for (int64_t t = 0; t < d; ++t) dot += static_cast<double>(q[i * d + t]) * x[j * d + t];
      s.push_back({static_cast<float>(dot), j});
    }
    std::sort(s.begin(), s.end(),
              [&](auto& a, auto& b) { return ranks_before(a.first, tie[a.second], b.first, tie[b.second]); });
    for (int64_t r = 0; r < std::min(k, n); ++r) {
      out.doc[i * k + r] = s[r].second;
      out.score[i * k + r] = s[r].first;
      out.tie[i * k + r] = tie[s[r].second];
    }
  }
  return out;
}

std::vector<float> gaussian(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(static_cast<size_t>(count));
  for (auto& x : v) x = g(rng);
  return v;
}

TEST(Bf16Search, RescoredTopKIsTheCorrectlyRoundedOneForAnyShardingAndStorage) {
  if (!bf16_search_runs()) GTEST_SKIP() << "this CPU has no fast bf16: bf16 search is refused (checked)";
  const int64_t n = 3000, d = 96, nq = 23;
  const std::vector<float> x = gaussian(n * d, 11), q = gaussian(nq * d, 12);
  std::vector<std::string> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back("d" + std::to_string(i));
  const auto tie = tie_keys(ids);
  for (int64_t k : {10, 100, 1000}) {  // k 1000: 1125 candidates of 3000, the selection buffer compacts
    const TopK ref = rounded_reference(q, nq, x, n, d, tie, k);
    SearchParams p;
    p.k = k;
    p.corpus_block = 512;
    p.query_block = 8;
    p.bf16 = true;
    // One call, and three shards merged, with each shard packed once and searched in two query halves.
    const TopK whole = exact_search(q.data(), nq, {x.data(), n, d, VectorType::Float32}, 0, tie.data(), p);
    EXPECT_EQ(whole.doc, ref.doc) << "k " << k;
    EXPECT_EQ(whole.score, ref.score) << "k " << k;
    std::vector<TopK> shards;
    for (int64_t lo : {0, 1024, 2048}) {
      const int64_t rows = std::min<int64_t>(1024, n - lo);
      const MatrixView shard{x.data() + lo * d, rows, d, VectorType::Float32};
      const Bf16Corpus packed(shard, p.corpus_block, p.query_block);
      TopK a = exact_search(q.data(), 11, shard, lo, tie.data() + lo, p, &packed);
      TopK b = exact_search(q.data() + 11 * d, nq - 11, shard, lo, tie.data() + lo, p, &packed);
      TopK both(nq, k);
      std::copy(a.doc.begin(), a.doc.end(), both.doc.begin());
      std::copy(b.doc.begin(), b.doc.end(), both.doc.begin() + 11 * k);
      std::copy(a.score.begin(), a.score.end(), both.score.begin());
      std::copy(b.score.begin(), b.score.end(), both.score.begin() + 11 * k);
      std::copy(a.tie.begin(), a.tie.end(), both.tie.begin());
      std::copy(b.tie.begin(), b.tie.end(), both.tie.begin() + 11 * k);
      shards.push_back(both);
    }
    const TopK merged = merge_topk(shards, k);
    EXPECT_EQ(merged.doc, ref.doc) << "k " << k;
    EXPECT_EQ(merged.score, ref.score) << "k " << k;
  }
  // float16 and bfloat16 storage: the reference of the rounded vectors, for bf16 and fp32 search alike.
  for (const VectorType type : {VectorType::Float16, VectorType::BFloat16}) {
    const at::Tensor stored = at::from_blob(const_cast<float*>(x.data()), {n * d}, at::kFloat)
                                  .to(type == VectorType::Float16 ? at::kHalf : at::kBFloat16);
    const at::Tensor back = stored.to(at::kFloat).contiguous();
    const std::vector<float> xr(back.data_ptr<float>(), back.data_ptr<float>() + n * d);
    SearchParams p;
    p.k = 10;
    p.bf16 = true;
    const TopK got = exact_search(q.data(), nq, {stored.data_ptr(), n, d, type}, 0, tie.data(), p);
    const TopK ref = rounded_reference(q, nq, xr, n, d, tie, 10);
    EXPECT_EQ(got.doc, ref.doc);
    EXPECT_EQ(got.score, ref.score);
    p.bf16 = false;
    const TopK fp32 = exact_search(q.data(), nq, {stored.data_ptr(), n, d, type}, 0, tie.data(), p);
    const TopK widened = exact_search(q.data(), nq, {xr.data(), n, d, VectorType::Float32}, 0, tie.data(), p);
    EXPECT_EQ(fp32.doc, widened.doc);
    EXPECT_EQ(fp32.score, widened.score);
  }
}

// A shard of more than 2^16 rows and 8 MiB (its candidates are rescored in row order, gathered by row in two
// radix passes), k 1000.
TEST(Bf16Search, RescoredTopKIsTheCorrectlyRoundedOneOnALargeShard) {
  if (!bf16_search_runs()) GTEST_SKIP() << "this CPU has no fast bf16: bf16 search is refused (checked)";
  const int64_t n = 70000, d = 32, nq = 5, k = 1000;
  const std::vector<float> x = gaussian(n * d, 21), q = gaussian(nq * d, 22);
  std::vector<int64_t> tie(static_cast<size_t>(n));
  std::iota(tie.begin(), tie.end(), 0);
  SearchParams p;
  p.k = k;
  p.bf16 = true;
  const TopK got = exact_search(q.data(), nq, {x.data(), n, d, VectorType::Float32}, 0, tie.data(), p);
  const TopK ref = rounded_reference(q, nq, x, n, d, tie, k);
  EXPECT_EQ(got.doc, ref.doc);
  EXPECT_EQ(got.score, ref.score);
}

TEST(Bf16Search, PackedCorpusOfAnotherShapeIsRefused) {
  if (!bf16_search_runs()) GTEST_SKIP() << "this CPU has no fast bf16: bf16 search is refused (checked)";
  Corpus c = make_corpus(100, 8, 2, 9);
  auto tie = tie_keys(c.ids);
  const MatrixView view{c.x.data(), c.n, c.d, VectorType::Float32};
  const Bf16Corpus packed(view, 32, 4);
  SearchParams p;
  p.bf16 = true;
  p.corpus_block = 64;  // packed with 32
  EXPECT_THROW(exact_search(c.x.data(), 2, view, 0, tie.data(), p, &packed), Error);
}

TEST(TieKeys, OrderLikeStrcmp) {
  auto k = tie_keys({"b", "a", "ab", "B"});
  EXPECT_GT(k[0], k[2]);  // "b" > "ab"
  EXPECT_GT(k[2], k[1]);  // "ab" > "a"
  EXPECT_GT(k[1], k[3]);  // "a" > "B" (bytes)
}

}  // namespace
}  // namespace rr

namespace rr {
namespace {

// BM25 over shards, each with the corpus-wide N, total length and query-term document frequencies (what
// evaluate sums over the ranks), merged: the very scores and order of one index over the whole corpus.
TEST(Bm25, ShardsWithCorpusStatisticsEqualOneIndex) {
  std::mt19937 rng(5);
  const std::vector<std::string> words{"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"};
  std::vector<std::string> docs, ids, queries;
  for (int i = 0; i < 157; ++i) {
    std::string d;
    for (int w = 0, n = 1 + static_cast<int>(rng() % 9); w < n; ++w) d += words[rng() % words.size()] + " ";
    docs.push_back(d);
    ids.push_back("doc" + std::to_string((i * 37) % 157));
  }
  for (int i = 0; i < 12; ++i) queries.push_back(words[rng() % 8] + " " + words[rng() % 8] + " unknownword");
  const auto tie = tie_keys(ids);
  const int64_t k = 150;
  const SearchQueries texts{nullptr, 0, queries.data(), static_cast<int64_t>(queries.size())};
  const TopK whole = Bm25Index(docs, tie).search(texts, k);
  const std::vector<int64_t> cuts{0, 50, 51, 157};  // uneven, one single-document shard
  std::vector<Bm25Index> shards;
  for (size_t s = 0; s + 1 < cuts.size(); ++s)
    shards.emplace_back(std::vector<std::string>(docs.begin() + cuts[s], docs.begin() + cuts[s + 1]),
                        std::vector<int64_t>(tie.begin() + cuts[s], tie.begin() + cuts[s + 1]), Bm25Params{},
                        cuts[s]);
  // The shards' statistics summed (what ShardedIndex does over the ranks of a group): each shard contributes
  // its own vector, and every shard receives the sum.
  std::vector<std::vector<double>> own(shards.size());
  for (size_t s = 0; s < shards.size(); ++s)
    shards[s].share_statistics(texts, [&](std::vector<double>& v) { own[s] = v; });
  std::vector<double> sum(own[0].size(), 0.0);
  for (const auto& v : own)
    for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i];
  EXPECT_EQ(sum[0], 157);  // N
  std::vector<TopK> parts;
  for (auto& shard : shards) {
    shard.share_statistics(texts, [&](std::vector<double>& v) { v = sum; });
    EXPECT_TRUE(shard.lexical());
    parts.push_back(shard.search(texts, k));
  }
  const TopK merged = merge_topk(parts, k);
  EXPECT_EQ(merged.doc, whole.doc);
  EXPECT_EQ(merged.score, whole.score);                              // bit-identical
  EXPECT_GT(std::count(whole.doc.begin(), whole.doc.end(), -1), 0);  // some queries match fewer than k
}

}  // namespace
}  // namespace rr

namespace rr {
namespace {

// The base trainer's BM25 over piece ids ranks first what the word BM25 (tested against Xapian and an
// independent implementation) ranks first, when each piece is written as a word.
TEST(PieceBm25, TopDocumentEqualsWordBm25) {
  std::mt19937 rng(11);
  std::vector<std::vector<int32_t>> pieces;
  std::vector<std::string> texts, ids;
  for (int i = 0; i < 400; ++i) {
    std::vector<int32_t> d;
    std::string text;
    for (int w = 0, n = 3 + static_cast<int>(rng() % 60); w < n; ++w) {
      const int32_t id = static_cast<int32_t>(std::min(rng() % 300, rng() % 300));  // frequent low ids
      d.push_back(id);
      text += "w" + std::to_string(id) + " ";
    }
    pieces.push_back(d);
    texts.push_back(text);
    ids.push_back("d" + std::to_string(1000 + i));  // tie keys in row order
  }
  const PieceBm25 bm25(pieces);
  const Bm25Index words(texts, tie_keys(ids));
  int compared = 0, own = 0;
  for (int q = 0; q < 300; ++q) {
    const auto& src = pieces[rng() % pieces.size()];
    const size_t len = std::min<size_t>(src.size(), 2 + rng() % 8), begin = rng() % (src.size() - len + 1);
    const std::vector<int32_t> span(src.begin() + begin, src.begin() + begin + len);
    std::string text;
    for (int32_t t : span) text += "w" + std::to_string(t) + " ";
    const TopK top = words.search({nullptr, 0, &text, 1}, 2);
    if (top.count(0) == 2 && top.score[0] - top.score[1] < 1e-4f * top.score[0]) continue;  // near tie
    ++compared;
    EXPECT_EQ(bm25.best(span), top.doc[0]) << "query " << q;
    own += &pieces[top.doc[0]] == &src;
  }
  EXPECT_GT(compared, 250);
  EXPECT_LT(own, compared);  // BM25 does not always rank the span's own document first
  EXPECT_EQ(bm25.best({100000}), -1);
}

}  // namespace
}  // namespace rr
