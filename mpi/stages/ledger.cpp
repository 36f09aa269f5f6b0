#include "mpi/stages/ledger.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <fstream>

#include "common/atomic_output.h"
#include "common/error.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/train_record.h"

namespace rr::stages {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPreparedMarker = ".rr-prepared";

// Committed index blocks over every dataset: "d of n index blocks" ("" when index.h5 is absent or busy).
std::string index_blocks(const Experiment& exp) {
  if (!fs::exists(exp.index_file())) return "";
  try {
    const auto f = h5::File::open(exp.index_file(), false);
    int64_t done = 0, total = 0;
    for (const auto& d : exp.datasets) {
      if (!f.exists(schema::index_blocks_done(d.name))) continue;
      const at::Tensor flags = f.read(schema::index_blocks_done(d.name));
      done += flags.sum().item<int64_t>();
      total += flags.numel();
    }
    return total ? fmt::format("{} of {} index blocks", done, total) : "";
  } catch (const Error&) {
    return "index.h5 busy or unreadable";
  }
}

int64_t files_under(const fs::path& dir) {
  int64_t n = 0;
  if (fs::is_directory(dir))
    for (const auto& e : fs::recursive_directory_iterator(dir))
      n += e.is_regular_file() && e.path().extension() == ".h5";
  return n;
}

}  // namespace

bool Ledger::stage_done(const Stage& stage) const {
  const std::string fp = stage.fingerprint ? stage.fingerprint(exp_) : "";
  return !fp.empty() && h5::stage_fingerprint(exp_.results_file(), stage.name) == fp;
}

void Ledger::require_stage(const std::string& needed, const std::string& by) const {
  RR_CHECK(!h5::stage_fingerprint(exp_.results_file(), needed).empty(), Usage,
           "{}: `{}` runs on what `{}` writes, and {} has no record of `{}` completing: run `{}` first (or "
           "`pipeline`, which runs the stages in order; `status` shows where the experiment stands)",
           exp_.file.string(), by, needed, exp_.results_file().string(), needed, needed);
}

void Ledger::record_stage(const Context& ctx, const Stage& stage, const std::string& fp,
                          const std::map<std::string, std::string>& facts,
                          const std::function<void(h5::File&)>& also) const {
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    h5::ResultsUpdate up(exp_.results_file(), {});
    h5::write_stage_meta(up.file(), stage.name, ctx.config_json(), ctx.world.size(),
                         static_cast<int64_t>(exp_.seed), fp);
    for (const auto& [name, value] : facts) up.file().set_attr(schema::stage_meta(stage.name), name, value);
    if (also) also(up.file());
    up.commit();
  });
}

fs::path Ledger::unit(const std::string& stage, const std::string& dataset, const std::string& unit) const {
  return exp_.output() / "units" / stage / dataset / (unit + ".h5");
}

bool Ledger::unit_done(const Context& ctx, const fs::path& unit, const std::string& object,
                       const std::string& fp, int64_t rows, bool force,
                       const std::function<bool()>& adopt) const {
  int done = 0;
  if (ctx.root() && !force) done = unit_fingerprint(unit, object, rows) == fp || (adopt && adopt());
  return ctx.world.bcast_value(done) != 0;
}

bool Ledger::model_done(const fs::path& dir, const std::string& fp) const {
  return recorded_fingerprint(dir) == fp;
}

bool Ledger::folder_done(const fs::path& dir, const std::string& fp) const {
  std::ifstream in(dir / kPreparedMarker);
  std::string have;
  return in >> have && have == fp;
}

void Ledger::record_folder(const fs::path& dir, const std::string& fp) const {
  AtomicFile marker(dir / kPreparedMarker);
  marker.stream() << fp << "\n";
  marker.commit();
}

Ledger::Progress Ledger::progress(const Stage& stage) const {
  if (stage_done(stage)) return {true, ""};
  const auto checkpoint = [&](const std::string& label) {
    return fs::exists(exp_.output() / "checkpoints" / label) ? "checkpoint written, resumes from it" : "";
  };
  switch (stage.unit) {
    case UnitKind::IndexBlock:
      return {false, index_blocks(exp_)};
    case UnitKind::Checkpoint:  // the stage's checkpoints are under its command's last word
      return {false, checkpoint(stage.command.substr(stage.command.rfind(' ') + 1))};
    case UnitKind::Expert: {  // a job array records no stage as a whole: done when every expert is
      size_t done = 0;
      for (const auto& x : exp_.experts) done += model_done(x.adapter, expert_fingerprint(exp_, x));
      return {done == exp_.experts.size(),
              done ? fmt::format("{} of {} experts trained", done, exp_.experts.size()) : ""};
    }
    case UnitKind::ScoreUnit: {  // one unit per (training dataset, expert), plus each dataset's base
                                 // embeddings
      const int64_t done = files_under(exp_.output() / "units" / stage.name);
      const auto total = exp_.training_datasets().size() * (exp_.experts.size() + 1);
      return {false, done ? fmt::format("{} of {} score units", done, total) : ""};
    }
    case UnitKind::EvaluateUnit: {
      const int64_t done = files_under(exp_.output() / "units" / stage.name);
      return {false, done ? fmt::format("{} (dataset, method) units committed", done) : ""};
    }
    case UnitKind::Stage:
    case UnitKind::Dataset:
      break;
  }
  return {false, ""};
}

std::string unit_fingerprint(const fs::path& path, const std::string& object, int64_t rows) {
  if (!fs::exists(path)) return "";
  try {
    const auto f = h5::File::open(path, false);
    if (!f.exists(object) || !f.has_attr(object, schema::kAttrFingerprint)) return "";
    if (rows >= 0 && f.shape(object).first != rows) return "";
    return f.attr_string(object, schema::kAttrFingerprint);
  } catch (const Error&) {
    return "";
  }
}

}  // namespace rr::stages
