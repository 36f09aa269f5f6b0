// What a trained model directory records about its training (rr_train.json: the inputs' fingerprint and the
// curve), and the curves collected into results.h5 (/training/<model>).
#pragma once

#include <filesystem>
#include <string>

#include "mpi/stages/context.h"
#include "train/train_curve.h"

namespace rr::stages {

// The fingerprint recorded in dir/rr_train.json, or "" when there is none (or it is unreadable).
std::string recorded_fingerprint(const std::filesystem::path& dir);
// Writes dir/rr_train.json (atomically).
void write_train_record(const std::filesystem::path& dir, const std::string& fingerprint,
                        const TrainCurve& curve);
// Copies the curve recorded beside each trained model into results.h5 (rank 0; models without a record
// are skipped).
void store_curves(const Context& ctx,
                  const std::vector<std::pair<std::string, std::filesystem::path>>& models);

}  // namespace rr::stages
