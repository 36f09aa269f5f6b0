#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <numeric>
#include <random>

#include "common/error.h"
#include "mpi/comm.h"
#include "mpi/distributed_topk.h"
#include "mpi/sharded_index.h"
#include "mpi/tensor_comm.h"
#include "search/bm25.h"
#include "search/exact_search.h"
#include "search/flat_index.h"
#include "search/search_layout.h"

namespace rr::mpi {
namespace {

TEST(Comm, VariableLengthGathersAndBroadcasts) {
  auto w = Comm::world();
  std::vector<int64_t> mine(static_cast<size_t>(w.rank()), w.rank());  // rank r sends r copies of r
  std::vector<int64_t> counts;
  auto all = w.allgatherv(mine, &counts);
  std::vector<int64_t> expected;
  for (int r = 0; r < w.size(); ++r) expected.insert(expected.end(), static_cast<size_t>(r), r);
  EXPECT_EQ(all, expected);
  EXPECT_EQ(counts.size(), static_cast<size_t>(w.size()));
  auto at_root = w.gatherv(mine, 0);
  EXPECT_EQ(at_root, w.is_root() ? expected : std::vector<int64_t>{});
  std::vector<std::string> strs = {"rank" + std::to_string(w.rank()), std::string(w.rank(), 'x'), ""};
  auto gathered = w.allgather_strings(strs);
  ASSERT_EQ(gathered.size(), 3u * w.size());
  EXPECT_EQ(gathered[3 * (w.size() - 1)], "rank" + std::to_string(w.size() - 1));
  EXPECT_EQ(w.bcast_string(w.is_root() ? "from root" : "", 0), "from root");
  EXPECT_EQ(w.bcast_value(w.rank() * 10 + 7, w.size() - 1), (w.size() - 1) * 10 + 7);
  double sum = w.rank() + 0.5;
  w.allreduce_sum_double(&sum, 1);
  EXPECT_DOUBLE_EQ(sum, w.size() * (w.size() - 1) / 2.0 + 0.5 * w.size());
}

TEST(Comm, SplitMakesSubCommunicators) {
  auto w = Comm::world();
  auto half = w.split(w.rank() % 2, w.rank());
  EXPECT_EQ(half.size(), (w.size() + 1 - w.rank() % 2) / 2);
  EXPECT_EQ(half.rank(), w.rank() / 2);
  int64_t v = 1;
  half.allreduce_sum_int64(&v, 1);
  EXPECT_EQ(v, half.size());
}

TEST(Comm, TensorAllReduce) {
  auto w = Comm::world();
  at::Tensor t = at::ones({3, 4}).mul_(static_cast<double>(w.rank() + 1));
  allreduce_sum(w, t);
  EXPECT_FLOAT_EQ(t[2][3].item<float>(), w.size() * (w.size() + 1) / 2.0f);
}

TEST(Comm, TensorAndNamedTensorBroadcasts) {
  auto w = Comm::world();
  const int root = w.size() - 1;
  at::Tensor t = w.rank() == root ? at::arange(12, at::kInt).reshape({3, 4}) : at::Tensor();
  bcast(w, t, root);
  EXPECT_TRUE(at::equal(t, at::arange(12, at::kInt).reshape({3, 4})));
  std::map<std::string, at::Tensor> state;
  if (w.is_root()) state = {{"W", at::ones({2, 5}, at::kDouble) * 3}, {"labels", at::arange(4, at::kLong)}};
  bcast(w, state);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_TRUE(at::equal(state.at("W"), at::ones({2, 5}, at::kDouble) * 3));
  EXPECT_TRUE(at::equal(state.at("labels"), at::arange(4, at::kLong)));
}

// An error on one rank becomes the same error on every rank (kind and message of the lowest failing rank);
// success on every rank throws nothing.
TEST(Comm, CollectiveTryAgreesOnTheFirstError) {
  auto w = Comm::world();
  EXPECT_NO_THROW(collective_try(w, [] {}));
  const int failing = w.size() - 1;
  try {
    collective_try(w, [&] {
      if (w.rank() == failing) RR_THROW(Input, "bad line on rank {}", failing);
      if (w.rank() == 0 && w.size() > 2) throw std::runtime_error("not the lowest failing rank's error");
    });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(e.agreed());
    if (w.size() > 2) {
      EXPECT_EQ(e.kind(), ErrorKind::Runtime);
      EXPECT_STREQ(e.what(), "not the lowest failing rank's error");
    } else {
      EXPECT_EQ(e.kind(), ErrorKind::Input);
      EXPECT_EQ(std::string(e.what()), fmt::format("bad line on rank {}", failing));
    }
  }
}

TEST(Shard, BalancedContiguousAndAligned) {
  for (int64_t n : {0, 1, 5, 100, 1001}) {
    for (int ranks : {1, 2, 3, 4, 7}) {
      for (int64_t align : {1, 16}) {
        int64_t next = 0, largest = 0, smallest = n;
        for (int r = 0; r < ranks; ++r) {
          Shard s = shard_of(n, r, ranks, align);
          EXPECT_EQ(s.begin, next);
          EXPECT_TRUE(s.begin % align == 0 || s.begin == n);
          next = s.end;
          largest = std::max(largest, s.size());
          smallest = std::min(smallest, s.size());
        }
        EXPECT_EQ(next, n);
        EXPECT_LT(largest - smallest, 2 * align);  // whole units differ by one; the last may be partial
      }
    }
  }
}

// The distributed top-k on any root equals the single-process top-k exactly, ties included.
TEST(DistributedTopK, EqualsSingleProcessSearch) {
  auto w = Comm::world();
  const int64_t n = 2003, d = 12, nq = 17, k = 100, block = 64;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> v(-1, 1);  // tiny integers: exact dot products, many ties
  std::vector<float> corpus(n * d), queries(nq * d);
  for (auto& x : corpus) x = static_cast<float>(v(rng));
  for (auto& x : queries) x = static_cast<float>(v(rng));
  std::vector<std::string> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(std::to_string((i * 31) % n));
  auto tie = tie_keys(ids);
  SearchParams p;
  p.k = k;
  p.corpus_block = block;
  TopK whole = exact_search(queries.data(), nq, {corpus.data(), n, d, VectorType::Float32}, 0, tie.data(), p);
  Shard s = shard_of(n, w.rank(), w.size(), block);
  TopK local =
      exact_search(queries.data(), nq, {corpus.data() + s.begin * d, s.size(), d, VectorType::Float32},
                   s.begin, tie.data() + s.begin, p);
  // Every rank in turn as the root (score merges each query block at its owner).
  for (int root = 0; root < w.size(); ++root) {
    TopK merged = gather_topk(w, local, root);
    if (w.rank() == root) {
      EXPECT_EQ(merged.doc, whole.doc) << "root " << root;
      EXPECT_EQ(merged.score, whole.score) << "root " << root;
    } else {
      EXPECT_EQ(merged.nq, 0);
    }
  }
}

// A ShardedIndex over the world equals one index of the whole corpus, ties included: dense in one group
// (corpus blocks >= ranks) and in search groups (one corpus block for every rank count), BM25 beside it with
// corpus statistics summed within each group, and search_own (each rank its own query block, score's rounds).
TEST(ShardedIndex, EqualsOneIndexOfTheWholeCorpus) {
  auto w = Comm::world();
  const int64_t n = 600, d = 8, nq = 700, k = 40;  // nq: three query blocks, the last partial
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> v(-1, 1);
  std::vector<float> corpus(n * d), queries(nq * d);
  for (auto& x : corpus) x = static_cast<float>(v(rng));
  for (auto& x : queries) x = static_cast<float>(v(rng));
  std::vector<std::string> ids, docs, texts;
  const std::vector<std::string> words{"alpha", "beta", "gamma", "delta", "eps"};
  for (int64_t i = 0; i < n; ++i) {
    ids.push_back(std::to_string((i * 31) % n));
    docs.push_back(words[rng() % 5] + " " + words[rng() % 5] + " " + words[rng() % 5]);
  }
  for (int64_t i = 0; i < nq; ++i) texts.push_back(words[rng() % 5] + " " + words[rng() % 5]);
  const auto tie = tie_keys(ids);
  const at::Tensor all = at::from_blob(corpus.data(), {n, d}, at::kFloat);
  const SearchQueries q{queries.data(), d, texts.data(), nq};
  for (const int64_t block : {int64_t{64}, n}) {  // 10 units; or one unit: P groups of one rank
    SearchParams p;
    p.corpus_block = block;
    const TopK whole = FlatIndex(all, tie, 0, p).search(q, k);
    const SearchLayout layout = search_layout(block, false, n, w.size());
    ShardedIndex index(w, layout, n);
    EXPECT_EQ(index.groups(), block == n ? w.size() : 1);
    const Shard s = index.shard();
    const std::vector<int64_t> my_tie(tie.begin() + s.begin, tie.begin() + s.end);
    index.attach(std::make_unique<FlatIndex>(all.narrow(0, s.begin, s.size()), my_tie, s.begin, p));
    // evaluate's search: every rank receives its share of the queries' lists, [r n / P, (r + 1) n / P).
    const auto owned = index.search_owned(q, k);
    const int64_t first = nq * w.rank() / w.size(), count = nq * (w.rank() + 1) / w.size() - first;
    ASSERT_EQ(static_cast<int64_t>(owned.rows.size()), count);
    EXPECT_EQ(owned.rows.empty() ? first : owned.rows.front(), first);
    EXPECT_EQ(owned.top.doc, whole.rows(first, count).doc) << "block " << block;
    EXPECT_EQ(owned.top.score, whole.rows(first, count).score) << "block " << block;
    // score's rounds: rank r brings block r of the round (rows [256 r, 256 (r + 1)) of the queries).
    const int64_t lo = std::min(nq, w.rank() * kQueryBlock), hi = std::min(nq, lo + kQueryBlock);
    const TopK own = index.search_own({queries.data() + lo * d, d, nullptr, hi - lo}, k);
    const TopK want = whole.rows(lo, hi - lo);
    EXPECT_EQ(own.doc, want.doc) << "block " << block << " rank " << w.rank();
    EXPECT_EQ(own.score, want.score);
    // BM25 over the same shards: the statistics of one copy of the corpus, summed within each group.
    std::vector<std::string> my_docs(docs.begin() + s.begin, docs.begin() + s.end);
    ShardedIndex lexical =
        index.with_local(std::make_unique<Bm25Index>(my_docs, my_tie, Bm25Params{}, s.begin));
    const TopK words_whole = Bm25Index(docs, tie).search(q, k).rows(first, count);
    const auto words_owned = lexical.search_owned(q, k);
    EXPECT_EQ(words_owned.top.doc, words_whole.doc) << "block " << block;
    EXPECT_EQ(words_owned.top.score, words_whole.score) << "block " << block;
  }
}

}  // namespace
}  // namespace rr::mpi
