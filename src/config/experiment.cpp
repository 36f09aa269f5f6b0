#include "config/experiment.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "common/error.h"
#include "config/json_reader.h"

namespace fs = std::filesystem;

namespace rr {

namespace {

void check_name(const std::string& where, const std::string& key, const std::string& name) {
  static const std::regex ok("[A-Za-z0-9_.-]+");
  RR_CHECK(std::regex_match(name, ok), Usage, "{}: '{}' = '{}' must match [A-Za-z0-9_.-]+", where, key, name);
}

void read_training(JsonObjectReader r, TrainingConfig& t) {
  auto lora = r.object("lora");
  lora.get("r", t.lora.r);
  lora.get("alpha", t.lora.alpha);
  lora.get("dropout", t.lora.dropout);
  lora.get("targets", t.lora.targets);
  lora.finish();
  r.get("steps", t.steps);
  r.get("batch_size", t.batch_size);
  r.get("accumulation", t.accumulation);
  r.get("lr", t.lr);
  r.get("weight_decay", t.weight_decay);
  r.get("beta1", t.beta1);
  r.get("beta2", t.beta2);
  r.get("eps", t.eps);
  r.get("warmup_ratio", t.warmup_ratio);
  r.get("grad_clip", t.grad_clip);
  r.get("temperature", t.temperature);
  r.get("max_query_length", t.max_query_length);
  r.get("max_doc_length", t.max_doc_length);
  r.get("judged_share", t.judged_share);
  r.get("eval_every", t.eval_every);
  r.get("patience", t.patience);
  r.get("min_dev_gain", t.min_dev_gain);
  r.get("checkpoint_every", t.checkpoint_every);
  r.get("bf16", t.bf16);
  r.get("model_dropout", t.model_dropout);
  r.get("full_finetune", t.full_finetune);
  r.finish();
  const std::string w = r.where() + ": " + r.key_path("");
  RR_CHECK(t.steps >= 0 && t.batch_size > 0 && t.accumulation > 0 && t.batch_size % t.accumulation == 0,
           Usage, "{}: steps >= 0, batch_size > 0 and a multiple of accumulation (got {}, {}, {})", w,
           t.steps, t.batch_size, t.accumulation);
  RR_CHECK(t.lr > 0 && t.temperature > 0 && t.lora.r > 0, Usage,
           "{}: lr, temperature and lora.r must be positive", w);
  RR_CHECK(t.judged_share >= 0 && t.judged_share <= 1 && t.warmup_ratio >= 0 && t.warmup_ratio <= 1, Usage,
           "{}: judged_share and warmup_ratio must be in [0, 1]", w);
  RR_CHECK(t.max_query_length >= 2 && t.max_doc_length >= 2, Usage, "{}: max lengths must be >= 2", w);
}

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
  const std::string where = file.string();
  const fs::path base_dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  // Paths the user gives are relative to the config file; every path is made absolute once, so that a stage
  // run from another directory (a Slurm job's --chdir) sees the same files.
  auto resolve = [&](std::string& p) {
    if (!p.empty())
      p = fs::absolute(fs::path(p).is_relative() ? base_dir / p : fs::path(p)).lexically_normal().string();
  };
  // Reads a path key: as given (resolved), or the default (already absolute: derived from output_dir).
  auto get_path = [&](JsonObjectReader& r, const char* key, std::string& dst) {
    if (!r.has(key)) {
      r.get(key, dst);  // marks the key known
      return;
    }
    r.get(key, dst);
    resolve(dst);
  };
  JsonObjectReader root(doc, where, "");
  root.get("name", e.name);
  int64_t seed = static_cast<int64_t>(e.seed);
  root.get("seed", seed);
  e.seed = static_cast<uint64_t>(seed);
  e.output_dir = "runs/" + e.name;
  root.get("output_dir", e.output_dir);
  resolve(e.output_dir);
  root.get("device", e.device);

  std::set<std::string> names;
  for (auto d : root.objects("datasets")) {
    DatasetConfig c;
    d.get("name", c.name);
    RR_CHECK(!c.name.empty(), Usage, "{}: {} needs a name", where, d.key_path("name"));
    check_name(where, d.key_path("name"), c.name);
    RR_CHECK(names.insert(c.name).second, Usage, "{}: dataset '{}' defined twice", where, c.name);
    c.path = (fs::path(e.output_dir) / "data" / c.name).string();
    get_path(d, "path", c.path);
    auto s = d.object("source");
    c.source = parse_source(s, resolve);
    s.finish();
    d.get("qrels", c.qrels);
    auto sp = d.object("split");
    sp.get("train", c.split.train);
    sp.get("dev", c.split.dev);
    sp.finish();
    RR_CHECK(c.split.train >= 0 && c.split.dev >= 0 && c.split.train + c.split.dev <= 1, Usage,
             "{}: {}: train + dev must be within [0, 1]", where, sp.key_path(""));
    d.get("split_queries", c.split_queries);
    d.get("train_split", c.train_split);
    d.get("dev_split", c.dev_split);
    d.get("test_split", c.test_split);
    std::string pseudo = "title";
    d.get("pseudo_queries", pseudo);
    static const std::map<std::string, PseudoQueries> kPseudo = {
        {"title", PseudoQueries::Title}, {"crop", PseudoQueries::Crop}, {"none", PseudoQueries::None}};
    RR_CHECK(kPseudo.count(pseudo), Usage, "{}: {}: must be title, crop or none", where,
             d.key_path("pseudo_queries"));
    c.pseudo_queries = kPseudo.at(pseudo);
    d.get("max_pseudo_queries", c.max_pseudo_queries);
    d.get("evaluate", c.evaluate);
    d.finish();
    e.datasets.push_back(std::move(c));
  }
  RR_CHECK(!e.datasets.empty(), Usage, "{}: 'datasets' must list at least one dataset", where);

  auto b = root.object("base");
  e.base.path = (fs::path(e.output_dir) / "base").string();
  get_path(b, "path", e.base.path);
  b.get("train", e.base.train);
  auto bt = b.object("training");
  auto& t = e.base.training;
  bt.get("vocab_size", t.vocab_size);
  bt.get("hidden_size", t.hidden_size);
  bt.get("layers", t.layers);
  bt.get("heads", t.heads);
  bt.get("intermediate_size", t.intermediate_size);
  bt.get("max_positions", t.max_positions);
  bt.get("steps", t.steps);
  bt.get("batch_size", t.batch_size);
  bt.get("lr", t.lr);
  bt.get("weight_decay", t.weight_decay);
  bt.get("warmup_ratio", t.warmup_ratio);
  bt.get("grad_clip", t.grad_clip);
  bt.get("temperature", t.temperature);
  bt.get("crop_min", t.crop_min);
  bt.get("crop_max", t.crop_max);
  bt.get("max_length", t.max_length);
  bt.get("word_deletion", t.word_deletion);
  bt.get("title_pairs", t.title_pairs);
  bt.get("normalize", t.normalize);
  bt.get("bf16", t.bf16);
  bt.get("max_minutes", t.max_minutes);
  bt.get("checkpoint_every", t.checkpoint_every);
  bt.finish();
  b.finish();
  RR_CHECK(t.crop_min > 0 && t.crop_min <= t.crop_max && t.crop_max <= 1, Usage,
           "{}: base.training: need 0 < crop_min <= crop_max <= 1", where);
  RR_CHECK(t.batch_size > 1 && t.steps >= 0 && t.max_length >= 4, Usage,
           "{}: base.training: batch_size > 1, steps >= 0, max_length >= 4", where);

  std::set<std::string> expert_names;
  for (auto x : root.objects("experts")) {
    ExpertConfig c;
    x.get("name", c.name);
    RR_CHECK(!c.name.empty(), Usage, "{}: {} needs a name", where, x.key_path("name"));
    check_name(where, x.key_path("name"), c.name);
    RR_CHECK(expert_names.insert(c.name).second, Usage, "{}: expert '{}' defined twice", where, c.name);
    c.datasets = {c.name};
    x.get("datasets", c.datasets);
    for (const auto& d : c.datasets)
      RR_CHECK(names.count(d), Usage, "{}: expert '{}' trains on '{}', which 'datasets' does not define",
               where, c.name, d);
    c.adapter = (fs::path(e.output_dir) / "experts" / c.name).string();
    get_path(x, "adapter", c.adapter);
    x.finish();
    e.experts.push_back(std::move(c));
  }
  read_training(root.object("expert_training"), e.expert_training);
  e.multitask = e.expert_training;
  read_training(root.object("multitask"), e.multitask);
  root.get("train_multitask", e.train_multitask);

  auto r = root.object("routing");
  std::string tie_rule = "first";
  r.get("tie_rule", tie_rule);
  try {
    e.routing.tie_rule = parse_tie_rule(tie_rule);
  } catch (const Error& err) {
    RR_THROW(Usage, "{}: routing.tie_rule: {}", where, err.what());
  }
  r.get("pilots_per_group", e.routing.pilots_per_group);
  r.get("dataset_router_instances", e.routing.dataset_router_instances);
  r.get("top_k_mix", e.routing.top_k_mix);
  r.get("routers", e.routing.routers);
  r.finish();
  for (const auto& name : e.routing.routers) {
    try {
      router_info(name);
    } catch (const Error& err) {
      RR_THROW(Usage, "{}: routing.routers: {}", where, err.what());
    }
  }

  auto v = root.object("evaluation");
  auto& ev = e.evaluation;
  v.get("k", ev.k);
  v.get("store_k", ev.store_k);
  v.get("ignore_identical_ids", ev.ignore_identical_ids);
  v.get("write_trec_runs", ev.write_trec_runs);
  v.get("corpus_block", ev.corpus_block);
  v.get("float16_index", ev.float16_index);
  v.get("max_doc_length", ev.max_doc_length);
  v.get("max_query_length", ev.max_query_length);
  v.get("batch_size", ev.batch_size);
  v.get("token_budget", ev.token_budget);
  v.get("bm25_k1", ev.bm25_k1);
  v.get("bm25_b", ev.bm25_b);
  v.finish();
  RR_CHECK(ev.k > 0 && ev.store_k > 0 && ev.store_k <= ev.k && ev.corpus_block > 0, Usage,
           "{}: evaluation: need k > 0, 0 < store_k <= k, corpus_block > 0", where);
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
    if (std::find(experts[e].datasets.begin(), experts[e].datasets.end(), dataset) != experts[e].datasets.end())
      return static_cast<int32_t>(e);
  return -1;
}

}  // namespace rr
