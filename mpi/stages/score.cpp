// score: per-instance scores — nDCG@10 of every training query of every training dataset under every
// expert (query by base + expert, documents by the base index).
//
// Streamed (docs/scaling.md): the training queries go through in rounds; a round is every rank's next query
// block of kQueryBlock rows (block b belongs to rank b % P), gathered so that every rank searches its own
// index shard for the whole round (a small corpus: every rank of the block's search group,
// mpi/sharded_index.h, searches that group's blocks). Each block's top-11 lists then merge at the block's
// owner, which computes its queries' nDCG@10; only the Q values of a column reach rank 0. Per rank: the
// shard, one round of query vectors (kQueryBlock x P x H) and its top-11 lists, never O(Q x H) nor O(Q x T).
//
// Units: each (dataset, expert) column, and each dataset's base embeddings, is committed to its own file
// under <output_dir>/units/score/<dataset>/ as soon as it is done; a killed run redoes at most one unit, and
// a unit whose inputs are unchanged is kept (adding an expert scores only its own columns). results.h5 is
// assembled from the units at the end.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "common/error.h"
#include "common/fault_injection.h"
#include "common/log.h"
#include "eval/dense_eval.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/query_blocks.h"
#include "mpi/stages/corpus_index.h"
#include "mpi/stages/datasets.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/ledger.h"
#include "mpi/stages/models.h"
#include "mpi/stages/plan.h"

namespace rr::stages {

namespace {

constexpr int64_t kScoreDepth = 11;  // nDCG@10 after dropping the query's own document

std::filesystem::path score_unit(const Experiment& exp, const std::string& ds, const std::string& unit) {
  return Ledger(exp).unit("score", ds, unit);
}

// A column of an earlier run's results.h5 with the same inputs becomes a unit (rank 0): runs made before
// units existed are not scored again.
bool adopt_from_results(const Experiment& exp, const std::string& object, const std::string& fp, int64_t rows,
                        const std::filesystem::path& unit) {
  if (unit_fingerprint(exp.results_file(), object, rows) != fp) return false;
  auto u = unit_file(unit);
  u.file().copy_from(h5::File::open(exp.results_file(), false), object);
  u.commit();
  return true;
}

bool score_unit_done(const Context& ctx, const std::filesystem::path& unit, const std::string& object,
                     const std::string& fp, int64_t rows, bool force) {
  return Ledger(ctx.exp).unit_done(ctx, unit, object, fp, rows, force,
                                   [&] { return adopt_from_results(ctx.exp, object, fp, rows, unit); });
}

// The training queries in rounds: round r holds blocks [rP, rP + P), this rank's block is rP + rank (so a
// rank's blocks are those b with b % P = rank: the only queries it holds).
struct Rounds {
  int64_t queries = 0, ranks = 1;
  int64_t blocks() const { return (queries + kQueryBlock - 1) / kQueryBlock; }
  int64_t count() const { return (blocks() + ranks - 1) / ranks; }
  // Rows [lo, hi) of block b (empty past the end).
  std::pair<int64_t, int64_t> block_rows(int64_t b) const {
    return {std::min(queries, b * kQueryBlock), std::min(queries, (b + 1) * kQueryBlock)};
  }
};

// This rank's block of the round, embedded by `encoder` (0 rows when it has none or it is committed).
at::Tensor embed_my_block(const Context& ctx, const Base& base, const BertEncoder& encoder,
                          const Rounds& rounds, int64_t block, const TrainingBlocks& d) {
  const auto [lo, hi] = rounds.block_rows(block);
  if (lo == hi) return at::empty({0, encoder.config().hidden_size}, at::kFloat);
  TokenIds tokens;
  for (int64_t i = lo; i < hi; ++i)
    tokens.push_back(base.tokenizer.encode(d.queries.at(i).text, ctx.exp.evaluation.max_query_length));
  return encode_ids(encoder, tokens, query_params(ctx.exp)).to(at::kCPU).contiguous();
}

// nDCG@10 of queries [lo, hi) from their global top-11 lists (only the hits' ids are read from the map).
std::vector<double> block_ndcg(const Context& ctx, const TrainingBlocks& d, const CorpusMap& map,
                               const TopK& top, int64_t lo, int64_t hi) {
  static const MeasureSet kNdcg10({"ndcg_cut.10"});
  std::vector<std::string> qids;
  for (int64_t i = lo; i < hi; ++i) qids.push_back(d.queries.at(i).id);
  const HitIds hits = hit_ids(top, map);
  const Evaluation ev = evaluate_run(
      kNdcg10, topk_to_run(hits.top, qids, hits.ids, 10, ctx.exp.evaluation.ignore_identical_ids), d.qrels);
  std::map<std::string, double> by_id;
  for (size_t i = 0; i < ev.query_ids.size(); ++i) by_id[ev.query_ids[i]] = ev.values[i][0];
  std::vector<double> out;
  for (const auto& q : qids) out.push_back(by_id[q]);
  return out;
}

// A column's rounds committed so far: <column unit>.rounds/blocks-<first>.h5, the values of the blocks one
// round computed (/blocks [n] int64, /values [rows] float64 with attr fingerprint). A stop or a kill loses at
// most the round under way, one block per rank; the column's unit is assembled from them once every block is
// in. A rerun on another rank count computes exactly the blocks no round holds. (Rank 0 only.)
class ColumnRounds {
 public:
  ColumnRounds(const std::filesystem::path& column_unit, std::string fp, const Rounds& rounds)
      : dir_(column_unit.string() + ".rounds"), fp_(std::move(fp)), rounds_(rounds) {}

  // Per block, whether a committed round holds it (its values kept for column()).
  std::vector<char> committed() {
    std::vector<char> done(static_cast<size_t>(rounds_.blocks()), 0);
    values_.assign(static_cast<size_t>(rounds_.queries), 0.0);
    if (!std::filesystem::is_directory(dir_)) return done;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      if (e.path().extension() != ".h5" || unit_fingerprint(e.path(), "/values") != fp_) continue;
      const auto f = h5::File::open(e.path(), false);
      const at::Tensor blocks = f.read("/blocks").contiguous(), values = f.read("/values").contiguous();
      int64_t at = 0;
      for (int64_t i = 0; i < blocks.numel(); ++i) {
        const int64_t b = blocks.data_ptr<int64_t>()[i];
        RR_CHECK(b >= 0 && b < rounds_.blocks(), Input, "{}: block {} is not one of the column's {}",
                 e.path().string(), b, rounds_.blocks());
        const auto [lo, hi] = rounds_.block_rows(b);
        RR_CHECK(at + hi - lo <= values.numel(), Input, "{}: fewer values than its blocks' queries",
                 e.path().string());
        std::copy_n(values.data_ptr<double>() + at, hi - lo, values_.begin() + lo);
        done[static_cast<size_t>(b)] = 1;
        at += hi - lo;
      }
    }
    return done;
  }

  // Commits one round: its blocks (ascending) and their values, concatenated in that order.
  void commit(const std::vector<int64_t>& blocks, const std::vector<double>& values) {
    if (blocks.empty()) return;
    auto u = unit_file(dir_ / fmt::format("blocks-{}.h5", blocks.front()));
    u.file().write("/blocks", at::tensor(blocks, at::kLong));
    u.file().write("/values", at::tensor(values, at::kDouble));
    u.file().set_attr("/values", schema::kAttrFingerprint, fp_);
    u.commit();
    auto at = values.begin();
    for (const int64_t b : blocks) {
      const auto [lo, hi] = rounds_.block_rows(b);
      std::copy_n(at, hi - lo, values_.begin() + lo);
      at += hi - lo;
    }
  }

  at::Tensor column() const { return at::tensor(values_, at::kDouble); }
  // Once the column's own unit is committed (best effort: a round left behind is ignored, and removed with
  // the next column of these inputs).
  void remove() const {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  std::filesystem::path dir_;
  std::string fp_;
  Rounds rounds_;
  std::vector<double> values_;  // Q
};

// nDCG@10 of every training query under `expert`, committed round by round (ColumnRounds): Q float64 on rank
// 0, empty elsewhere. Each round, every rank embeds and searches its block (a small corpus: with its search
// group, mpi/sharded_index.h), its lists merge at the rank, which measures its queries; rank 0 commits the
// round's values.
at::Tensor score_column(const Context& ctx, const Base& base, const TrainingBlocks& d, const CorpusMap& map,
                        mpi::ShardedIndex& index, const QueryModel& expert, const std::string& label,
                        ColumnRounds& units) {
  const Rounds rounds{d.size, ctx.world.size()};
  std::vector<char> done;
  if (ctx.root()) done = units.committed();
  ctx.world.bcast(done);
  const auto committed = std::count(done.begin(), done.end(), 1);
  if (committed > 0 && ctx.root())
    spdlog::info("score {}: resuming: {} of {} query blocks committed", label, committed, rounds.blocks());
  Progress progress("score " + label, rounds.queries, "queries", 10.0, ctx.root());
  // The expert's inference encoder once for every block (LoRA merged, and in bf16 packed, once).
  const BertEncoder encoder = expert.inference_encoder();
  const int64_t H = base.model.config().hidden_size;
  for (int64_t r = 0; r < rounds.count(); ++r) {
    const int64_t first = r * rounds.ranks, last = std::min(rounds.blocks(), first + rounds.ranks);
    if (std::all_of(done.begin() + first, done.begin() + last, [](char c) { return c != 0; })) continue;
    const int64_t b = first + ctx.world.rank();
    const bool mine = b < last && !done[static_cast<size_t>(b)];
    const at::Tensor q =
        mine ? embed_my_block(ctx, base, encoder, rounds, b, d) : at::empty({0, H}, at::kFloat);
    const TopK merged = index.search_own({q.data_ptr<float>(), H, nullptr, q.size(0)}, kScoreDepth);
    std::vector<double> values;
    if (mine) {
      const auto [lo, hi] = rounds.block_rows(b);
      values = block_ndcg(ctx, d, map, merged, lo, hi);
    }
    // Gathered in rank order: the round's blocks ascending.
    const std::vector<double> all = ctx.world.gatherv(values);
    const std::vector<int64_t> blocks =
        ctx.world.gatherv(mine ? std::vector<int64_t>{b} : std::vector<int64_t>{});
    mpi::collective_try(ctx.world, [&] {
      if (ctx.root()) units.commit(blocks, all);
    });
    progress.advance(rounds.block_rows(last).first - rounds.block_rows(first).first);
    fault_point("score-round");
    mpi::stop_point(ctx.world, "score " + label);
  }
  progress.finish();
  return ctx.root() ? units.column() : at::Tensor();
}

// The base embeddings of a dataset's training queries and their ids, as a unit (written by rank 0 round by
// round: it never holds more than one round).
void store_base_unit(const Context& ctx, const Base& base, const TrainingBlocks& d, const DatasetConfig& cfg,
                     const std::string& fp, const std::filesystem::path& unit) {
  const std::string& name = cfg.name;
  const Rounds rounds{d.size, ctx.world.size()};
  const int64_t H = base.model.config().hidden_size;
  std::optional<h5::ResultsUpdate> out;
  if (ctx.root()) {
    out.emplace(unit, std::vector<std::string>{}, /*keep_old=*/false);
    out->file().write_strings(schema::query_ids(name, cfg.train_split), d.ids);
    out->file().create_matrix(schema::train_query_base(name), rounds.queries, H, VectorType::Float32,
                              kQueryBlock);
  }
  for (int64_t r = 0; r < rounds.count(); ++r) {
    const at::Tensor mine =
        embed_my_block(ctx, base, base.model, rounds, r * rounds.ranks + ctx.world.rank(), d);
    std::vector<float> rows =
        ctx.world.gatherv(std::vector<float>(mine.data_ptr<float>(), mine.data_ptr<float>() + mine.numel()));
    if (out)
      out->file().write_rows(
          schema::train_query_base(name), rounds.block_rows(r * rounds.ranks).first,
          at::from_blob(rows.data(), {static_cast<int64_t>(rows.size()) / H, H}, at::kFloat));
  }
  if (out) {
    out->file().set_attr(schema::train_query_base(name), schema::kAttrFingerprint, fp);
    out->commit();
  }
}

void score_dataset(const Context& ctx, const Base& base, const std::string& name, const StageOptions& options,
                   ExpertCache& experts) {
  const bool force = options.force;
  const auto& exp = ctx.exp;
  const auto& cfg = exp.dataset(name);
  const int rank = ctx.world.rank(), P = ctx.world.size();
  // This rank's blocks' queries and judgments only; rank 0 also every id (the base unit stores them).
  const TrainingBlocks d = load_training_blocks(
      cfg, exp.seed, [&](int64_t b) { return b % P == rank; }, ctx.root());
  RR_CHECK(d.size > 0, Input, "{}", no_training_data_message(cfg));
  const CorpusMap map = open_corpus_map(ctx, cfg);
  const int64_t Q = d.size;
  // The base embeddings: by a whole run, or by the first expert's task of an array (the others share its
  // unit).
  const bool base_task = options.expert.empty() || options.expert == exp.experts.front().name;
  const std::string base_fp = training_queries_fingerprint(exp, cfg);
  const auto base_unit = score_unit(exp, name, "base");
  if (base_task && !score_unit_done(ctx, base_unit, schema::train_query_base(name), base_fp, Q, force))
    store_base_unit(ctx, base, d, cfg, base_fp, base_unit);
  std::optional<mpi::ShardedIndex> index;
  for (size_t e = 0; e < exp.experts.size(); ++e) {
    const auto& x = exp.experts[e];
    if (!options.expert.empty() && x.name != options.expert) continue;
    const std::string fp = score_column_fingerprint(exp, x, cfg), column = schema::score_column(name, x.name);
    const auto unit = score_unit(exp, name, x.name);
    if (score_unit_done(ctx, unit, column, fp, Q, force)) {
      if (ctx.root()) spdlog::info("score {} x {}: up to date", name, x.name);
      continue;
    }
    if (!index) index.emplace(open_dense_index(ctx, name, map));
    const std::shared_ptr<const QueryModel> model = experts.get(static_cast<int32_t>(e));
    ColumnRounds rounds(unit, fp, Rounds{Q, P});
    if (force && ctx.root()) rounds.remove();  // a forced column starts afresh (its rounds then resume)
    const at::Tensor values = score_column(ctx, base, d, map, *index, *model, name + " x " + x.name, rounds);
    mpi::collective_try(ctx.world, [&] {
      if (!ctx.root()) return;
      spdlog::info("score {} x {}: mean nDCG@10 {:.4f} over {} training queries", name, x.name,
                   values.mean().item<double>(), Q);
      auto u = unit_file(unit);
      u.file().write(column, values);
      u.file().set_attr(column, schema::kAttrFingerprint, fp);
      u.commit();
      rounds.remove();
    });
    fault_point("score-column");
    mpi::stop_point(ctx.world, "score " + name + " x " + x.name);
  }
}

// results.h5's score groups assembled from the units (rank 0). /scores/<ds> stacks the T columns: Q x T
// float64 on rank 0 while it is written, as pilot needs it.
void store_scores(const Context& ctx) {
  const auto& exp = ctx.exp;
  h5::ResultsUpdate up(exp.results_file(), {"/scores", "/score_columns", "/train_queries", schema::kExperts});
  auto& f = up.file();
  auto& bulk = up.apart("scores", {"/scores", "/score_columns", "/train_queries"});
  f.write_strings(schema::kExperts, exp.expert_names());
  for (const auto& name : exp.training_datasets()) {
    const auto base_unit = h5::File::open(score_unit(exp, name, "base"), false);
    bulk.copy_from(base_unit, schema::train_query_base(name));
    f.copy_from(base_unit, schema::query_ids(name, exp.dataset(name).train_split));
    std::vector<at::Tensor> columns;
    for (const auto& x : exp.experts) {
      const auto unit = h5::File::open(score_unit(exp, name, x.name), false);
      bulk.copy_from(unit, schema::score_column(name, x.name));
      columns.push_back(unit.read(schema::score_column(name, x.name)));
    }
    const int64_t Q = bulk.shape(schema::train_query_base(name)).first;
    bulk.write(schema::scores(name),
               columns.empty() ? at::zeros({Q, 0}, at::kDouble) : at::stack(columns, 1));
    bulk.set_attr(schema::scores(name), schema::kAttrExperts, exp.expert_names());
  }
  // The training query ids of a dataset no expert trains on any more (its expert removed) go with its scores.
  const auto training = exp.training_datasets();
  for (const auto& d : exp.datasets)
    if (d.train_split != d.test_split &&
        std::find(training.begin(), training.end(), d.name) == training.end())
      f.remove(schema::query_ids(d.name, d.train_split));
  up.commit();
}

void score(Context& ctx, const StageOptions& options) {
  const auto names = ctx.exp.expert_names();
  RR_CHECK(options.expert.empty() || std::find(names.begin(), names.end(), options.expert) != names.end(),
           Usage, "score: no expert named '{}'", options.expert);
  Base base = load_base(ctx);
  // Each expert loaded when its first column is scored (all ranks alike), max_loaded_experts kept.
  ExpertCache experts(static_cast<int32_t>(ctx.exp.experts.size()),
                      static_cast<size_t>(ctx.exp.max_loaded_experts),
                      [&](int32_t e) { return load_expert(ctx, ctx.exp.experts[e], base); });
  for (const auto& name : ctx.exp.training_datasets()) score_dataset(ctx, base, name, options, experts);
  // One expert's columns (a task of a job array): its units only; tasks running at once must not each rewrite
  // results.h5. A plain `score` afterwards finds every unit done and assembles them.
  if (!options.expert.empty()) return;
  mpi::collective_try(ctx.world, [&] {
    if (ctx.root()) store_scores(ctx);
  });
}

std::string score_fingerprint(const Experiment& exp) {
  return fingerprint_of({{"score", score_column_fingerprints(exp)}});
}

// The shard and its tie keys, one round of query vectors (B per rank) and its top-11 lists, and the training
// queries' text and judgments every rank holds (about 190 B each, measured by scale_bench).
double score_peak(const PlanInputs& in) {
  double most = 0;
  for (const auto& c : in.counts)
    if (c.has_expert) {
      const double Q = static_cast<double>(c.train);
      most = std::max(most, in.shard_bytes(c) + 8 * static_cast<double>(c.documents) / in.P +
                                static_cast<double>(kQueryBlock) * in.P * (in.d * 4 + kScoreDepth * 20) +
                                in.search_buffer_bytes(c) + 190 * Q + 16 * Q * in.T());  // rank 0's /scores
    }
  return in.model_bytes() + in.loaded_experts() * in.adapter_bytes() + most;
}

}  // namespace

StageDefinition score_stage() {
  return {
      "per-instance nDCG@10 of every training query under every expert (/scores)",
      score_fingerprint,
      score,
      UnitKind::ScoreUnit,
      "index.h5, the experts, the training queries",
      "M + E × A (the experts held) + 190 B × Q (the query set's text and judgments) + N/P × (d × v + 8) + "
      "B × P × (d × 4 + 11 × 20 B) + B × min(C, N/P) × 4; rank 0: Q × T × 16 B while it writes /scores",
      score_peak};
}

}  // namespace rr::stages
