#include "config/experiment.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "common/error.h"
#include "data/json_reader.h"

namespace fs = std::filesystem;

namespace rr {

namespace {

void check_name(const std::string& where, const std::string& key, const std::string& name) {
  static const std::regex ok("[A-Za-z0-9_.-]+");
  RR_CHECK(std::regex_match(name, ok), Usage, "{}: '{}' = '{}' must match [A-Za-z0-9_.-]+", where, key, name);
}

constexpr int64_t kMany = int64_t{1} << 40;  // "no practical upper bound" for counts and steps
constexpr double kHuge = 1e12;

void read_training(JsonObjectReader r, TrainingConfig& t) {
  auto lora = r.object("lora");
  lora.get("r", t.lora.r, 1, 4096);
  lora.get("alpha", t.lora.alpha, 1e-9, kHuge);
  lora.get("dropout", t.lora.dropout, 0.0, 0.99);
  lora.get("targets", t.lora.targets);
  lora.finish();
  r.get("steps", t.steps, 0, kMany);
  r.get("batch_size", t.batch_size, 1, kMany);
  r.get("accumulation", t.accumulation, 1, kMany);
  r.get("lr", t.lr, 1e-12, 10.0);
  r.get("weight_decay", t.weight_decay, 0.0, 10.0);
  r.get("beta1", t.beta1, 0.0, 0.999999);
  r.get("beta2", t.beta2, 0.0, 0.99999999);
  r.get("eps", t.eps, 0.0, 1.0);
  r.get("warmup_ratio", t.warmup_ratio, 0.0, 1.0);
  r.get("grad_clip", t.grad_clip, 0.0, kHuge);
  r.get("temperature", t.temperature, 1e-6, 1e3);
  r.get("max_query_length", t.max_query_length, 2, 8192);
  r.get("max_doc_length", t.max_doc_length, 2, 8192);
  r.get("judged_share", t.judged_share, 0.0, 1.0);
  r.get("eval_every", t.eval_every, 0, kMany);
  r.get("patience", t.patience, 0, kMany);
  r.get("min_dev_gain", t.min_dev_gain, 0.0, 1.0);
  r.get("checkpoint_every", t.checkpoint_every, 0, kMany);
  r.get("dev_corpus_max", t.dev_corpus_max, 1, kMany);
  r.get("bf16", t.bf16);
  r.get("model_dropout", t.model_dropout);
  r.get("full_finetune", t.full_finetune);
  r.finish();
  RR_CHECK(t.batch_size % t.accumulation == 0, Usage, "{}: '{}' = {} must be a multiple of accumulation ({})",
           r.where(), r.key_path("batch_size"), t.batch_size, t.accumulation);
}

void read_base_training(JsonObjectReader bt, BaseTrainingConfig& t) {
  bt.get("vocab_size", t.vocab_size, 10, 10'000'000);
  bt.get("hidden_size", t.hidden_size, 1, 65536);
  bt.get("layers", t.layers, 1, 1000);
  bt.get("heads", t.heads, 1, 1024);
  bt.get("intermediate_size", t.intermediate_size, 1, 1 << 20);
  bt.get("max_positions", t.max_positions, 4, 65536);
  bt.get("steps", t.steps, 0, kMany);
  bt.get("batch_size", t.batch_size, 2, kMany);
  bt.get("lr", t.lr, 1e-12, 10.0);
  bt.get("weight_decay", t.weight_decay, 0.0, 10.0);
  bt.get("warmup_ratio", t.warmup_ratio, 0.0, 1.0);
  bt.get("grad_clip", t.grad_clip, 0.0, kHuge);
  bt.get("temperature", t.temperature, 1e-6, 1e3);
  bt.get("crop_min", t.crop_min, 1e-9, 1.0);
  bt.get("crop_max", t.crop_max, 1e-9, 1.0);
  bt.get("max_length", t.max_length, 4, 65536);
  bt.get("word_deletion", t.word_deletion, 0.0, 0.99);
  bt.get("title_pairs", t.title_pairs, 0.0, 1.0);
  bt.get("lexical_pairs", t.lexical_pairs, 0.0, 1.0);
  bt.get("lexical_span_min", t.lexical_span_min, 1, 65536);
  bt.get("lexical_span_max", t.lexical_span_max, 1, 65536);
  bt.get("sentence_pairs", t.sentence_pairs, 0.0, 1.0);
  bt.get("normalize", t.normalize);
  bt.get("bf16", t.bf16);
  bt.get("max_minutes", t.max_minutes, 0.0, kHuge);
  bt.get("checkpoint_every", t.checkpoint_every, 0, kMany);
  bt.finish();
  RR_CHECK(t.crop_min <= t.crop_max, Usage, "{}: {}: need crop_min <= crop_max", bt.where(), bt.key_path(""));
  RR_CHECK(t.lexical_span_min <= t.lexical_span_max, Usage,
           "{}: {}: need lexical_span_min <= lexical_span_max", bt.where(), bt.key_path(""));
  RR_CHECK(t.hidden_size % t.heads == 0, Usage, "{}: {}: hidden_size {} must be a multiple of heads {}",
           bt.where(), bt.key_path(""), t.hidden_size, t.heads);
  RR_CHECK(t.max_length <= t.max_positions, Usage, "{}: {}: max_length {} exceeds max_positions {}",
           bt.where(), bt.key_path(""), t.max_length, t.max_positions);
}

}  // namespace

bool parse_precision(const std::string& precision, const std::string& where) {
  RR_CHECK(precision == "fp32" || precision == "bf16", Usage, "{}: precision must be fp32 or bf16, got '{}'",
           where, precision);
  return precision == "bf16";
}

namespace {

void read_evaluation(JsonObjectReader v, EvaluationConfig& ev) {
  v.get("k", ev.k, 1, 10'000'000);
  v.get("store_k", ev.store_k, 1, ev.k);
  v.get("ignore_identical_ids", ev.ignore_identical_ids);
  v.get("write_trec_runs", ev.write_trec_runs);
  v.get("corpus_block", ev.corpus_block, 1, kMany);
  v.get("float16_index", ev.float16_index);
  std::string precision = "fp32";
  v.get("precision", precision);
  ev.bf16 = parse_precision(precision, v.where() + ": " + v.key_path("precision"));
  v.get("max_doc_length", ev.max_doc_length, 2, 8192);
  v.get("max_query_length", ev.max_query_length, 2, 8192);
  v.get("batch_size", ev.batch_size, 1, kMany);
  v.get("token_budget", ev.token_budget, 1, kMany);
  v.get("bm25_k1", ev.bm25_k1, 0.0, 100.0);
  v.get("bm25_b", ev.bm25_b, 0.0, 1.0);
  v.get("singles", ev.singles);
  RR_CHECK(ev.singles == "all" || ev.singles == "own" || ev.singles == "none", Usage,
           "{}: {} must be \"all\", \"own\" or \"none\", got \"{}\"", v.where(), v.key_path("singles"),
           ev.singles);
  v.finish();
}

void read_routing(JsonObjectReader r, RoutingConfig& routing) {
  std::string tie_rule = "first";
  r.get("tie_rule", tie_rule);
  try {
    routing.tie_rule = parse_tie_rule(tie_rule);
  } catch (const Error& err) {
    RR_THROW(Usage, "{}: {}: {}", r.where(), r.key_path("tie_rule"), err.what());
  }
  r.get("pilots_per_group", routing.pilots_per_group, 1, 1 << 20);
  r.get("dataset_router_instances", routing.dataset_router_instances, 1, kMany);
  r.get("top_k_mix", routing.top_k_mix, 1, 1 << 20);
  r.get("routers", routing.routers);
  r.finish();
  for (const auto& name : routing.routers) {
    try {
      router_name(name);
    } catch (const Error& err) {
      RR_THROW(Usage, "{}: {}: {}", r.where(), r.key_path("routers"), err.what());
    }
  }
}

TrainSource parse_train_source(JsonObjectReader& d) {
  std::string v = "auto";
  d.get("train_source", v);
  if (v == "auto") return {TrainSource::Kind::Auto, ""};
  if (v == "qrels") return {TrainSource::Kind::Qrels, ""};
  if (v == "none") return {TrainSource::Kind::None, ""};
  check_name(d.where(), d.key_path("train_source"), v);
  return {TrainSource::Kind::Prefix, v};
}

DevSource parse_dev_source(JsonObjectReader& d) {
  std::string v = "auto";
  d.get("dev_source", v);
  static const std::map<std::string, DevSource> kSources = {{"auto", DevSource::Auto},
                                                            {"split", DevSource::Split},
                                                            {"holdout", DevSource::HoldOut},
                                                            {"none", DevSource::None}};
  RR_CHECK(kSources.count(v), Usage, "{}: {}: must be auto, split, holdout or none, got '{}'", d.where(),
           d.key_path("dev_source"), v);
  return kSources.at(v);
}

PseudoQueries parse_pseudo_queries(JsonObjectReader& d) {
  std::string pseudo = "title";
  d.get("pseudo_queries", pseudo);
  static const std::map<std::string, PseudoQueries> kPseudo = {
      {"title", PseudoQueries::Title}, {"crop", PseudoQueries::Crop}, {"none", PseudoQueries::None}};
  RR_CHECK(kPseudo.count(pseudo), Usage, "{}: {}: must be title, crop or none", d.where(),
           d.key_path("pseudo_queries"));
  return kPseudo.at(pseudo);
}

// Reads the document section by section; paths the user gives are relative to the config file and are made
// absolute once, so that a stage run from another directory (a Slurm job's --chdir) sees the same files.
class Parser {
 public:
  Parser(Experiment& e, const fs::path& file)
      : e_(e),
        where_(file.string()),
        base_dir_(file.has_parent_path() ? file.parent_path() : fs::path(".")) {}

  void resolve(std::string& p) const {
    if (!p.empty())
      p = fs::absolute(fs::path(p).is_relative() ? base_dir_ / p : fs::path(p)).lexically_normal().string();
  }
  PathResolver resolver() const {
    return [this](std::string& p) { resolve(p); };
  }

  void top(JsonObjectReader& root) {
    root.get("name", e_.name);
    int64_t seed = static_cast<int64_t>(e_.seed);
    root.get("seed", seed, 0, std::numeric_limits<int64_t>::max());
    e_.seed = static_cast<uint64_t>(seed);
    e_.output_dir = "runs/" + e_.name;
    root.get_path("output_dir", e_.output_dir, resolver());
    resolve(e_.output_dir);
    root.get("device", e_.device);
    root.get_path("trained_models", e_.trained_models, resolver());
  }

  void dataset(JsonObjectReader d) {
    DatasetConfig c;
    c.name = name_of(d, names_, "dataset");
    c.path = (fs::path(e_.output_dir) / "data" / c.name).string();
    d.get_path("path", c.path, resolver());
    auto s = d.object("source");
    c.source = parse_source(s, resolver());
    s.finish();
    d.get("qrels", c.qrels);
    auto sp = d.object("split");
    sp.get("train", c.split.train, 0.0, 1.0);
    sp.get("dev", c.split.dev, 0.0, 1.0);
    sp.finish();
    RR_CHECK(c.split.train + c.split.dev <= 1, Usage, "{}: {}: train + dev must be at most 1", where_,
             sp.key_path(""));
    d.get("split_queries", c.split_queries);
    d.get("train_split", c.train_split);
    d.get("dev_split", c.dev_split);
    d.get("test_split", c.test_split);
    c.train_source = parse_train_source(d);
    c.dev_source = parse_dev_source(d);
    d.get("dev_holdout", c.dev_holdout, 1, kMany);
    RR_CHECK(
        c.dev_source != DevSource::Split || c.dev_split != c.test_split, Usage,
        "{}: {}: dev_source 'split' would select checkpoints on the evaluation split '{}' (use 'holdout')",
        where_, d.key_path("dev_source"), c.test_split);
    c.pseudo_queries = parse_pseudo_queries(d);
    d.get("max_pseudo_queries", c.max_pseudo_queries, 0, kMany);
    d.get("evaluate", c.evaluate);
    d.get("checksums", c.checksums);
    for (const auto& [file, sum] : c.checksums)
      RR_CHECK(sum.size() == 64 && sum.find_first_not_of("0123456789abcdef") == std::string::npos, Usage,
               "{}: {}.{}: expected a SHA-256 as 64 lowercase hex digits (sha256sum's), got '{}'", where_,
               d.key_path("checksums"), file, sum);
    d.finish();
    e_.datasets.push_back(std::move(c));
  }

  void base(JsonObjectReader b) {
    e_.base.path = (fs::path(e_.output_dir) / "base").string();
    b.get_path("path", e_.base.path, resolver());
    b.get("train", e_.base.train);
    read_base_training(b.object("training"), e_.base.training);
    b.finish();
  }

  void expert(JsonObjectReader x) {
    ExpertConfig c;
    c.name = name_of(x, expert_names_, "expert");
    c.datasets = {c.name};
    x.get("datasets", c.datasets);
    for (const auto& d : c.datasets)
      RR_CHECK(names_.count(d), Usage, "{}: expert '{}' trains on '{}', which 'datasets' does not define",
               where_, c.name, d);
    c.adapter =
        (fs::path(e_.models_read_only() ? e_.trained_models : e_.output_dir) / "experts" / c.name).string();
    x.get_path("adapter", c.adapter, resolver());
    x.finish();
    e_.experts.push_back(std::move(c));
  }

 private:
  // The "name" of a dataset or expert: present, a valid HDF5 path component, unique.
  std::string name_of(JsonObjectReader& r, std::set<std::string>& seen, const char* what) const {
    std::string name;
    r.get("name", name);
    RR_CHECK(!name.empty(), Usage, "{}: {} needs a name", where_, r.key_path("name"));
    check_name(where_, r.key_path("name"), name);
    RR_CHECK(seen.insert(name).second, Usage, "{}: {} '{}' defined twice", where_, what, name);
    return name;
  }

  Experiment& e_;
  std::string where_;
  fs::path base_dir_;
  std::set<std::string> names_, expert_names_;
};

}  // namespace

Experiment Experiment::load(const fs::path& file, const std::vector<std::string>& overrides) {
  std::ifstream in(file);
  if (!in) RR_THROW(Usage, "{}: cannot open experiment config", file.string());
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const std::exception& e) {
    RR_THROW(Usage, "{}: invalid JSON: {}", file.string(), e.what());
  }
  for (const auto& o : overrides) apply_override(doc, o);
  return parse(doc, file);
}

Experiment Experiment::parse(const nlohmann::json& doc, const fs::path& file) {
  Experiment e;
  e.file = file;
  e.json = doc;
  Parser p(e, file);
  JsonObjectReader root(doc, file.string(), "");
  p.top(root);
  for (auto d : root.objects("datasets")) p.dataset(d);
  RR_CHECK(!e.datasets.empty(), Usage, "{}: 'datasets' must list at least one dataset", file.string());
  p.base(root.object("base"));
  for (auto x : root.objects("experts")) p.expert(x);
  read_training(root.object("expert_training"), e.expert_training);
  e.multitask = e.expert_training;
  read_training(root.object("multitask"), e.multitask);
  root.get("train_multitask", e.train_multitask);
  root.get("max_loaded_experts", e.max_loaded_experts, 1, kMany);
  read_routing(root.object("routing"), e.routing);
  read_evaluation(root.object("evaluation"), e.evaluation);
  read_slurm(root.object("slurm"), e.slurm);
  root.finish();
  return e;
}

const DatasetConfig& Experiment::dataset(const std::string& n) const {
  for (const auto& d : datasets)
    if (d.name == n) return d;
  RR_THROW(Usage, "{}: no dataset named '{}'", file.string(), n);
}

const ExpertConfig& Experiment::expert(const std::string& n) const {
  for (const auto& x : experts)
    if (x.name == n) return x;
  RR_THROW(Usage, "{}: no expert named '{}' (experts: {})", file.string(), n,
           fmt::join(expert_names(), ", "));
}

std::vector<std::string> Experiment::expert_names() const {
  std::vector<std::string> out;
  for (const auto& x : experts) out.push_back(x.name);
  return out;
}

std::vector<std::string> Experiment::training_datasets() const {
  std::vector<std::string> out;
  for (const auto& x : experts)
    for (const auto& d : x.datasets)
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  return out;
}

int32_t Experiment::expert_of(const std::string& dataset) const {
  for (size_t e = 0; e < experts.size(); ++e)
    if (std::find(experts[e].datasets.begin(), experts[e].datasets.end(), dataset) !=
        experts[e].datasets.end())
      return static_cast<int32_t>(e);
  return -1;
}

}  // namespace rr
