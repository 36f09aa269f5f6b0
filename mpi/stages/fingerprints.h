// The identity of everything each output depends on, computed from the config and the input files alone
// (never from outputs' timestamps): a prepared dataset, the base model, a dataset's index, an expert, the
// multi-task model, a score column, and each stage as a whole. Stages that read trained models also take the
// models' files as they are (size and time), so a model replaced or damaged outside rr is new input. An
// output is up to date when the fingerprint recorded with it equals the current one; a change reaches exactly
// the outputs downstream of it (encoding one more dataset retrains no expert, adding an expert rescores only
// its columns).
#pragma once

#include <string>

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

// Whole stages (by name, see stage.h); "" for a stage that always runs.
std::string stage_fingerprint(const Experiment& exp, const std::string& stage);

}  // namespace rr::stages
