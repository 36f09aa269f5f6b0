// The identity of everything each output depends on, computed from the config and the input files alone
// (never from outputs' timestamps): a prepared dataset, the base model, a dataset's index, an expert, the
// multi-task model, a score column, and each stage as a whole. Stages that read trained models also take the
// models' files as they are (size and time), so a model replaced or damaged outside rr is new input. An
// output is up to date when the fingerprint recorded with it equals the current one; a change reaches exactly
// the outputs downstream of it (encoding one more dataset retrains no expert, adding an expert rescores only
// its columns).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/experiment.h"

namespace rr::stages {

std::string dataset_fingerprint(const Experiment& exp, const DatasetConfig& dataset);  // prepared folder
std::string base_fingerprint(const Experiment& exp);  // trained by `train base`, or the given model's files
std::string index_fingerprint(const Experiment& exp, const DatasetConfig& dataset);  // its corpus index
std::string expert_fingerprint(const Experiment& exp, const ExpertConfig& expert);
std::string multitask_fingerprint(const Experiment& exp);
// A dataset's training queries as embedded by the base (score's base-embedding unit).
std::string training_queries_fingerprint(const Experiment& exp, const DatasetConfig& dataset);
std::string score_column_fingerprint(const Experiment& exp, const ExpertConfig& expert,
                                     const DatasetConfig& dataset);

// What the stages' fingerprints (each in its stage's file) are made of.
std::string fingerprint_of(const nlohmann::json& parts);                // the hash of a canonical JSON dump
nlohmann::json config_section(const Experiment& exp, const char* key);  // {} when absent
nlohmann::json dataset_fingerprints(const Experiment& exp);             // every dataset's, configured order
nlohmann::json index_fingerprints(const Experiment& exp);               // every dataset's index
nlohmann::json expert_fingerprints(const Experiment& exp);              // every expert's
nlohmann::json score_column_fingerprints(const Experiment& exp);        // training dataset x expert
// The trained models' files as they are now (every expert's, then the multi-task model's).
nlohmann::json model_file_identities(const Experiment& exp);
// Whether `dir` holds a trained model's weights (an adapter's or a whole model's).
bool has_model_weights(const std::filesystem::path& dir);
// What the pilots and the fitted routers depend on (pilot's and evaluate's inputs).
std::string pilot_inputs_fingerprint(const Experiment& exp);

// The settings that differ between two config documents, under the given top-level keys or dotted paths
// ("routing", "evaluation.max_query_length"), one "key: before -> now" each ("(unset)" when absent).
std::vector<std::string> config_differences(const nlohmann::json& before, const nlohmann::json& now,
                                            const std::vector<std::string>& under);

}  // namespace rr::stages
