#include "mpi/stages/unit_file.h"

#include "common/error.h"
#include "h5data/schema.h"

namespace rr::stages {

std::filesystem::path unit_path(const Experiment& exp, const std::string& stage, const std::string& dataset,
                                const std::string& unit) {
  return exp.output() / "units" / stage / dataset / (unit + ".h5");
}

std::string unit_fingerprint(const std::filesystem::path& path, const std::string& object, int64_t rows) {
  if (!std::filesystem::exists(path)) return "";
  try {
    const auto f = h5::File::open(path, false);
    if (!f.exists(object) || !f.has_attr(object, schema::kAttrFingerprint)) return "";
    if (rows >= 0 && f.shape(object).first != rows) return "";
    return f.attr_string(object, schema::kAttrFingerprint);
  } catch (const Error&) {
    return "";
  }
}

bool unit_done(const Context& ctx, const std::filesystem::path& unit, const std::string& object,
               const std::string& fingerprint, int64_t rows, bool force, const std::function<bool()>& adopt) {
  int done = 0;
  if (ctx.root() && !force) done = unit_fingerprint(unit, object, rows) == fingerprint || (adopt && adopt());
  return ctx.world.bcast_value(done) != 0;
}

}  // namespace rr::stages
