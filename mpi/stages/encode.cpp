// encode: the frozen base encodes each corpus once into index.h5 (/index/<ds>/corpus), every rank a
// contiguous shard of whole blocks, written collectively into one dataset. Completed blocks are recorded, so
// a killed run resumes where it stopped; the blocks are global units, so the vectors do not depend on the
// number of ranks.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/fault_injection.h"
#include "common/log.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/parallel_h5.h"
#include "mpi/stages/datasets.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/models.h"
#include "mpi/stages/plan.h"
#include "mpi/stages/stage.h"
#include "search/search_layout.h"

namespace rr::stages {

namespace {

// Opens index.h5 for every rank (MPI-IO), or creates it when it is missing (or --force). An unreadable one is
// an error and stays as it is: it may hold hours of encoding that a disk hiccup only hides.
h5::File open_index(const Context& ctx, bool force) {
  const auto path = ctx.exp.index_file();
  const bool exists = ctx.world.bcast_value<int>(!force && std::filesystem::exists(path)) != 0;
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root() || !exists) return;
    try {
      h5::File::open(path, false);
    } catch (const Error& e) {
      RR_THROW(Input,
               "{} is unreadable ({}); it was left as it is: move it away, or run encode --force to "
               "encode every corpus again",
               path.string(), e.what());
    }
  });
  auto access = mpi::mpio_file_access(ctx.world);
  if (exists) return h5::File::open(path, true, &access);
  std::filesystem::create_directories(path.parent_path());
  return h5::File::create(path, &access);
}

// Encodes this rank's blocks of one dataset that are not done yet, in rounds every rank takes part in.
void encode_blocks(const Context& ctx, const Base& base, h5::File& index, const std::string& name,
                   const CorpusMap& map) {
  const std::string ds = schema::index(name), done_path = schema::index_blocks_done(name);
  const int64_t block = ctx.exp.evaluation.corpus_block, n = map.size();
  const at::Tensor done = index.read(done_path).contiguous();
  const Shard shard = shard_of(n, ctx.world.rank(), ctx.world.size(), block);
  std::vector<int64_t> mine;
  for (int64_t b = shard.begin / block; b * block < shard.end; ++b)
    if (!done.data_ptr<int32_t>()[b]) mine.push_back(b);
  const int64_t todo = static_cast<int64_t>(mine.size());
  int64_t rounds = todo, total_rows = 0;
  ctx.world.allreduce_max_int64(&rounds, 1);
  for (int64_t b : mine) total_rows += std::min(n, (b + 1) * block) - b * block;
  spdlog::log(leader_level(ctx.root()), "encode {}: {} of my {} blocks to do ({} documents)", name, todo,
              (shard.size() + block - 1) / block, total_rows);
  Progress progress("encode " + name, total_rows, "docs", 10.0, ctx.root());
  const int64_t hidden = base.model.config().hidden_size;
  for (int64_t r = 0; r < rounds; ++r) {
    // Every rank writes in every round (collective I/O: HDF5 aggregates the ranks' blocks into large
    // contiguous writes); a rank whose blocks are done writes zero rows.
    at::Tensor vectors = at::empty({0, hidden}, at::kFloat), flag = at::empty({0}, at::kInt);
    int64_t b = 0;
    if (r < todo) {
      b = mine[r];
      const int64_t lo = b * block, hi = std::min(n, lo + block);
      std::vector<std::string> texts;
      for (const auto& doc : map.documents(lo, hi)) texts.push_back(doc.encoder_text());
      const TokenIds ids = tokenize_all(base.tokenizer, texts, ctx.exp.evaluation.max_doc_length);
      vectors = encode_ids(base.model, ids, doc_params(ctx.exp), {}, {}, &progress);
      flag = at::ones({1}, at::kInt);
    }
    index.write_rows(ds, b * block, vectors, /*collective=*/true);
    index.write_rows(done_path, b, flag, /*collective=*/true);  // after its vectors: a block done is written
    if (r < todo) fault_point("encode-block");
    index.flush();  // collective: every rank is at the same round
    mpi::stop_point(ctx.world, "encode " + name);
  }
  progress.finish();
}

// Corpus ids and the link to index.h5 in results.h5 (rank 0).
void record_corpora(const Context& ctx) {
  h5::ResultsUpdate up(ctx.exp.results_file(), {"/datasets"});
  std::vector<std::string> objects;
  for (const auto& cfg : ctx.exp.datasets) objects.push_back(schema::corpus_ids(cfg.name));
  auto& ids = up.apart("corpus_ids", objects);
  for (const auto& cfg : ctx.exp.datasets)
    ids.copy_from(h5::File::open(ctx.exp.output() / "corpora" / (cfg.name + ".h5"), false), "/ids",
                  schema::corpus_ids(cfg.name));
  up.file().external_link(schema::kIndexRoot, schema::kIndexFile, schema::kIndexRoot);
  up.commit();
}

void encode(Context& ctx, const StageOptions& options) {
  std::unique_ptr<Base> base;
  h5::File index = open_index(ctx, options.force);
  const int64_t block = ctx.exp.evaluation.corpus_block;
  for (const auto& cfg : ctx.exp.datasets) {
    const std::string group = schema::index_group(cfg.name), ds = schema::index(cfg.name);
    const std::string fp = index_fingerprint(ctx.exp, cfg);
    const CorpusMap map = open_corpus_map(ctx, cfg);  // each rank reads only its blocks' documents
    const int64_t n = map.size();
    // Reuse what exists only when it was made with the same settings (every rank decides alike).
    const bool reuse = !options.force && index.exists(ds) &&
                       index.has_attr(group, schema::kAttrFingerprint) &&
                       index.attr_string(group, schema::kAttrFingerprint) == fp &&
                       index.exists(schema::index_blocks_done(cfg.name)) && index.shape(ds).first == n;
    if (reuse && index.has_attr(group, schema::kAttrComplete)) {
      if (ctx.root()) spdlog::info("encode: {} is up to date ({} documents)", cfg.name, n);
      continue;
    }
    if (!base) base = std::make_unique<Base>(load_base(ctx));
    if (!reuse) {
      index.remove(group);
      index.create_matrix(ds, n, base->model.config().hidden_size, ctx.exp.evaluation.index_type(),
                          std::min<int64_t>(block, 4096));
      index.write(schema::index_blocks_done(cfg.name), at::zeros({(n + block - 1) / block}, at::kInt));
      index.set_attr(group, schema::kAttrFingerprint, fp);
      index.flush();
    }
    encode_blocks(ctx, *base, index, cfg.name, map);
    index.set_attr(group, schema::kAttrComplete, int64_t{1});
    index.flush();
  }
  index.close();
  mpi::collective_try(ctx.world, [&] {
    if (ctx.root()) record_corpora(ctx);
  });
}

std::string encode_fingerprint(const Experiment& exp) {
  return fingerprint_of({{"encode", index_fingerprints(exp)}});
}

// One block's documents and embeddings (the corpus map, whose build holds the N ids on rank 0, is made by
// prepare).
double encode_peak(const PlanInputs& in) {
  double most = 0;
  for (const auto& c : in.counts) {
    const double N = static_cast<double>(c.documents);
    const double block = std::min(N, static_cast<double>(in.exp.evaluation.corpus_block));
    most = std::max(most, PlanInputs::text_bytes(c) * block / std::max(N, 1.0) + block * in.d * 4);
  }
  return in.model_bytes() + most;
}

}  // namespace

StageDefinition encode_stage() {
  return {"encode every corpus once with the base into the sharded index (index.h5)",
          encode_fingerprint,
          encode,
          UnitKind::IndexBlock,
          "the base model, each corpus (through its corpus map)",
          "M + text(C) + C × d × 4 (one block's documents and vectors)",
          encode_peak};
}

}  // namespace rr::stages
