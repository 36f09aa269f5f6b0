// Atomic updates of results.h5: the new file is written beside the old one (everything the update does not
// replace is copied over), and renamed over it only when complete, so a killed or failing stage leaves the
// previous results intact.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "h5data/h5_file.h"

namespace rr::h5 {

class ResultsUpdate {
 public:
  // Copies every top-level group of the existing file except those in `replaced` (e.g. {"/scores"}); with
  // keep_old false the update starts from an empty file (a unit, a corpus map).
  ResultsUpdate(const std::filesystem::path& path, const std::vector<std::string>& replaced,
                bool keep_old = true);
  ~ResultsUpdate();
  File& file() { return *file_; }
  void commit();

 private:
  std::filesystem::path path_, temp_;
  std::unique_ptr<File> file_;
  bool committed_ = false;
};

// Records what a stage ran with under /meta and /meta/<stage>: config JSON, version, ranks, seed,
// fingerprint.
void write_stage_meta(File& file, const std::string& stage, const std::string& config_json, int64_t ranks,
                      int64_t seed, const std::string& fingerprint);

// The fingerprint a stage recorded, or "" when the stage has not completed.
std::string stage_fingerprint(const std::filesystem::path& results, const std::string& stage);

}  // namespace rr::h5
