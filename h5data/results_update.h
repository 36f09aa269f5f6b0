// Atomic updates of results.h5: the new file is written beside the old one (everything the update does not
// replace is copied over), and renamed over it only when complete, so a killed or failing stage leaves the
// previous results intact.
//
// Bulky objects (corpus ids, training-query embeddings, score matrices, runs) are written apart: into a new
// part file <stem>.parts/<name>-<unique>.h5 that the results file reaches by an external link at the object's
// own path (h5py, h5dump and rr follow it; the paths of the schema are unchanged). An update copies only the
// small objects and re-makes the links, so its cost is what it writes, not the whole file; parts no longer
// linked are removed once the update is renamed into place. One update of a results file at a time: with two
// at once the last rename wins and the other's parts are deleted as unlinked (rr's stages run one after
// another; job-array tasks write unit files, never results.h5).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "h5data/h5_file.h"

namespace rr::h5 {

// Where a results file's parts live: <folder>/<stem>.parts.
std::filesystem::path parts_folder(const std::filesystem::path& results);

class ResultsUpdate {
 public:
  // Copies every top-level group of the existing file except those in `replaced` (e.g. {"/scores"}); with
  // keep_old false the update starts from an empty file (a unit, a corpus map).
  ResultsUpdate(const std::filesystem::path& path, const std::vector<std::string>& replaced,
                bool keep_old = true);
  ~ResultsUpdate();
  File& file() { return *file_; }
  // A new part file named after `name` for `objects` (groups or datasets at any depth, replaced by this
  // update): each is linked from file() at its own path and must be written into the returned file, at the
  // same path (one never written becomes an empty group).
  File& apart(const std::string& name, const std::vector<std::string>& objects);
  void commit();

 private:
  struct Part {
    std::filesystem::path path;
    std::unique_ptr<File> file;
    std::vector<std::string> objects;
  };
  void remove_unlinked_parts() const;
  std::filesystem::path path_, temp_;
  std::unique_ptr<File> file_;
  std::vector<Part> parts_;
  bool committed_ = false;
};

// Records what a stage ran with under /meta and /meta/<stage>: config JSON, version, ranks, seed,
// fingerprint.
void write_stage_meta(File& file, const std::string& stage, const std::string& config_json, int64_t ranks,
                      int64_t seed, const std::string& fingerprint);

// The fingerprint a stage recorded, or "" when the stage has not completed.
std::string stage_fingerprint(const std::filesystem::path& results, const std::string& stage);

}  // namespace rr::h5
