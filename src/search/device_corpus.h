// A corpus shard resident on a torch device (a GPU on a cluster): uploaded once, as stored (float32, float16
// or bfloat16, widened one block at a time on the device), with its tie keys. Per query block, the queries
// go up once; the scores, each block's top-k and the merge into the running top-k stay on the device, and
// only k rows, scores and tie keys per query come back (was: every corpus block uploaded again for every
// query block and every score copied to the host).
//
// Results follow exact_search's rules: rank by score, then by tie key (trec_eval's order, even on equal
// scores at the k-th place), the same products per (query block x corpus block). On the CPU the scores are
// bit-identical to exact_search's fp32 path; on a GPU they are cuBLAS's (an ulp or so from the CPU's).
//
// Device memory: rows x d x v (v = 2 or 4 bytes as stored) + rows x 8 (tie keys) + query_block x
// corpus_block x 4 (one block's scores) + query_block x 2k x 20 (the merge).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "search/exact_search.h"

namespace rr {

class DeviceCorpus {
 public:
  // Copies corpus rows (row-major, as stored) and their tie keys tie[0 .. corpus.rows) to `device`.
  DeviceCorpus(const MatrixView& corpus, const int64_t* tie, const std::string& device);
  ~DeviceCorpus();
  DeviceCorpus(const DeviceCorpus&) = delete;
  DeviceCorpus& operator=(const DeviceCorpus&) = delete;

  int64_t rows() const;
  // The top-k of nq x d float32 queries (host, row-major) against the resident rows, numbered from
  // `first_row` as exact_search does; params.k, corpus_block and query_block as there (params.device and
  // params.bf16 are not read: the device is the corpus's, the products fp32).
  TopK search(const float* queries, int64_t nq, int64_t first_row, const SearchParams& params) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
