// A dataset's corpus index as the stages search it: the vectors of index.h5 spread over the ranks
// (mpi/sharded_index.h), each rank reading only its shard's rows, and BM25 over the same shards' texts.
#pragma once

#include <string>

#include "h5data/corpus_map.h"
#include "mpi/sharded_index.h"
#include "mpi/stages/context.h"

namespace rr::stages {

// Search settings of the experiment on `device`: corpus block, device, precision (bf16 search on the CPU
// only; on CUDA the products are fp32). k and query_block are left default.
SearchParams search_params(const Experiment& exp, const c10::Device& device);

// The dense index of `dataset` (index.h5, written by encode): this rank's rows as stored (float32, float16
// or bfloat16; bf16 search packs them once), on the context's device. Collective.
mpi::ShardedIndex open_dense_index(const Context& ctx, const std::string& dataset, const CorpusMap& map);

// BM25 over the same rows as `dense` (each rank indexes its shard's documents, read through the map).
mpi::ShardedIndex open_lexical_index(const Context& ctx, const mpi::ShardedIndex& dense,
                                     const CorpusMap& map);

}  // namespace rr::stages
