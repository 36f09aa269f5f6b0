// The completion ledger: whether a piece of work is complete for its current inputs, and recording that it
// is. Every record is a fingerprint of the inputs (mpi/stages/fingerprints.h) stored beside the output it
// vouches for, so a copy of the output carries its record and a change of input reaches exactly what depends
// on it. Where each kind of record lives, and why it lives there (docs/architecture.md, "Completion"):
//
//   stage   results.h5 /meta/<stage> (attr fingerprint)       written once the whole stage succeeded
//   unit    <output_dir>/units/<stage>/<dataset>/<unit>.h5     one per score column or evaluate result: a
//   kill
//           (attr fingerprint on the object it holds)          loses one; concurrent array tasks never share
//   model   <model dir>/rr_train.json                          travels with a trained model's directory
//   folder  <dataset folder>/.rr-prepared                      travels with a prepared BEIR folder
//   block   index.h5 /index/<ds>/blocks_done (+ fingerprint)   written collectively in place by every rank
//
// Two more records are caches and checkpoints, not completion: a corpus map's fingerprint
// (h5data/corpus_map.h: rebuilt when its corpus changed) and a training checkpoint's inputs string
// (train/checkpoint.h: resumed only for identical inputs).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "h5data/results_update.h"
#include "mpi/stages/stage.h"

namespace rr::stages {

class Ledger {
 public:
  explicit Ledger(const Experiment& exp) : exp_(exp) {}

  // A stage recorded complete for the current inputs (never for a stage without a fingerprint).
  bool stage_done(const Stage& stage) const;
  // Usage error (exit 2) unless stage `needed` was ever recorded complete: `by` runs on its output, and
  // without it would fail on a missing file instead of naming the stage to run.
  void require_stage(const std::string& needed, const std::string& by) const;
  // Records `stage` complete with fingerprint `fp` and what it ran with (`facts`: device, precision; string
  // attributes of /meta/<stage>). Rank 0 writes; collective.
  // `also` (rank 0) writes more into the same atomic update (the provenance).
  void record_stage(const Context& ctx, const Stage& stage, const std::string& fp,
                    const std::map<std::string, std::string>& facts = {},
                    const std::function<void(h5::File&)>& also = {}) const;

  // A unit's file.
  std::filesystem::path unit(const std::string& stage, const std::string& dataset,
                             const std::string& unit) const;
  // Whether the unit holding `object` is up to date: decided on rank 0 (never when forced), agreed by all.
  // `rows` >= 0 also requires the object to have that many rows; `adopt` (rank 0, optional) may turn an
  // earlier result into the unit and return true. Collective.
  bool unit_done(const Context& ctx, const std::filesystem::path& unit, const std::string& object,
                 const std::string& fp, int64_t rows, bool force,
                 const std::function<bool()>& adopt = {}) const;

  // A trained model directory whose record (rr_train.json) has fingerprint `fp`.
  bool model_done(const std::filesystem::path& dir, const std::string& fp) const;
  // A prepared dataset folder whose marker has fingerprint `fp`; record_folder writes the marker into the
  // folder being made (before it is renamed into place).
  bool folder_done(const std::filesystem::path& dir, const std::string& fp) const;
  void record_folder(const std::filesystem::path& dir, const std::string& fp) const;

  // Where a stage stands, for `status`: complete (recorded, or every unit of an array stage done), and the
  // units committed so far in words ("3 of 8 index blocks"; "" when none).
  struct Progress {
    bool complete = false;
    std::string units;
  };
  Progress progress(const Stage& stage) const;

 private:
  const Experiment& exp_;
};

// The fingerprint a unit file records on `object`, or "" when the file is missing or unreadable, lacks the
// object, or (rows >= 0) the object does not have that many rows.
std::string unit_fingerprint(const std::filesystem::path& path, const std::string& object, int64_t rows = -1);

// A unit being written (rank 0): an empty file under a temporary name, renamed by commit(), removed
// otherwise.
inline h5::ResultsUpdate unit_file(const std::filesystem::path& path) {
  return h5::ResultsUpdate(path, {}, /*keep_old=*/false);
}

}  // namespace rr::stages
