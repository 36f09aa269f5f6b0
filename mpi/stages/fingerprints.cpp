#include "mpi/stages/fingerprints.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/error.h"
#include "common/fingerprint.h"
#include "data/beir.h"

namespace rr::stages {

std::string fingerprint_of(const nlohmann::json& parts) {
  return fingerprint(parts.dump());
}

nlohmann::json config_section(const Experiment& exp, const char* key) {
  return exp.json.value(key, nlohmann::json::object());
}

std::string dataset_fingerprint(const Experiment& exp, const DatasetConfig& d) {
  nlohmann::json files;
  if (d.source) {
    files = d.source->identity();
  } else {  // used as it is: its own files
    const std::filesystem::path dir = d.path;
    for (const auto& split : {d.train_split, d.dev_split, d.test_split})
      files[split] = file_identity(beir_qrels_path(dir, split));
    files["corpus"] = file_identity(dir / "corpus.jsonl");
    files["queries"] = file_identity(dir / "queries.jsonl");
    for (const auto& f : generated_query_files(dir)) files[f.name] = file_identity(f.path);
  }
  // What the prepared folder and its splits depend on (not where it lies, nor whether it is evaluated).
  return fingerprint_of({{"files", files},
                         {"qrels", d.qrels},
                         {"split", {d.split.train, d.split.dev}},
                         {"split_queries", d.split_queries},
                         {"splits", {d.train_split, d.dev_split, d.test_split}},
                         {"seed", exp.seed}});
}

std::string base_fingerprint(const Experiment& exp) {
  if (!exp.base.train) {
    nlohmann::json files;
    for (const char* f : {"config.json", "model.safetensors", "pytorch_model.bin", "vocab.txt",
                          "modules.json", "1_Pooling/config.json"})
      files[f] = file_identity(exp.base_path() / f);
    return fingerprint_of({{"given", exp.base_path().string()}, {"files", files}});
  }
  nlohmann::json corpora = nlohmann::json::array();
  for (const auto& d : exp.datasets) corpora.push_back(dataset_fingerprint(exp, d));
  return fingerprint_of(
      {{"training", config_section(exp, "base")}, {"seed", exp.seed}, {"corpora", corpora}});
}

std::string index_fingerprint(const Experiment& exp, const DatasetConfig& d) {
  nlohmann::json parts = {{"base", base_fingerprint(exp)},
                          {"dataset", dataset_fingerprint(exp, d)},
                          {"max_doc_length", exp.evaluation.max_doc_length},
                          {"float16", exp.evaluation.float16_index},
                          {"block", exp.evaluation.corpus_block}};
  if (exp.evaluation.bf16) parts["precision"] = "bf16";  // fp32 indexes keep their fingerprints
  if (exp.evaluation.index_type() == VectorType::BFloat16) parts["stored"] = "bfloat16";
  return fingerprint_of(parts);
}

namespace {

// A query-side model: its training settings, the base, and its training datasets (their definitions and
// index), nothing else, so that adding an expert with a dataset of its own retrains no other.
// Which of a dataset's queries train and select (the sources), on top of its index.
nlohmann::json training_queries(const Experiment& exp, const DatasetConfig& d) {
  return {index_fingerprint(exp, d),
          static_cast<int>(d.train_source.kind),
          d.train_source.prefix,
          static_cast<int>(d.dev_source),
          d.dev_holdout,
          static_cast<int>(d.pseudo_queries),
          d.max_pseudo_queries};
}

std::string query_side_fingerprint(const Experiment& exp, const std::string& what,
                                   const nlohmann::json& training, const std::vector<std::string>& datasets) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& name : datasets) inputs.push_back(training_queries(exp, exp.dataset(name)));
  return fingerprint_of({{"what", what},
                         {"training", training},
                         {"seed", exp.seed},
                         {"datasets", datasets},
                         {"inputs", inputs}});
}

// The files of a trained model as they are now: a model replaced behind rr's back (or damaged) is new input.
nlohmann::json model_files(const std::filesystem::path& dir) {
  nlohmann::json files;
  for (const char* f :
       {"adapter_model.safetensors", "adapter_model.bin", "model.safetensors", "pytorch_model.bin"})
    if (const auto id = file_identity(dir / f); !id.empty()) files[f] = id;
  return files;
}

// A model another experiment trained (trained_models): its files are all there is to it here.
std::string read_only_fingerprint(const std::filesystem::path& dir) {
  return fingerprint_of({{"read_only", dir.string()}, {"files", model_files(dir)}});
}

}  // namespace

std::string expert_fingerprint(const Experiment& exp, const ExpertConfig& x) {
  if (exp.models_read_only()) return read_only_fingerprint(x.adapter);
  return query_side_fingerprint(exp, "expert:" + x.name, config_section(exp, "expert_training"), x.datasets);
}

std::string multitask_fingerprint(const Experiment& exp) {
  if (exp.models_read_only()) return read_only_fingerprint(exp.multitask_path());
  // The multi-task settings start from the expert settings: both sections count.
  return query_side_fingerprint(
      exp, "multitask",
      nlohmann::json::array({config_section(exp, "expert_training"), config_section(exp, "multitask")}),
      exp.training_datasets());
}

std::string training_queries_fingerprint(const Experiment& exp, const DatasetConfig& d) {
  return fingerprint_of(
      {{"queries", training_queries(exp, d)}, {"max_query_length", exp.evaluation.max_query_length}});
}

std::string score_column_fingerprint(const Experiment& exp, const ExpertConfig& x, const DatasetConfig& d) {
  return fingerprint_of({{"expert", expert_fingerprint(exp, x)},
                         {"files", model_files(x.adapter)},
                         {"queries", training_queries(exp, d)},
                         {"ignore_identical_ids", exp.evaluation.ignore_identical_ids},
                         {"max_query_length", exp.evaluation.max_query_length}});
}

nlohmann::json dataset_fingerprints(const Experiment& exp) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : exp.datasets) out.push_back(dataset_fingerprint(exp, d));
  return out;
}

nlohmann::json index_fingerprints(const Experiment& exp) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : exp.datasets) out.push_back(index_fingerprint(exp, d));
  return out;
}

nlohmann::json expert_fingerprints(const Experiment& exp) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& x : exp.experts) out.push_back(expert_fingerprint(exp, x));
  return out;
}

bool has_model_weights(const std::filesystem::path& dir) {
  return !model_files(dir).empty();
}

nlohmann::json model_file_identities(const Experiment& exp) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& x : exp.experts) out.push_back(model_files(x.adapter));
  out.push_back(model_files(exp.multitask_path()));
  return out;
}

nlohmann::json score_column_fingerprints(const Experiment& exp) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : exp.training_datasets())
    for (const auto& x : exp.experts) out.push_back(score_column_fingerprint(exp, x, exp.dataset(name)));
  return out;
}

std::string pilot_inputs_fingerprint(const Experiment& exp) {
  return fingerprint_of({{"scores", score_column_fingerprints(exp)},
                         {"routing", config_section(exp, "routing")},
                         {"max_query_length", exp.evaluation.max_query_length},
                         {"seed", exp.seed}});
}

namespace {

// The value at a JSON pointer ("/routing/tie_rule") as compact JSON, "(unset)" when absent.
std::string value_at(const nlohmann::json& doc, const std::string& pointer) {
  const nlohmann::json::json_pointer p(pointer);
  return doc.contains(p) ? doc.at(p).dump() : "(unset)";
}

}  // namespace

std::vector<std::string> config_differences(const nlohmann::json& before, const nlohmann::json& now,
                                            const std::vector<std::string>& under) {
  std::vector<std::string> out;
  for (const auto& op : nlohmann::json::diff(before, now)) {
    const std::string pointer = op.at("path").get<std::string>();
    std::string dotted = pointer.substr(1);
    std::replace(dotted.begin(), dotted.end(), '/', '.');
    const bool relevant = std::any_of(under.begin(), under.end(), [&](const std::string& u) {
      return dotted == u || dotted.starts_with(u + ".") || u.starts_with(dotted + ".");
    });
    if (relevant)
      out.push_back(fmt::format("{}: {} -> {}", dotted, value_at(before, pointer), value_at(now, pointer)));
  }
  return out;
}

}  // namespace rr::stages
