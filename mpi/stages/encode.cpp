// encode: the frozen base encodes each corpus once into index.h5 (/index/<ds>/corpus). The blocks of every
// corpus still to do are dealt to the ranks together (by size, so one-block corpora keep every rank busy) and
// written collectively in place. Completed blocks are recorded, so a killed run resumes where it stopped; the
// blocks are global units, so the vectors do not depend on the number of ranks or on who encodes them.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <numeric>

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

// A corpus to encode: its map and which of its blocks are done.
struct PendingCorpus {
  std::string name;
  CorpusMap map;
  std::vector<int32_t> done;  // per block
};

// One block of one corpus.
struct BlockUnit {
  size_t corpus = 0;
  int64_t block = 0, cost = 0;  // cost: deal_blocks's estimate
};

// The blocks not done of every corpus dealt to the ranks together, each rank's in order: the costliest first,
// each to the rank with the least work so far, so that corpora of one or two blocks keep every rank busy. A
// block's cost: its records' bytes, each capped at what max_doc_length tokens take (~6 bytes a token). A
// block's vectors do not depend on who encodes it, so neither do the results on P. Every rank computes the
// same deal.
std::vector<std::vector<BlockUnit>> deal_blocks(const std::vector<PendingCorpus>& corpora, int64_t block,
                                                int64_t max_doc_length, int ranks) {
  std::vector<BlockUnit> units;
  for (size_t c = 0; c < corpora.size(); ++c)
    for (int64_t b = 0; b < static_cast<int64_t>(corpora[c].done.size()); ++b)
      if (!corpora[c].done[b]) {
        const int64_t lo = b * block, hi = std::min(corpora[c].map.size(), lo + block);
        units.push_back({c, b, corpora[c].map.encoding_cost(lo, hi, 6 * max_doc_length)});
      }
  std::stable_sort(units.begin(), units.end(), [](const auto& a, const auto& b) { return a.cost > b.cost; });
  std::vector<std::vector<BlockUnit>> dealt(static_cast<size_t>(ranks));
  std::vector<int64_t> load(static_cast<size_t>(ranks), 0);
  for (const auto& u : units) {
    const auto r = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    dealt[r].push_back(u);
    load[r] += u.cost;
  }
  return dealt;
}

// Encodes this rank's blocks, in rounds every rank takes part in: in round r each rank encodes its r-th
// block, then every rank writes into each corpus that has a block in the round (collective I/O: HDF5
// aggregates the ranks' blocks into large contiguous writes; a rank with no block of that corpus writes zero
// rows).
void encode_blocks(const Context& ctx, const Base& base, h5::File& index,
                   const std::vector<PendingCorpus>& corpora) {
  const int64_t block = ctx.exp.evaluation.corpus_block, hidden = base.model.config().hidden_size;
  const auto dealt = deal_blocks(corpora, block, ctx.exp.evaluation.max_doc_length, ctx.world.size());
  const auto& mine = dealt[static_cast<size_t>(ctx.world.rank())];
  size_t rounds = 0;
  int64_t total_rows = 0;
  for (const auto& d : dealt) rounds = std::max(rounds, d.size());
  const auto rows_of = [&](const BlockUnit& u) {
    return std::min(corpora[u.corpus].map.size(), (u.block + 1) * block) - u.block * block;
  };
  for (const auto& u : mine) total_rows += rows_of(u);
  spdlog::log(leader_level(ctx.root()),
              "encode: {} blocks of {} corpora dealt to {} ranks; mine: {} ({} documents)",
              std::accumulate(dealt.begin(), dealt.end(), size_t{0},
                              [](size_t n, const auto& d) { return n + d.size(); }),
              corpora.size(), dealt.size(), mine.size(), total_rows);
  Progress progress("encode", total_rows, "docs", 10.0, ctx.root());
  for (size_t r = 0; r < rounds; ++r) {
    at::Tensor vectors = at::empty({0, hidden}, at::kFloat);
    const BlockUnit* unit = r < mine.size() ? &mine[r] : nullptr;
    if (unit) {
      const CorpusMap& map = corpora[unit->corpus].map;
      std::vector<std::string> texts;
      for (const auto& doc : map.documents(unit->block * block, unit->block * block + rows_of(*unit)))
        texts.push_back(doc.encoder_text());
      const TokenIds ids = tokenize_all(base.tokenizer, texts, ctx.exp.evaluation.max_doc_length);
      vectors = encode_ids(base.model, ids, doc_params(ctx.exp), {}, {}, &progress);
    }
    for (size_t c = 0; c < corpora.size(); ++c) {
      const bool in_round = std::any_of(dealt.begin(), dealt.end(),
                                        [&](const auto& d) { return r < d.size() && d[r].corpus == c; });
      if (!in_round) continue;
      const bool own = unit && unit->corpus == c;
      const std::string& name = corpora[c].name;
      index.write_rows(schema::index(name), own ? unit->block * block : 0,
                       own ? vectors : at::empty({0, hidden}, at::kFloat), /*collective=*/true);
      // After its vectors: a block recorded done is written.
      index.write_rows(schema::index_blocks_done(name), own ? unit->block : 0,
                       own ? at::ones({1}, at::kInt) : at::empty({0}, at::kInt), /*collective=*/true);
    }
    if (unit) fault_point("encode-block");
    index.flush();  // collective: every rank is at the same round
    mpi::stop_point(ctx.world, "encode");
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
  std::vector<PendingCorpus> pending;
  for (const auto& cfg : ctx.exp.datasets) {
    const std::string group = schema::index_group(cfg.name), ds = schema::index(cfg.name);
    const std::string fp = index_fingerprint(ctx.exp, cfg);
    CorpusMap map = open_corpus_map(ctx, cfg);  // each rank reads only its blocks' documents
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
    const at::Tensor done = index.read(schema::index_blocks_done(cfg.name)).contiguous();
    pending.push_back(
        {cfg.name, std::move(map),
         std::vector<int32_t>(done.data_ptr<int32_t>(), done.data_ptr<int32_t>() + done.numel())});
  }
  if (base) encode_blocks(ctx, *base, index, pending);
  for (const auto& c : pending)
    index.set_attr(schema::index_group(c.name), schema::kAttrComplete, int64_t{1});
  index.flush();
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
