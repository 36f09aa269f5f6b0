// A search index, faiss-style: one interface for every kind of corpus index rr searches. An index holds rows
// [first_row(), first_row() + ntotal()) of a corpus (the whole corpus, or one rank's shard of it:
// mpi/sharded_index.h spreads them) and returns, per query, the top-k rows in trec_eval's order (score
// descending, then tie key descending: search/topk.h), numbered globally.
//
//   FlatIndex    exact inner products in fp32 over vectors stored in fp32, fp16 or bf16 (flat_index.h)
//   Bf16Index    bf16 products for candidates, rescored exactly: the correctly rounded top-k (bf16_index.h)
//   DeviceIndex  the shard resident on a torch device (a GPU), top-k merged there (device_index.h)
//   Bm25Index    BM25 over the documents' texts (bm25.h)
//
// make_dense_index() picks the dense kind from the search settings.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "search/exact_search.h"

namespace rr {

// Queries as indexes read them: dense indexes their vectors, a lexical index their texts.
struct SearchQueries {
  const float* vectors = nullptr;  // n x dim float32, row-major, host memory
  int64_t dim = 0;
  const std::string* texts = nullptr;  // n texts
  int64_t n = 0;
  // Queries [lo, hi) of these.
  SearchQueries rows(int64_t lo, int64_t hi) const;
};

// Adds a vector of statistics over the shards of one corpus copy, in place (same result on every shard).
using SumOverShards = std::function<void(std::vector<double>&)>;

class Index {
 public:
  virtual ~Index() = default;
  virtual int64_t ntotal() const = 0;     // rows held
  virtual int64_t first_row() const = 0;  // the global row of the first one (a shard's offset)
  // The top-k rows of each query (k > 0), trec_eval's order; fewer when fewer rows match.
  virtual TopK search(const SearchQueries& queries, int64_t k) const = 0;
  // Bytes held for searching (host, or device for a DeviceIndex).
  virtual int64_t memory_bytes() const = 0;
  // True when the index reads the queries' texts, not their vectors.
  virtual bool lexical() const { return false; }
  // An index whose scores need statistics of the whole corpus (BM25's N, total length and document
  // frequencies) computes its shard's for these queries, has them summed over the shards and keeps the sums
  // for the next searches of these queries. Others do nothing.
  virtual void share_statistics(const SearchQueries& queries, const SumOverShards& sum) {}
};

// The dense index of `vectors` (rows x d as stored: float32, float16 or bfloat16, on the CPU) for `params`:
// a DeviceIndex when params.device is not "cpu", else a Bf16Index when params.bf16, else a FlatIndex. tie:
// the rows' tie keys; first_row: the global row of row 0. params.k is not used.
std::unique_ptr<Index> make_dense_index(at::Tensor vectors, std::vector<int64_t> tie, int64_t first_row,
                                        const SearchParams& params);

}  // namespace rr
