#include "mpi/stages/corpus_index.h"

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/log.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "search/bm25.h"

namespace rr::stages {

SearchParams search_params(const Experiment& exp, const c10::Device& device) {
  SearchParams p;
  p.corpus_block = exp.evaluation.corpus_block;
  p.device = device.str();
  p.bf16 = exp.evaluation.bf16 && device.is_cpu();  // bf16 search is oneDNN's: on CUDA the search is fp32
  return p;
}

mpi::ShardedIndex open_dense_index(const Context& ctx, const std::string& dataset, const CorpusMap& map) {
  const int64_t rows = map.size();
  const SearchParams p = search_params(ctx.exp, ctx.device);
  const SearchLayout layout = search_layout(p.corpus_block, p.bf16, rows, ctx.world.size());
  mpi::ShardedIndex index(ctx.world, layout, rows);
  if (index.groups() > 1)
    spdlog::log(leader_level(ctx.root()),
                "{}: {} rows in {} search units: {} groups of ranks each hold it all", dataset, rows,
                layout.units, index.groups());
  const Shard s = index.shard();
  auto f = h5::File::open(ctx.exp.index_file(), false);
  const int64_t n = f.shape(schema::index(dataset)).first;
  RR_CHECK(n == rows, Input, "{}: index of '{}' has {} rows, the corpus {} (re-run encode)",
           ctx.exp.index_file().string(), dataset, n, rows);
  // As stored: a float16 or bfloat16 index stays so in memory (half the RAM); the search widens one block at
  // a time.
  index.attach(make_dense_index(f.read_rows(schema::index(dataset), s.begin, s.size()).contiguous(),
                                map.tie_keys(s.begin, s.size()), s.begin, p));
  return index;
}

mpi::ShardedIndex open_lexical_index(const Context& ctx, const mpi::ShardedIndex& dense,
                                     const CorpusMap& map) {
  const Shard s = dense.shard();
  std::vector<std::string> docs;
  for (const auto& doc : map.documents(s.begin, s.end)) docs.push_back(doc.encoder_text());
  const auto& ev = ctx.exp.evaluation;
  return dense.with_local(std::make_unique<Bm25Index>(docs, map.tie_keys(s.begin, s.size()),
                                                      Bm25Params{ev.bm25_k1, ev.bm25_b}, s.begin));
}

}  // namespace rr::stages
