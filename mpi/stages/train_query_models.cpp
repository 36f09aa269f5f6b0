// train-expert and train-multitask: the query-side models. Each expert (a LoRA adapter on the frozen base)
// trains on its datasets' judged queries and pseudo-queries against the corpus index; experts are placed on
// ranks (a group of ranks per expert, data-parallel, when ranks outnumber experts). The multi-task baseline
// trains one model on every expert's data over all ranks.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <numeric>

#include "common/atomic_output.h"
#include "common/error.h"
#include "common/log.h"
#include "data/split.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/stage.h"
#include "mpi/stages/train_record.h"
#include "train/query_trainer.h"

namespace rr::stages {

namespace {

// A deterministic sample of at most `max` corpus rows, in row order.
std::vector<int64_t> sample_rows(const Dataset& d, int64_t max, uint64_t seed) {
  std::vector<int64_t> rows(d.corpus.size());
  std::iota(rows.begin(), rows.end(), 0);
  std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) {
    return stable_hash(d.corpus_ids[a], seed) < stable_hash(d.corpus_ids[b], seed);
  });
  if (static_cast<int64_t>(rows.size()) > max) rows.resize(max);
  std::sort(rows.begin(), rows.end());
  return rows;
}

void add_pseudo_queries(DatasetTraining& t, const Dataset& d, const BertTokenizer& tok,
                        const TrainingConfig& cfg, uint64_t seed) {
  const PseudoQueries mode = d.config->pseudo_queries;
  if (mode == PseudoQueries::None) return;
  for (int64_t r : sample_rows(d, d.config->max_pseudo_queries, seed)) {
    const auto& doc = d.corpus[r];
    if (mode == PseudoQueries::Title && !doc.title.empty() && doc.title != doc.text) {
      t.titles.push_back({tok.encode(doc.title, cfg.max_query_length), r});
      continue;
    }
    auto ids = tok.encode(doc.text, 512);
    std::vector<int32_t> body(ids.begin() + 1, ids.end() - 1);
    if (body.size() >= 4) {
      t.crop_sources.push_back(std::move(body));
      t.crop_docs.push_back(r);
    }
  }
}

// The index rows a trainer loads: every row of a corpus up to dev_corpus_max rows; above, the rows it trains
// on, the dev-judged documents and a seeded sample up to dev_corpus_max (the dev search's corpus). Ascending.
std::vector<int64_t> rows_to_load(const Dataset& d, const DatasetTraining& t, const TrainingConfig& cfg,
                                  const std::unordered_map<std::string, int64_t>& row, uint64_t seed) {
  const auto N = static_cast<int64_t>(d.corpus_ids.size());
  std::vector<int64_t> rows;
  if (N <= cfg.dev_corpus_max) {
    rows.resize(static_cast<size_t>(N));
    std::iota(rows.begin(), rows.end(), 0);
    return rows;
  }
  for (const auto& ex : t.judged) rows.push_back(ex.doc);
  for (const auto& ex : t.titles) rows.push_back(ex.doc);
  rows.insert(rows.end(), t.crop_docs.begin(), t.crop_docs.end());
  for (const auto& [q, docs] : t.dev_qrels)
    for (const auto& [doc, rel] : docs)
      if (auto it = row.find(doc); it != row.end()) rows.push_back(it->second);
  const std::vector<int64_t> sample = sample_rows(d, cfg.dev_corpus_max, seed ^ 0x6465762d636f7270ULL);
  rows.insert(rows.end(), sample.begin(), sample.end());
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

// Loads the rows the trainer needs and renumbers its examples to them.
void load_index_rows(const Context& ctx, const Dataset& d, DatasetTraining& t, const TrainingConfig& cfg,
                     const std::unordered_map<std::string, int64_t>& row) {
  const std::vector<int64_t> rows = rows_to_load(d, t, cfg, row, ctx.exp.seed);
  const auto local = [&](int64_t r) {
    return static_cast<int64_t>(std::lower_bound(rows.begin(), rows.end(), r) - rows.begin());
  };
  for (auto& ex : t.judged) ex.doc = local(ex.doc);
  for (auto& ex : t.titles) ex.doc = local(ex.doc);
  for (auto& r : t.crop_docs) r = local(r);
  t.doc_ids.clear();
  for (int64_t r : rows) t.doc_ids.push_back(d.corpus_ids[r]);
  const auto f = h5::File::open(ctx.exp.index_file(), false);
  RR_CHECK(f.shape(schema::index(t.name)).first == static_cast<int64_t>(d.corpus_ids.size()), Input,
           "{}: index of '{}' has {} rows, the corpus {} (re-run encode)", ctx.exp.index_file().string(),
           t.name, f.shape(schema::index(t.name)).first, d.corpus_ids.size());
  t.doc_embeddings = f.read_row_list(schema::index(t.name), rows);
}

// What one dataset gives a query-side trainer (see DatasetTraining).
DatasetTraining training_material(const Context& ctx, const Dataset& d, const BertTokenizer& tok,
                                  const TrainingConfig& cfg, bool leader) {
  DatasetTraining t;
  t.name = d.config->name;
  std::unordered_map<std::string, int64_t> row;
  for (size_t i = 0; i < d.corpus_ids.size(); ++i) row[d.corpus_ids[i]] = static_cast<int64_t>(i);
  for (const auto& q : d.train.queries) {
    auto tokens = tok.encode(q.text, cfg.max_query_length);
    for (const auto& [doc, rel] : d.train.qrels.at(q.id)) {
      auto it = row.find(doc);
      if (rel > 0 && it != row.end()) t.judged.push_back({tokens, it->second});
    }
  }
  add_pseudo_queries(t, d, tok, cfg, ctx.exp.seed);
  for (const auto& q : d.dev.queries) {
    t.dev_query_ids.push_back(q.id);
    t.dev_queries.push_back(tok.encode(q.text, cfg.max_query_length));
  }
  t.dev_qrels = d.dev.qrels;
  load_index_rows(ctx, d, t, cfg, row);
  spdlog::log(leader_level(leader),
              "{}: {} judged training pairs ({}), {} title and {} crop pseudo-queries, {} dev queries ({}), "
              "{} of {} index rows loaded",
              t.name, t.judged.size(), d.train.origin.empty() ? "none" : d.train.origin, t.titles.size(),
              t.crop_docs.size(), t.dev_queries.size(), d.dev.origin.empty() ? "none" : d.dev.origin,
              t.doc_ids.size(), d.corpus_ids.size());
  return t;
}

// The untrained query model: a fresh LoRA adapter on the base, or a copy of every base weight.
std::unique_ptr<QueryModel> fresh_model(const Context& ctx, const Base& base, const TrainingConfig& cfg,
                                        bool full_finetune, uint64_t seed) {
  if (full_finetune) {
    TensorMap copy;
    for (const auto& [n, t] : base.model.params()) copy[n] = t.detach().clone();
    return std::make_unique<FullModel>(BertEncoder(base.model.config(), copy));
  }
  LoraConfig lc = cfg.lora;
  lc.base_model = ctx.exp.base_path().string();
  return std::make_unique<LoraExpert>(base.model, LoraAdapter::create(base.model, lc, seed));
}

// Saves a trained model with its record; a full model gets the base's tokenizer files beside it.
void save_model(const Context& ctx, const QueryModel& model, const std::filesystem::path& out,
                const std::string& fp, const TrainCurve& curve) {
  AtomicDirectory dir(out);
  model.save(dir.temp_path());
  if (!dynamic_cast<const LoraExpert*>(&model))
    for (const char* f : {"vocab.txt", "tokenizer_config.json"})
      if (std::filesystem::exists(ctx.exp.base_path() / f))
        std::filesystem::copy_file(ctx.exp.base_path() / f, dir.temp_path() / f);
  write_train_record(dir.temp_path(), fp, curve);
  dir.commit();
}

// Trains one query-side model (an expert's adapter, or the multi-task model) on `group`.
void train_query_model(const Context& ctx, const mpi::Comm& group, const std::string& label,
                       const std::vector<std::string>& datasets, const TrainingConfig& cfg,
                       const std::string& fp, const std::filesystem::path& out, bool full_finetune) {
  Base base = load_base(ctx);
  if (!cfg.model_dropout) base.model.disable_dropout();
  std::vector<Dataset> loaded;
  for (const auto& name : datasets) loaded.push_back(load_dataset(ctx.exp.dataset(name), ctx.exp.seed));
  std::vector<DatasetTraining> data;
  for (const auto& d : loaded)
    data.push_back(training_material(ctx, d, base.tokenizer, cfg, group.is_root()));
  QueryTrainerOptions o;
  o.config = cfg;
  o.seed = stable_hash(label, ctx.exp.seed);
  o.checkpoint_dir = ctx.exp.output() / "checkpoints" / label;
  o.inputs = fp;
  o.label = label;
  o.cls_id = base.tokenizer.cls_id();
  o.sep_id = base.tokenizer.sep_id();
  o.pad_id = base.tokenizer.pad_id();
  auto model = fresh_model(ctx, base, cfg, full_finetune, o.seed);
  const TrainCurve curve = train_query_side(base.model, *model, data, o, MpiCollectives(group));
  if (!group.is_root()) return;
  save_model(ctx, *model, out, fp, curve);
  spdlog::info("{}: saved to {} (best dev nDCG@10 {:.4f} at step {} of {})", label, out.string(),
               curve.best_dev, curve.best_step, curve.steps_done);
}

// Every expert's training-curve source (its directory's rr_train.json; missing ones are skipped).
std::vector<std::pair<std::string, std::filesystem::path>> expert_curves(const Context& ctx) {
  std::vector<std::pair<std::string, std::filesystem::path>> curves;
  for (const auto& x : ctx.exp.experts) curves.push_back({"expert-" + x.name, x.adapter});
  return curves;
}

}  // namespace

void train_experts(Context& ctx, const StageOptions& options) {
  const auto& experts = ctx.exp.experts;
  std::vector<size_t> todo;
  for (size_t e = 0; e < experts.size(); ++e)
    if (options.expert.empty() || experts[e].name == options.expert) todo.push_back(e);
  RR_CHECK(!todo.empty() || options.expert.empty(), Usage, "train expert: no expert named '{}'",
           options.expert);
  if (todo.empty()) return;
  const int P = ctx.world.size(), T = static_cast<int>(todo.size());
  // Placement: experts round-robin over ranks; with more ranks than experts, a group of ranks per expert.
  const int color = P <= T ? ctx.world.rank() : ctx.world.rank() % T;
  mpi::Comm group = ctx.world.split(color, ctx.world.rank());
  mpi::collective_try(ctx.world, [&] {
    for (int i = 0; i < T; ++i) {
      if ((P <= T ? i % P : i) != color) continue;
      const auto& x = experts[todo[i]];
      const std::string fp = expert_fingerprint(ctx.exp, x);
      if (!options.force && recorded_fingerprint(x.adapter) == fp) {
        if (group.is_root()) spdlog::info("expert {}: {} is up to date", x.name, x.adapter);
        continue;
      }
      if (group.is_root()) spdlog::info("expert {}: training on {} rank(s)", x.name, group.size());
      train_query_model(ctx, group, "expert-" + x.name, x.datasets, ctx.exp.expert_training, fp, x.adapter,
                        false);
    }
  });
  // One expert of a job array leaves results.h5 alone: tasks running at once would each rewrite it and the
  // last rename would drop the others' curves. Its curve stays in its directory (rr_train.json) until the
  // next whole stage (train multitask, which runs after the array) stores every curve.
  if (options.expert.empty()) mpi::collective_try(ctx.world, [&] { store_curves(ctx, expert_curves(ctx)); });
}

void train_multitask(Context& ctx, const StageOptions& options) {
  auto curves = expert_curves(ctx);  // the experts' too: an expert job array left them in their directories
  if (ctx.exp.train_multitask && !ctx.exp.experts.empty()) {
    const std::string fp = multitask_fingerprint(ctx.exp);
    const auto out = ctx.exp.multitask_path();
    if (!options.force && recorded_fingerprint(out) == fp) {
      if (ctx.root()) spdlog::info("multitask: {} is up to date", out.string());
    } else {
      mpi::collective_try(ctx.world, [&] {
        train_query_model(ctx, ctx.world, "multitask", ctx.exp.training_datasets(), ctx.exp.multitask, fp,
                          out, ctx.exp.multitask.full_finetune);
      });
    }
    curves.push_back({"multitask", out});
  }
  mpi::collective_try(ctx.world, [&] { store_curves(ctx, curves); });
}

}  // namespace rr::stages
