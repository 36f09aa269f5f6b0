// routerretriever check: the pre-flight a cluster user runs before submitting an experiment. On one core,
// without building any index: every input file exists and parses (the first bad line named), ids are unique,
// judgments name known queries, every expert has training queries, dev is not the evaluation split, the base
// model directory is complete (tensor names and shapes from the weights' header) and given adapters fit it;
// then the plan: counts per dataset, the work of each stage, and the peak memory per rank and disk for P
// ranks. Every problem is listed at once; exit 2 when there is any.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "common/error.h"
#include "data/jsonl_reader.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "model/bert_encoder.h"
#include "model/lora.h"
#include "model/pytorch_bin.h"
#include "model/safetensors_format.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"
#include "mpi/stages/datasets.h"
#include "mpi/stages/plan.h"
#include "mpi/stages/provenance.h"
#include "mpi/stages/stage.h"
#include "text/bert_tokenizer.h"

namespace rr::commands {

namespace {

using stages::DatasetCounts;

// Runs fn; an rr::Error (or any exception) becomes one problem line instead of stopping the check.
template <typename Fn>
void record(std::vector<std::string>& problems, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    problems.push_back(e.what());
  }
}

// The corpus: parses every line, checks ids are unique, returns them.
std::unordered_set<std::string> check_corpus(const std::filesystem::path& file, DatasetCounts& c) {
  std::unordered_set<std::string> ids;
  JsonLinesReader reader(file, {.require_text = false});
  for (TextRecord r; reader.next(r);) {
    RR_CHECK(ids.insert(r.id).second, Input, "{}:{}: field '_id': duplicate id '{}'", file.string(), r.line,
             r.id);
    c.corpus_bytes += static_cast<int64_t>(r.title.size() + r.text.size());
  }
  RR_CHECK(!ids.empty(), Input, "{}: empty corpus", file.string());
  c.documents = static_cast<int64_t>(ids.size());
  return ids;
}

// Judgments with a positive grade on documents of the corpus (the training pairs), and the others.
void count_pairs(const stages::QuerySet& set, const std::unordered_set<std::string>& docs, int64_t& pairs,
                 int64_t& unknown) {
  for (const auto& [qid, judged] : set.qrels)
    for (const auto& [doc, rel] : judged) {
      if (!docs.count(doc)) ++unknown;
      pairs += rel > 0 && docs.count(doc);
    }
}

// The training queries of `dataset` with a unique best expert in results.h5's /scores, when score has run for
// the current experts (else -1): the rows the classifier routers learn from.
int64_t labelled_queries(const Experiment& exp, const std::string& dataset) {
  if (!std::filesystem::exists(exp.results_file())) return -1;
  try {  // an estimate only: results the plan cannot read leave it at its bound
    const auto f = h5::File::open(exp.results_file(), false);
    const std::string scores = schema::scores(dataset);
    if (!f.exists(scores) || !f.has_attr(scores, schema::kAttrExperts) ||
        f.attr_strings(scores, schema::kAttrExperts) != exp.expert_names())
      return -1;
    const at::Tensor s = f.read_matrix(scores).to(at::kDouble);
    if (s.dim() != 2 || s.size(1) == 0) return -1;
    const at::Tensor best = std::get<0>(s.max(1, true));
    return (s == best).sum(1).eq(1).sum().item<int64_t>();
  } catch (const std::exception&) {
    return -1;
  }
}

DatasetCounts check_dataset(const Experiment& exp, const DatasetConfig& cfg,
                            std::vector<std::string>& problems) {
  DatasetCounts c;
  c.name = cfg.name;
  c.has_expert = exp.expert_of(cfg.name) >= 0;
  c.evaluated = cfg.evaluate;
  const std::filesystem::path dir = cfg.path;
  if (!std::filesystem::is_directory(dir)) {
    if (!cfg.source) {
      problems.push_back(fmt::format("dataset '{}': {} does not exist and has no source to prepare it from",
                                     cfg.name, dir.string()));
      return c;
    }
    const nlohmann::json identity = cfg.source->identity();  // items() of a temporary would dangle
    for (const auto& [key, id] : identity.items())
      if (id.is_string() && id.get<std::string>().empty())
        problems.push_back(fmt::format("dataset '{}': source '{}' file is missing", cfg.name, key));
    c.note = "prepared by `prepare` from its " + cfg.source->name() + " source";
    return c;
  }
  std::unordered_set<std::string> docs;
  record(problems, [&] { docs = check_corpus(dir / "corpus.jsonl", c); });
  stages::Dataset d;
  d.config = &cfg;
  record(problems, [&] { stages::load_query_sets(cfg, exp.seed, d); });
  c.train = static_cast<int64_t>(d.train.queries.size());
  c.dev = static_cast<int64_t>(d.dev.queries.size());
  c.test = static_cast<int64_t>(d.test.queries.size());
  c.train_origin = d.train.origin.empty() ? "none" : d.train.origin;
  c.dev_origin = d.dev.origin.empty() ? "none" : d.dev.origin;
  count_pairs(d.train, docs, c.train_pairs, c.unknown_documents);
  if (c.has_expert && d.train.empty()) problems.push_back(stages::no_training_data_message(cfg));
  if (c.has_expert) c.labelled = labelled_queries(exp, cfg.name);
  if (cfg.evaluate && d.test.empty())
    problems.push_back(fmt::format("dataset '{}' is evaluated but {} has no judged queries", cfg.name,
                                   beir_qrels_path(dir, cfg.test_split).string()));
  return c;
}

// Names and shapes of a model's weights (the safetensors header, or a pytorch_model.bin read whole).
std::map<std::string, std::vector<int64_t>> weight_shapes(const std::filesystem::path& dir) {
  std::map<std::string, std::vector<int64_t>> shapes;
  const auto add = [&](std::string name, std::vector<int64_t> shape) {
    if (name.rfind("bert.", 0) == 0) name = name.substr(5);
    shapes[name] = std::move(shape);
  };
  if (std::filesystem::exists(dir / "model.safetensors")) {
    for (const auto& e : parse_safetensors(dir / "model.safetensors", /*header_only=*/true).entries)
      add(e.name, e.shape);
  } else if (std::filesystem::exists(dir / "pytorch_model.bin")) {
    for (const auto& [name, t] : read_pytorch_bin(dir / "pytorch_model.bin")) add(name, t.sizes().vec());
  } else {
    RR_THROW(Input, "{}: no model.safetensors or pytorch_model.bin", dir.string());
  }
  return shapes;
}

// The base model directory; returns its hidden size (0 when unknown).
int64_t check_base(const Experiment& exp, std::vector<std::string>& problems) {
  if (exp.base.train) return exp.base.training.hidden_size;
  const auto dir = exp.base_path();
  int64_t hidden = 0;
  record(problems, [&] {
    RR_CHECK(std::filesystem::is_directory(dir), Input, "base model {} does not exist (base.path)",
             dir.string());
    const BertConfig config = BertConfig::load(dir / "config.json");
    hidden = config.hidden_size;
    BertTokenizer::from_directory(dir);
    const auto tensor_problems = bert_tensor_problems(config, weight_shapes(dir));
    for (const auto& p : tensor_problems)
      problems.push_back(fmt::format("base model {}: {}", dir.string(), p));
  });
  return hidden;
}

// Adapters that exist already (given by the user, or trained earlier) must fit the base.
void check_adapters(const Experiment& exp, std::vector<std::string>& problems) {
  std::vector<const ExpertConfig*> given;
  for (const auto& x : exp.experts)
    if (std::filesystem::exists(std::filesystem::path(x.adapter) / "adapter_config.json"))
      given.push_back(&x);
  if (given.empty() || exp.base.train || !std::filesystem::exists(exp.base_path() / "config.json")) return;
  record(problems, [&] {
    const BertEncoder base = BertEncoder::load(exp.base_path());
    for (const auto* x : given) record(problems, [&] { LoraAdapter::load(x->adapter, base); });
  });
}

// output_dir must be a directory rr can create and write: its nearest existing ancestor decides.
void check_output_dir(const Experiment& exp, std::vector<std::string>& problems) {
  std::filesystem::path p = exp.output();
  while (!p.empty() && !std::filesystem::exists(p) && p != p.parent_path()) p = p.parent_path();
  const bool writable = std::filesystem::is_directory(p) && ::access(p.c_str(), W_OK) == 0;
  if (!writable)
    problems.push_back(
        fmt::format("{}: 'output_dir' = '{}' cannot be created or written ({} is not a "
                    "writable directory)",
                    exp.file.string(), exp.output().string(), p.string()));
}

// Suggested --time per stage from what the last run of this experiment measured (<output_dir>/resources/
// <stage>.json: wall time on its rank count), scaled to `ranks` as perfectly parallel work with a margin of
// 1.5 and rounded up to 10 minutes; "" when no stage has been measured.
std::string time_suggestions(const Experiment& exp, int ranks) {
  std::string out;
  for (const auto& s : stages::stage_table()) {
    const auto file = exp.output() / "resources" / (s.name + ".json");
    std::ifstream in(file);
    if (!in) continue;
    try {
      const auto j = nlohmann::json::parse(in);
      const double wall = j.at("wall_s").get<double>();
      const int measured = j.at("ranks").get<int>();
      const double scaled = 1.5 * wall * measured / static_cast<double>(ranks);
      const int64_t minutes = std::max<int64_t>(10, (static_cast<int64_t>(scaled / 60) / 10 + 1) * 10);
      out += fmt::format("  {:<16} measured {:.1f} s on {} rank(s) -> --time={:02d}:{:02d}:00\n", s.name,
                         wall, measured, minutes / 60, minutes % 60);
    } catch (const std::exception&) {
      continue;  // a damaged record suggests nothing
    }
  }
  return out.empty() ? ""
                     : fmt::format(
                           "\ntime per stage from the last run ({}), scaled to {} ranks with a margin of "
                           "1.5 (slurm.<stage>.time):\n{}",
                           (exp.output() / "resources").string(), ranks, out);
}

// The inputs now against those results.h5 recorded (checksummed where size or mtime moved), and the
// datasets' expected checksums; "" when there is no earlier run or nothing changed.
std::string input_report(const Experiment& exp, std::vector<std::string>& problems) {
  auto now = stages::list_inputs(exp);
  const auto recorded = stages::recorded_inputs(exp.results_file());
  record(problems, [&] {
    stages::checksum_inputs(now, recorded);
    stages::verify_checksums(exp, now);
  });
  if (recorded.empty()) return "";
  const auto changes = stages::input_changes(recorded, now);
  if (changes.empty())
    return fmt::format("\ninputs: the {} files {} recorded are unchanged\n", recorded.size(),
                       exp.results_file().string());
  return fmt::format(
      "\ninputs changed since {} recorded them (the stages that read them will rerun):\n  {}\n",
      exp.results_file().string(), fmt::join(changes, "\n  "));
}

}  // namespace

int check(const Args& args) {
  cli::po::options_description opt("check options");
  cli::add_experiment_options(opt);
  opt.add_options()("ranks", cli::po::value<int>()->default_value(64), "ranks the plan is made for (P)");
  cli::po::variables_map vm;
  if (!cli::parse(
          {"check", "--config EXP.json [--ranks P] [--set key=value]...",
           "The pre-flight before a cluster run: checks every input of the experiment (files, ids,\n"
           "judgments, training data, splits, models) without building anything, lists every problem,\n"
           "then prints the plan (counts, work per stage, peak memory per rank and disk for P ranks).\n"
           "Exit status 2 when there is any problem."},
          opt, args, vm))
    return 0;
  const Experiment exp = cli::load_experiment(vm);
  const int ranks = vm["ranks"].as<int>();
  RR_CHECK(ranks >= 1, Usage, "check: --ranks must be at least 1, got {}", ranks);
  std::vector<std::string> problems;
  std::vector<DatasetCounts> counts;
  for (const auto& d : exp.datasets) counts.push_back(check_dataset(exp, d, problems));
  const int64_t hidden = check_base(exp, problems);
  check_adapters(exp, problems);
  check_output_dir(exp, problems);
  std::cout << stages::plan_report(exp, counts, hidden > 0 ? hidden : 768, ranks);
  std::cout << time_suggestions(exp, ranks);
  std::cout << input_report(exp, problems);
  if (problems.empty()) {
    std::cout << "\ncheck: no problems found\n";
    return 0;
  }
  std::cout << "\ncheck: " << problems.size() << " problem(s):\n";
  for (const auto& p : problems) std::cout << "  - " << p << "\n";
  RR_THROW(Input, "check: {} problem(s) in {} (listed above)", problems.size(), exp.file.string());
}

}  // namespace rr::commands
