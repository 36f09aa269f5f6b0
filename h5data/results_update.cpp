#include "h5data/results_update.h"

#include <algorithm>

#include "common/atomic_output.h"
#include "common/error.h"
#include "common/version.h"
#include "h5data/schema.h"

namespace rr::h5 {

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
    if (obj == schema::kIndexRoot) continue;  // an external link, re-made by whoever owns the index
    file_->copy_from(old, obj);
  }
  if (old.exists(schema::kIndexRoot) &&
      std::find(replaced.begin(), replaced.end(), schema::kIndexRoot) == replaced.end())
    file_->external_link(schema::kIndexRoot, schema::kIndexFile, schema::kIndexRoot);
}

ResultsUpdate::~ResultsUpdate() {
  if (committed_) return;
  file_.reset();
  std::error_code ec;
  std::filesystem::remove(temp_, ec);
}

void ResultsUpdate::commit() {
  file_->close();
  file_.reset();
  rename_replacing(temp_, path_);
  committed_ = true;
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
