// train: rr's own base encoder (train base), the experts (train expert), the multi-task baseline.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "common/atomic_output.h"
#include "common/error.h"
#include "data/split.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/stages/stages.h"
#include "text/wordpiece_trainer.h"
#include "train/base_trainer.h"
#include "train/query_trainer.h"

namespace rr::stages {

namespace {

constexpr const char* kTrainRecord = "rr_train.json";

std::string recorded_fingerprint(const std::filesystem::path& dir) {
  std::ifstream in(dir / kTrainRecord);
  if (!in) return "";
  try {
    return nlohmann::json::parse(in).value("fingerprint", "");
  } catch (const std::exception&) {
    return "";
  }
}

nlohmann::json curve_to_json(const TrainCurve& c) {
  return {{"steps", c.steps},
          {"loss", c.loss},
          {"lr", c.lr},
          {"eval_steps", c.eval_steps},
          {"dev_ndcg10", c.dev_ndcg10},
          {"best_step", c.best_step},
          {"best_dev", c.best_dev},
          {"steps_done", c.steps_done}};
}

void write_record(const std::filesystem::path& dir, const std::string& fp, const TrainCurve& curve) {
  AtomicFile f(dir / kTrainRecord);
  f.stream() << nlohmann::json{{"fingerprint", fp}, {"curve", curve_to_json(curve)}}.dump(1) << "\n";
  f.commit();
}

// Stores a training curve in results.h5 under /training/<model>.
void store_curve(const Context& ctx, const std::string& model, const TrainCurve& c) {
  h5::ResultsUpdate up(ctx.exp.results_file(), {});
  auto& f = up.file();
  const std::string g = schema::training_curve(model);
  f.remove(g);
  std::vector<double> steps(c.steps.begin(), c.steps.end()), evals(c.eval_steps.begin(), c.eval_steps.end());
  f.write_double(g + "/steps", steps);
  f.write_double(g + "/loss", c.loss);
  f.write_double(g + "/lr", c.lr);
  f.write_double(g + "/eval_steps", evals);
  f.write_double(g + "/dev_ndcg10", c.dev_ndcg10);
  f.set_attr(g, "best_step", c.best_step);
  up.commit();
}

std::vector<int32_t> body_tokens(const BertTokenizer& tok, const std::string& text, int64_t max_length) {
  auto ids = tok.encode(text, max_length);
  return std::vector<int32_t>(ids.begin() + 1, ids.end() - 1);
}

// What one dataset gives a query-side trainer (see DatasetTraining).
DatasetTraining training_material(const Context& ctx, const Dataset& d, const BertTokenizer& tok,
                                  const TrainingConfig& cfg) {
  DatasetTraining t;
  t.name = d.config->name;
  t.doc_ids = d.corpus_ids;
  t.doc_embeddings = read_index(ctx, t.name);
  std::unordered_map<std::string, int64_t> row;
  for (size_t i = 0; i < d.corpus_ids.size(); ++i) row[d.corpus_ids[i]] = static_cast<int64_t>(i);
  for (const TextRecord* q : d.judged(d.train)) {
    auto tokens = tok.encode(q->text, cfg.max_query_length);
    for (const auto& [doc, rel] : d.train.at(q->id)) {
      auto it = row.find(doc);
      if (rel > 0 && it != row.end()) t.judged.push_back({tokens, it->second});
    }
  }
  const std::string& mode = d.config->pseudo_queries;
  if (mode != "none") {
    // A deterministic sample of the corpus, at most max_pseudo_queries documents.
    std::vector<int64_t> rows(d.corpus.size());
    std::iota(rows.begin(), rows.end(), 0);
    std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) {
      return stable_hash(d.corpus_ids[a], ctx.exp.seed) < stable_hash(d.corpus_ids[b], ctx.exp.seed);
    });
    if (static_cast<int64_t>(rows.size()) > d.config->max_pseudo_queries)
      rows.resize(d.config->max_pseudo_queries);
    std::sort(rows.begin(), rows.end());
    for (int64_t r : rows) {
      const auto& doc = d.corpus[r];
      if (mode == "title" && !doc.title.empty() && doc.title != doc.text) {
        t.titles.push_back({tok.encode(doc.title, cfg.max_query_length), r});
      } else {
        auto body = body_tokens(tok, doc.text, 512);
        if (body.size() >= 4) {
          t.crop_sources.push_back(std::move(body));
          t.crop_docs.push_back(r);
        }
      }
    }
  }
  for (const TextRecord* q : d.judged(d.dev)) {
    t.dev_query_ids.push_back(q->id);
    t.dev_queries.push_back(tok.encode(q->text, cfg.max_query_length));
  }
  t.dev_qrels = d.dev;
  spdlog::info("{}: {} judged training pairs, {} title and {} crop pseudo-queries, {} dev queries", t.name,
               t.judged.size(), t.titles.size(), t.crop_docs.size(), t.dev_queries.size());
  return t;
}

std::string query_side_fingerprint(const Context& ctx, const std::string& what,
                                   const nlohmann::json& training, const std::vector<std::string>& datasets) {
  // The training datasets' own definitions (source, split, pseudo-queries), not the whole list: adding an
  // expert with a dataset of its own must not retrain the others.
  nlohmann::json definitions = nlohmann::json::array();
  for (const auto& d : ctx.exp.json.value("datasets", nlohmann::json::array()))
    if (std::find(datasets.begin(), datasets.end(), d.value("name", "")) != datasets.end())
      definitions.push_back(d);
  nlohmann::json j = {{"what", what},
                      {"training", training},
                      {"seed", ctx.exp.seed},
                      {"datasets", datasets},
                      {"definitions", definitions},
                      {"base", file_identity(ctx.exp.base_path() / "model.safetensors")},
                      {"index", file_identity(ctx.exp.index_file())}};
  return fingerprint(j.dump());
}

// Trains one query-side model (an expert's adapter, or the multi-task model) on `group`.
void train_query_model(const Context& ctx, const mpi::Comm& group, const std::string& label,
                       const std::vector<std::string>& datasets, const TrainingConfig& cfg,
                       const std::string& fp, const std::filesystem::path& out, bool full_finetune) {
  Base base = load_base(ctx);
  if (!cfg.model_dropout) base.model.disable_dropout();
  std::vector<DatasetTraining> data;
  std::vector<Dataset> loaded;
  for (const auto& name : datasets) loaded.push_back(load_dataset(ctx.exp.dataset(name)));
  for (const auto& d : loaded) data.push_back(training_material(ctx, d, base.tokenizer, cfg));
  QueryTrainerOptions o;
  o.config = cfg;
  o.seed = stable_hash(label, ctx.exp.seed);
  o.checkpoint_dir = ctx.exp.output() / "checkpoints" / label;
  o.inputs = fp;
  o.label = label;
  o.cls_id = base.tokenizer.cls_id();
  o.sep_id = base.tokenizer.sep_id();
  o.pad_id = base.tokenizer.pad_id();
  MpiCollectives coll(group);
  std::optional<LoraAdapter> adapter;
  std::optional<BertEncoder> full;
  if (full_finetune) {
    TensorMap copy;
    for (const auto& [n, t] : base.model.params()) copy[n] = t.detach().clone();
    full.emplace(base.model.config(), copy);
  } else {
    LoraConfig lc = cfg.lora;
    lc.base_model = ctx.exp.base_path().string();
    adapter.emplace(LoraAdapter::create(base.model, lc, o.seed));
  }
  TrainCurve curve =
      train_query_side(base.model, adapter ? &*adapter : nullptr, full ? &*full : nullptr, data, o, coll);
  if (group.is_root()) {
    AtomicDirectory dir(out);
    if (adapter) {
      adapter->save(dir.temp_path());
    } else {
      full->save(dir.temp_path());
      for (const char* f : {"vocab.txt", "tokenizer_config.json"})
        if (std::filesystem::exists(ctx.exp.base_path() / f))
          std::filesystem::copy_file(ctx.exp.base_path() / f, dir.temp_path() / f);
    }
    write_record(dir.temp_path(), fp, curve);
    dir.commit();
    spdlog::info("{}: saved to {} (best dev nDCG@10 {:.4f} at step {} of {})", label, out.string(),
                 curve.best_dev, curve.best_step, curve.steps_done);
  }
}

// Collects the curves recorded beside each trained model into results.h5 (rank 0).
void store_recorded_curve(const Context& ctx, const std::string& model, const std::filesystem::path& dir) {
  std::ifstream in(dir / kTrainRecord);
  if (!in) return;
  auto j = nlohmann::json::parse(in)["curve"];
  TrainCurve c;
  c.steps = j["steps"].get<std::vector<int64_t>>();
  c.loss = j["loss"].get<std::vector<double>>();
  c.lr = j["lr"].get<std::vector<double>>();
  c.eval_steps = j["eval_steps"].get<std::vector<int64_t>>();
  c.dev_ndcg10 = j["dev_ndcg10"].get<std::vector<double>>();
  c.best_step = j["best_step"].get<int64_t>();
  store_curve(ctx, model, c);
}

}  // namespace

void train_base_model(Context& ctx, bool force) {
  if (!ctx.exp.base.train) {
    if (ctx.root()) spdlog::info("train base: base.train is false; using {}", ctx.exp.base_path().string());
    return;
  }
  const auto& cfg = ctx.exp.base.training;
  std::vector<std::string> corpora;
  for (const auto& d : ctx.exp.datasets)
    corpora.push_back(file_identity(std::filesystem::path(d.path) / "corpus.jsonl"));
  const std::string fp = fingerprint(nlohmann::json{
      {"training", ctx.exp.json.value("base", nlohmann::json::object())},
      {"seed", ctx.exp.seed},
      {"corpora", corpora}}.dump());
  const auto out = ctx.exp.base_path();
  if (!force && recorded_fingerprint(out) == fp) {
    if (ctx.root()) spdlog::info("train base: {} is up to date", out.string());
    return;
  }
  const auto work = ctx.exp.output() / "checkpoints" / "base";
  // The vocabulary, learned from every corpus by rank 0.
  std::vector<Dataset> loaded;
  for (const auto& d : ctx.exp.datasets) loaded.push_back(load_dataset(d));
  std::string error;
  if (ctx.root()) {
    try {
      std::filesystem::create_directories(work);
      WordPieceTrainerParams wp;
      wp.vocab_size = cfg.vocab_size;
      WordPieceTrainer trainer(wp);
      for (const auto& d : loaded)
        for (const auto& doc : d.corpus) trainer.add_text(doc.encoder_text());
      auto vocab = trainer.train();
      AtomicFile f(work / "vocab.txt");
      for (const auto& v : vocab) f.stream() << v << "\n";
      f.commit();
      spdlog::info("train base: vocabulary of {} pieces", vocab.size());
    } catch (const Error& e) {
      error = e.what();
    }
  }
  error = ctx.world.bcast_string(error);
  if (!error.empty()) RR_THROW(Input, "{}", error);
  BertTokenizer tok(work / "vocab.txt");
  std::vector<std::vector<int32_t>> docs, titles;
  for (const auto& d : loaded)
    for (const auto& doc : d.corpus) {
      docs.push_back(body_tokens(tok, doc.encoder_text(), 512));
      // The title's tokens begin encoder_text() (title, then text), so a title pair crops only the text.
      if (cfg.title_pairs > 0) titles.push_back(body_tokens(tok, doc.title, 512));
    }
  BertConfig bc;
  bc.vocab_size = tok.vocab_size();
  bc.hidden_size = cfg.hidden_size;
  bc.num_hidden_layers = cfg.layers;
  bc.num_attention_heads = cfg.heads;
  bc.intermediate_size = cfg.intermediate_size;
  bc.max_position_embeddings = cfg.max_positions;
  bc.pad_token_id = tok.pad_id();
  BertEncoder model = BertEncoder::random(bc, ctx.exp.seed);
  model.to(ctx.device);
  BaseTrainerOptions o;
  o.config = cfg;
  o.seed = ctx.exp.seed;
  o.checkpoint_dir = work / "state";
  o.inputs = fp;
  o.cls_id = tok.cls_id();
  o.sep_id = tok.sep_id();
  o.pad_id = tok.pad_id();
  MpiCollectives coll(ctx.world);
  spdlog::info("train base: {} documents, {} layers x {} hidden, batch {}, {} steps", docs.size(), cfg.layers,
               cfg.hidden_size, cfg.batch_size, cfg.steps);
  TrainCurve curve = train_base(model, docs, titles, o, coll);
  if (ctx.root()) {
    AtomicDirectory dir(out);
    model.save(dir.temp_path());
    std::filesystem::copy_file(work / "vocab.txt", dir.temp_path() / "vocab.txt");
    {
      AtomicFile f(dir.temp_path() / "tokenizer_config.json");
      f.stream() << "{\"do_lower_case\": true, \"tokenizer_class\": \"BertTokenizer\"}\n";
      f.commit();
    }
    write_record(dir.temp_path(), fp, curve);
    dir.commit();
    store_recorded_curve(ctx, "base", out);
    spdlog::info("train base: saved {} (Hugging Face format)", out.string());
  }
  ctx.world.barrier();
}

void train_experts(Context& ctx, const std::string& only, bool force) {
  const auto& experts = ctx.exp.experts;
  std::vector<size_t> todo;
  for (size_t e = 0; e < experts.size(); ++e)
    if (only.empty() || experts[e].name == only) todo.push_back(e);
  RR_CHECK(!todo.empty(), Usage, "train expert: no expert named '{}'", only);
  const int P = ctx.world.size(), T = static_cast<int>(todo.size());
  // Placement: experts round-robin over ranks; with more ranks than experts, a group of ranks per expert.
  const int color = P <= T ? ctx.world.rank() : ctx.world.rank() % T;
  mpi::Comm group = ctx.world.split(color, ctx.world.rank());
  std::string error;
  try {
    for (int i = 0; i < T; ++i) {
      if ((P <= T ? i % P : i) != color) continue;
      const auto& x = experts[todo[i]];
      const std::string fp =
          query_side_fingerprint(ctx, "expert:" + x.name,
                                 ctx.exp.json.value("expert_training", nlohmann::json::object()), x.datasets);
      if (!force && recorded_fingerprint(x.adapter) == fp) {
        if (group.is_root()) spdlog::info("expert {}: {} is up to date", x.name, x.adapter);
        continue;
      }
      spdlog::info("expert {}: training on {} rank(s)", x.name, group.size());
      train_query_model(ctx, group, "expert-" + x.name, x.datasets, ctx.exp.expert_training, fp, x.adapter,
                        false);
    }
  } catch (const Error& e) {
    error = std::to_string(static_cast<int>(e.kind())) + e.what();
  }
  // Gather errors so that every rank fails together (with the first one's kind) instead of hanging.
  for (const auto& e : ctx.world.allgather_strings({error}))
    if (!e.empty()) throw Error(static_cast<ErrorKind>(e[0] - '0'), e.substr(1), __FILE__, __LINE__);
  if (ctx.root())
    for (size_t i : todo) store_recorded_curve(ctx, "expert-" + experts[i].name, experts[i].adapter);
  ctx.world.barrier();
}

void train_multitask(Context& ctx, bool force) {
  if (!ctx.exp.train_multitask) return;
  std::vector<std::string> datasets;
  for (const auto& x : ctx.exp.experts)
    for (const auto& d : x.datasets)
      if (std::find(datasets.begin(), datasets.end(), d) == datasets.end()) datasets.push_back(d);
  const std::string fp = query_side_fingerprint(
      ctx, "multitask", ctx.exp.json.value("multitask", nlohmann::json::object()), datasets);
  const auto out = ctx.exp.multitask_path();
  if (!force && recorded_fingerprint(out) == fp) {
    if (ctx.root()) spdlog::info("multitask: {} is up to date", out.string());
    return;
  }
  train_query_model(ctx, ctx.world, "multitask", datasets, ctx.exp.multitask, fp, out,
                    ctx.exp.multitask.full_finetune);
  if (ctx.root()) store_recorded_curve(ctx, "multitask", out);
  ctx.world.barrier();
}

}  // namespace rr::stages
