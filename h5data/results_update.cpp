#include "h5data/results_update.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/atomic_output.h"
#include "common/error.h"
#include "common/version.h"
#include "h5data/schema.h"

namespace rr::h5 {

std::filesystem::path parts_folder(const std::filesystem::path& results) {
  return results.parent_path() / (results.stem().string() + ".parts");
}

ResultsUpdate::ResultsUpdate(const std::filesystem::path& path, const std::vector<std::string>& replaced,
                             bool keep_old)
    : path_(path), temp_(temporary_sibling(path)) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  file_ = std::make_unique<File>(File::create(temp_));
  if (!keep_old || !std::filesystem::exists(path)) return;
  File old = File::open(path, false);
  for (const auto& member : old.members("/")) {
    const std::string obj = "/" + member;
    if (std::find(replaced.begin(), replaced.end(), obj) != replaced.end()) continue;
    // Links are re-made, never followed (a part or index.h5 is not copied); links deeper down are copied as
    // links.
    if (const auto target = old.external_target(obj))
      file_->external_link(obj, target->first, target->second);
    else
      file_->copy_from(old, obj);
  }
}

ResultsUpdate::~ResultsUpdate() {
  if (committed_) return;
  std::error_code ec;
  for (auto& part : parts_) {
    part.file.reset();
    std::filesystem::remove(part.path, ec);
  }
  file_.reset();
  std::filesystem::remove(temp_, ec);
}

File& ResultsUpdate::apart(const std::string& name, const std::vector<std::string>& objects) {
  const std::string folder = parts_folder(path_).filename().string();
  const std::string file_name = name + "-" + unique_suffix() + ".h5";
  std::filesystem::create_directories(parts_folder(path_));
  Part& part = parts_.emplace_back();
  part.path = parts_folder(path_) / file_name;
  part.file = std::make_unique<File>(File::create(part.path));
  part.objects = objects;
  for (const auto& obj : objects) file_->external_link(obj, folder + "/" + file_name, obj);
  return *part.file;
}

void ResultsUpdate::commit() {
  for (auto& part : parts_) {
    for (const auto& obj : part.objects)  // never written: absent, as without parts
      if (!part.file->exists(obj)) file_->remove(obj);
    part.file->close();
    part.file.reset();
  }
  file_->close();
  file_.reset();
  rename_replacing(temp_, path_);
  committed_ = true;
  remove_unlinked_parts();
}

// Parts of earlier updates that the new file no longer links, and those of updates killed before their
// rename. Best effort: the update is in place already, so a part that cannot be removed is only reported.
void ResultsUpdate::remove_unlinked_parts() const {
  const auto folder = parts_folder(path_);
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) return;
  try {
    const auto linked = File::open(path_, false).external_files();
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
      const auto& file = entry.path();
      const std::string name = folder.filename().string() + "/" + file.filename().string();
      if (file.extension() != ".h5" || std::binary_search(linked.begin(), linked.end(), name)) continue;
      if (!std::filesystem::remove(file, ec) && ec)
        spdlog::warn("{}: cannot remove the unlinked part {}: {}", path_.string(), file.string(),
                     ec.message());
    }
  } catch (const std::exception& e) {
    spdlog::warn("{}: unlinked parts not removed: {}", path_.string(), e.what());
  }
}

void write_stage_meta(File& f, const std::string& stage, const std::string& config_json, int64_t ranks,
                      int64_t seed, const std::string& fingerprint) {
  for (const std::string& obj : {std::string(schema::kMeta), schema::stage_meta(stage)}) {
    f.create_group(obj);
    f.set_attr(obj, schema::kAttrConfig, config_json);
    f.set_attr(obj, schema::kAttrVersion, std::string(version()));
    f.set_attr(obj, schema::kAttrRanks, ranks);
    f.set_attr(obj, schema::kAttrSeed, seed);
  }
  f.set_attr(schema::stage_meta(stage), schema::kAttrFingerprint, fingerprint);
}

std::string stage_fingerprint(const std::filesystem::path& results, const std::string& stage) {
  if (!std::filesystem::exists(results)) return "";
  try {
    File f = File::open(results, false);
    if (!f.has_attr(schema::stage_meta(stage), schema::kAttrFingerprint)) return "";
    return f.attr_string(schema::stage_meta(stage), schema::kAttrFingerprint);
  } catch (const Error&) {
    return "";
  }
}

}  // namespace rr::h5
