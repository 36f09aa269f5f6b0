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
#include "common/stable_hash.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "model/full_model.h"
#include "model/lora_expert.h"
#include "mpi/mpi_collectives.h"
#include "mpi/stages/datasets.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/ledger.h"
#include "mpi/stages/models.h"
#include "mpi/stages/plan.h"
#include "mpi/stages/train_record.h"
#include "train/query_trainer.h"

namespace rr::stages {

namespace {

// The `max` rows of smallest stable_hash(id, seed) (ties by row), in row order, kept in a bounded heap while
// the ids stream past: a deterministic sample that never holds all N ids.
class RowSample {
 public:
  RowSample(int64_t max, uint64_t seed) : max_(max), seed_(seed) {}
  void offer(const std::string& id, int64_t row) {
    if (max_ <= 0) return;
    const std::pair<uint64_t, int64_t> entry{stable_hash(id, seed_), row};
    if (static_cast<int64_t>(heap_.size()) < max_) {
      heap_.push_back(entry);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (entry < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = entry;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }
  std::vector<int64_t> rows() const {
    std::vector<int64_t> out;
    for (const auto& [hash, row] : heap_) out.push_back(row);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  int64_t max_;
  uint64_t seed_;
  std::vector<std::pair<uint64_t, int64_t>> heap_;  // max-heap: the largest kept hash on top
};

// What a trainer needs of a corpus's ids, found in one pass over its map: the rows of the judged documents
// (training and dev judgments), the pseudo-query sample and the dev search's sample. Memory: the judged ids
// and the two samples, not N.
struct CorpusRows {
  int64_t size = 0;
  std::unordered_map<std::string, int64_t> judged;  // judged id -> row (ids the corpus lacks are absent)
  std::vector<int64_t> pseudo_sample, dev_sample;   // ascending
};

constexpr uint64_t kDevSampleSalt = 0x6465762d636f7270ULL;
constexpr int64_t kIdChunk = 1 << 20;  // ids read per chunk of the pass

CorpusRows corpus_rows(const CorpusMap& map, const Dataset& d, const TrainingConfig& cfg, uint64_t seed) {
  CorpusRows out;
  out.size = map.size();
  for (const QuerySet* set : {&d.train, &d.dev})
    for (const auto& [q, docs] : set->qrels)
      for (const auto& [doc, rel] : docs) out.judged.emplace(doc, -1);
  const int64_t pseudo = d.config->pseudo_queries == PseudoQueries::None ? 0 : d.config->max_pseudo_queries;
  RowSample pseudo_sample(pseudo, seed);
  RowSample dev_sample(out.size > cfg.dev_corpus_max ? cfg.dev_corpus_max : 0, seed ^ kDevSampleSalt);
  map.for_each_id_chunk(kIdChunk, [&](int64_t row0, const std::vector<std::string>& ids) {
    for (size_t i = 0; i < ids.size(); ++i) {
      const int64_t row = row0 + static_cast<int64_t>(i);
      if (auto it = out.judged.find(ids[i]); it != out.judged.end()) it->second = row;
      pseudo_sample.offer(ids[i], row);
      dev_sample.offer(ids[i], row);
    }
  });
  std::erase_if(out.judged, [](const auto& entry) { return entry.second < 0; });
  out.pseudo_sample = pseudo_sample.rows();
  out.dev_sample = dev_sample.rows();
  return out;
}

void add_pseudo_queries(DatasetTraining& t, const Dataset& d, const CorpusMap& map, const CorpusRows& rows,
                        const BertTokenizer& tok, const TrainingConfig& cfg) {
  const PseudoQueries mode = d.config->pseudo_queries;
  const std::vector<TextRecord> docs = map.documents(rows.pseudo_sample);
  for (size_t i = 0; i < docs.size(); ++i) {
    const auto& doc = docs[i];
    const int64_t r = rows.pseudo_sample[i];
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
std::vector<int64_t> rows_to_load(const CorpusRows& corpus, const DatasetTraining& t,
                                  const TrainingConfig& cfg) {
  std::vector<int64_t> rows;
  if (corpus.size <= cfg.dev_corpus_max) {
    rows.resize(static_cast<size_t>(corpus.size));
    std::iota(rows.begin(), rows.end(), 0);
    return rows;
  }
  for (const auto& ex : t.judged) rows.push_back(ex.doc);
  for (const auto& ex : t.titles) rows.push_back(ex.doc);
  rows.insert(rows.end(), t.crop_docs.begin(), t.crop_docs.end());
  for (const auto& [q, docs] : t.dev_qrels)
    for (const auto& [doc, rel] : docs)
      if (auto it = corpus.judged.find(doc); it != corpus.judged.end()) rows.push_back(it->second);
  rows.insert(rows.end(), corpus.dev_sample.begin(), corpus.dev_sample.end());
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

// Loads the rows the trainer needs (vectors and ids) and renumbers its examples to them.
void load_index_rows(const Context& ctx, const CorpusMap& map, const CorpusRows& corpus, DatasetTraining& t,
                     const TrainingConfig& cfg) {
  const std::vector<int64_t> rows = rows_to_load(corpus, t, cfg);
  const auto local = [&](int64_t r) {
    return static_cast<int64_t>(std::lower_bound(rows.begin(), rows.end(), r) - rows.begin());
  };
  for (auto& ex : t.judged) ex.doc = local(ex.doc);
  for (auto& ex : t.titles) ex.doc = local(ex.doc);
  for (auto& r : t.crop_docs) r = local(r);
  t.doc_ids = map.ids(rows);
  const auto f = h5::File::open(ctx.exp.index_file(), false);
  RR_CHECK(f.shape(schema::index(t.name)).first == corpus.size, Input,
           "{}: index of '{}' has {} rows, the corpus {} (re-run encode)", ctx.exp.index_file().string(),
           t.name, f.shape(schema::index(t.name)).first, corpus.size);
  t.doc_embeddings = f.read_row_list(schema::index(t.name), rows);
}

// What one dataset gives a query-side trainer (see DatasetTraining): its query sets, and of its corpus only
// the documents it trains on, read through the corpus map.
DatasetTraining training_material(const Context& ctx, const DatasetConfig& config, const CorpusMap& map,
                                  const BertTokenizer& tok, const TrainingConfig& cfg, bool leader) {
  Dataset d;
  d.config = &config;
  load_query_sets(config, ctx.exp.seed, d);
  const CorpusRows corpus = corpus_rows(map, d, cfg, ctx.exp.seed);
  DatasetTraining t;
  t.name = config.name;
  for (const auto& q : d.train.queries) {
    auto tokens = tok.encode(q.text, cfg.max_query_length);
    for (const auto& [doc, rel] : d.train.qrels.at(q.id)) {
      auto it = corpus.judged.find(doc);
      if (rel > 0 && it != corpus.judged.end()) t.judged.push_back({tokens, it->second});
    }
  }
  add_pseudo_queries(t, d, map, corpus, tok, cfg);
  for (const auto& q : d.dev.queries) {
    t.dev_query_ids.push_back(q.id);
    t.dev_queries.push_back(tok.encode(q.text, cfg.max_query_length));
  }
  t.dev_qrels = d.dev.qrels;
  load_index_rows(ctx, map, corpus, t, cfg);
  spdlog::log(leader_level(leader),
              "{}: {} judged training pairs ({}), {} title and {} crop pseudo-queries, {} dev queries ({}), "
              "{} of {} index rows loaded",
              t.name, t.judged.size(), d.train.origin.empty() ? "none" : d.train.origin, t.titles.size(),
              t.crop_docs.size(), t.dev_queries.size(), d.dev.origin.empty() ? "none" : d.dev.origin,
              t.doc_ids.size(), corpus.size);
  return t;
}

using CorpusMaps = std::unordered_map<std::string, CorpusMap>;

// The corpus maps of `datasets` (each once), built where missing. Collective over the world.
CorpusMaps corpus_maps(const Context& ctx, const std::vector<std::string>& datasets) {
  CorpusMaps maps;
  for (const auto& name : datasets)
    if (!maps.count(name)) maps.emplace(name, open_corpus_map(ctx, ctx.exp.dataset(name)));
  return maps;
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
  if (!model.delta())  // a model of its own, not an adapter on the base
    for (const char* f : {"vocab.txt", "tokenizer_config.json"})
      if (std::filesystem::exists(ctx.exp.base_path() / f))
        std::filesystem::copy_file(ctx.exp.base_path() / f, dir.temp_path() / f);
  write_train_record(dir.temp_path(), fp, curve);
  dir.commit();
}

// Trains one query-side model (an expert's adapter, or the multi-task model) on `group`.
void train_query_model(const Context& ctx, const mpi::Comm& group, const std::string& label,
                       const std::vector<std::string>& datasets, const CorpusMaps& maps,
                       const TrainingConfig& cfg, const std::string& fp, const std::filesystem::path& out,
                       bool full_finetune) {
  Base base = load_base(ctx);
  if (!cfg.model_dropout) base.model.disable_dropout();
  std::vector<DatasetTraining> data;
  for (const auto& name : datasets)
    data.push_back(
        training_material(ctx, ctx.exp.dataset(name), maps.at(name), base.tokenizer, cfg, group.is_root()));
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
  const TrainCurve curve = train_query_side(base.model, *model, data, o, mpi::MpiCollectives(group));
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

// A model of trained_models: it must be there (rr never trains or writes it in this experiment).
void require_read_only_model(const Context& ctx, const std::string& what, const std::filesystem::path& dir) {
  RR_CHECK(has_model_weights(dir), Input,
           "{}: {} is used read-only from trained_models ({}), and {} holds no trained model: run the train "
           "stages of that experiment first",
           ctx.exp.file.string(), what, ctx.exp.trained_models, dir.string());
  if (ctx.root()) spdlog::info("{}: read-only, trained by another experiment ({})", what, dir.string());
}

void train_experts(Context& ctx, const StageOptions& options) {
  const auto& experts = ctx.exp.experts;
  std::vector<size_t> todo;
  for (size_t e = 0; e < experts.size(); ++e)
    if (options.expert.empty() || experts[e].name == options.expert) todo.push_back(e);
  RR_CHECK(!todo.empty() || options.expert.empty(), Usage, "train expert: no expert named '{}'",
           options.expert);
  if (todo.empty()) return;
  if (ctx.exp.models_read_only()) {
    mpi::collective_try(ctx.world, [&] {
      for (size_t e : todo) require_read_only_model(ctx, "expert " + experts[e].name, experts[e].adapter);
      if (options.expert.empty() && ctx.root()) store_curves(ctx, expert_curves(ctx));
    });
    return;
  }
  const int P = ctx.world.size(), T = static_cast<int>(todo.size());
  // Placement: experts round-robin over ranks; with more ranks than experts, a group of consecutive ranks per
  // expert (ranks fill a node before the next, so a group shares a node where its size allows).
  const int color =
      P <= T ? ctx.world.rank() : static_cast<int>(static_cast<int64_t>(ctx.world.rank()) * T / P);
  std::vector<std::string> datasets;
  for (size_t e : todo)
    datasets.insert(datasets.end(), experts[e].datasets.begin(), experts[e].datasets.end());
  const CorpusMaps maps = corpus_maps(ctx, datasets);
  mpi::Comm group = ctx.world.split(color, ctx.world.rank());
  mpi::collective_try(ctx.world, [&] {
    for (int i = 0; i < T; ++i) {
      if ((P <= T ? i % P : i) != color) continue;
      const auto& x = experts[todo[i]];
      const std::string fp = expert_fingerprint(ctx.exp, x);
      if (!options.force && Ledger(ctx.exp).model_done(x.adapter, fp)) {
        if (group.is_root()) spdlog::info("expert {}: {} is up to date", x.name, x.adapter);
        continue;
      }
      if (group.is_root()) spdlog::info("expert {}: training on {} rank(s)", x.name, group.size());
      train_query_model(ctx, group, "expert-" + x.name, x.datasets, maps, ctx.exp.expert_training, fp,
                        x.adapter, false);
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
    if (ctx.exp.models_read_only()) {
      mpi::collective_try(ctx.world, [&] { require_read_only_model(ctx, "multitask", out); });
    } else if (!options.force && Ledger(ctx.exp).model_done(out, fp)) {
      if (ctx.root()) spdlog::info("multitask: {} is up to date", out.string());
    } else {
      const CorpusMaps maps = corpus_maps(ctx, ctx.exp.training_datasets());
      mpi::collective_try(ctx.world, [&] {
        train_query_model(ctx, ctx.world, "multitask", ctx.exp.training_datasets(), maps, ctx.exp.multitask,
                          fp, out, ctx.exp.multitask.full_finetune);
      });
    }
    curves.push_back({"multitask", out});
  }
  mpi::collective_try(ctx.world, [&] { store_curves(ctx, curves); });
}

std::string train_expert_fingerprint(const Experiment& exp) {
  return fingerprint_of({{"experts", expert_fingerprints(exp)}});
}

// It also stores every expert's training curve (after an expert job array).
std::string train_multitask_fingerprint(const Experiment& exp) {
  return fingerprint_of({{"multitask", exp.train_multitask ? multitask_fingerprint(exp) : "none"},
                         {"experts", expert_fingerprints(exp)}});
}

// The index rows it trains on (all rows up to dev_corpus_max; above, the judged and pseudo-query documents,
// the dev-judged ones and a dev_corpus_max sample), the text of the pseudo-query sample only (read through
// the corpus map), the judged ids, one chunk of 2^20 ids of the pass over the map; the model, its gradients
// and AdamW's moments.
double train_expert_peak(const PlanInputs& in) {
  double most = 0;
  for (const auto& c : in.counts) {
    if (!c.has_expert) continue;
    const double N = static_cast<double>(c.documents), pseudo = std::min(N, 20000.0);
    const double rows = std::min(N, static_cast<double>(c.train_pairs) +
                                        static_cast<double>(in.exp.expert_training.dev_corpus_max) + pseudo);
    most =
        std::max(most, rows * in.d * 4 + PlanInputs::text_bytes(c) * pseudo / std::max(N, 1.0) +
                           80.0 * static_cast<double>(c.train_pairs + c.dev) + 50 * std::min(N, 1048576.0));
  }
  return 3 * in.model_bytes() + most;
}

}  // namespace

StageDefinition train_expert_stage() {
  return {
      "train one LoRA expert per domain on the query side (placed on ranks)",
      train_expert_fingerprint,
      train_experts,
      UnitKind::Expert,
      "index.h5 (the rows it trains on), the training and dev queries of the expert's datasets",
      "M + adapter × 4 + min(N, pairs + pseudo + dev_corpus_max) × d × 4 + text of the pseudo-query sample "
      "+ 80 B × judged documents + 2^20 ids (one chunk of the pass over the map)",
      train_expert_peak};
}

StageDefinition train_multitask_stage() {
  return {"train the multi-task baseline on every expert's data",
          train_multitask_fingerprint,
          train_multitask,
          UnitKind::Checkpoint,
          "as train-expert, over every training dataset",
          "as train-expert, over every training dataset (M × 4 with full_finetune)"};
}

}  // namespace rr::stages
