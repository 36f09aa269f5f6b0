// Units of work committed on their own: a stage that computes many independent pieces (a score column, a
// (dataset, router) result) writes each into <output_dir>/units/<stage>/<dataset>/<unit>.h5 as soon as it is
// done, under a temporary name renamed when complete, with the fingerprint of its inputs. A killed run redoes
// at most the unit it was in; the stage assembles results.h5 from its units at the end.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "mpi/stages/context.h"

namespace rr::stages {

std::filesystem::path unit_path(const Experiment& exp, const std::string& stage, const std::string& dataset,
                                const std::string& unit);

// The fingerprint a unit file records on `object`, or "" when the file is missing or unreadable, lacks the
// object, or (rows >= 0) the object does not have that many rows.
std::string unit_fingerprint(const std::filesystem::path& path, const std::string& object, int64_t rows = -1);

// Whether the unit holding `object` is up to date: decided on rank 0 (never when forced), agreed by all.
// `adopt` (rank 0, optional) may turn an earlier result into the unit and return true.
bool unit_done(const Context& ctx, const std::filesystem::path& unit, const std::string& object,
               const std::string& fingerprint, int64_t rows, bool force,
               const std::function<bool()>& adopt = {});

// A unit being written (rank 0): an empty file under a temporary name, renamed by commit(), removed
// otherwise.
inline h5::ResultsUpdate unit_file(const std::filesystem::path& path) {
  return h5::ResultsUpdate(path, {}, /*keep_old=*/false);
}

}  // namespace rr::stages
