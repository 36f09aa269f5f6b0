// A corpus shard resident on a torch device (a GPU on a cluster): uploaded once, as stored (float32, float16
// or bfloat16, widened one block at a time on the device), with its tie keys. Per query block, the queries
// go up once; the scores, each block's top-k and the merge into the running top-k stay on the device, and
// only k rows, scores and tie keys per query come back (was: every corpus block uploaded again for every
// query block and every score copied to the host).
//
// Results follow exact_search's rules: rank by score, then by tie key (trec_eval's order, even on equal
// scores at the k-th place), the same products per (query block x corpus block). Each hit's score and tie key
// make one 64-bit key (score bits, order-preserving, above the tie key), so every selection is a top-k of
// distinct keys, exact without any decision on the host: per query block, no transfer until its k hits come
// back. On the CPU the scores are bit-identical to exact_search's fp32 path; on a GPU they are cuBLAS's (an
// ulp or so from the CPU's).
//
// Device memory: rows x d x v (v = 2 or 4 bytes as stored) + rows x 8 (tie keys) + query_block x
// corpus_block x 12 (one block's scores and keys) + query_block x 2k x 20 (the merge).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "search/index.h"

namespace rr {

class DeviceIndex final : public Index {
 public:
  // Copies `vectors` (rows x d on the CPU, as stored) and their tie keys to params.device; params:
  // corpus_block and query_block as for exact_search (params.bf16 is not read: the products are fp32).
  DeviceIndex(const at::Tensor& vectors, std::vector<int64_t> tie, int64_t first_row,
              const SearchParams& params);
  ~DeviceIndex() override;
  DeviceIndex(const DeviceIndex&) = delete;
  DeviceIndex& operator=(const DeviceIndex&) = delete;

  int64_t ntotal() const override;
  int64_t first_row() const override;
  // The top-k of the queries' vectors (host, float32) against the resident rows.
  TopK search(const SearchQueries& queries, int64_t k) const override;
  int64_t memory_bytes() const override;  // device memory

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
