#include "mpi/stages/run_lock.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace rr::stages {

namespace {

namespace fs = std::filesystem;

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// The start of process `pid` in clock ticks since boot (/proc/<pid>/stat, field 22), "" when it is not
// running (absent, or a zombie no one reaped: containers often have no init that reaps): with the pid it
// names one process, even after the pid is reused.
std::string process_start(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return "";
  std::istringstream fields(stat.substr(paren + 2));
  std::string state, field;
  fields >> state;  // field 3
  if (state == "Z" || state == "X") return "";
  for (int i = 4; i <= 22 && fields >> field; ++i) {
  }
  return field;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string describe(const nlohmann::json& holder) {
  const double hours = (now_seconds() - holder.value("started", 0.0)) / 3600;
  std::string job = holder.value("slurm_job", "");
  return fmt::format("`{}` (pid {} on {}{}, started {:.1f} h ago)", holder.value("command", "?"),
                     holder.value("pid", 0L), holder.value("host", "?"),
                     job.empty() ? "" : ", Slurm job " + job, hours);
}

// Whether the holder is certainly gone: on this host, its process is not running any more.
bool holder_gone(const nlohmann::json& holder) {
  if (holder.value("host", "") != host_name()) return false;
  const std::string start = process_start(holder.value("pid", 0L));
  return start.empty() || start != holder.value("process_start", "");
}

// Creates the lock with `record` (atomically: a complete file linked into place, or nothing); false when a
// lock exists.
bool create(const fs::path& path, const std::string& record) {
  const fs::path temp = path.string() + ".tmp-" + host_name() + "-" + std::to_string(::getpid());
  {
    std::ofstream out(temp);
    out << record << "\n";
    RR_CHECK(out.good(), Runtime, "{}: cannot write the run lock", temp.string());
  }
  const int linked = ::link(temp.c_str(), path.c_str());
  const int error = errno;
  fs::remove(temp);
  if (linked == 0) return true;
  RR_CHECK(error == EEXIST, Runtime, "{}: cannot take the run lock: {}", path.string(), std::strerror(error));
  return false;
}

nlohmann::json read_holder(const fs::path& path) {
  std::ifstream in(path);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception&) {
    return nlohmann::json::object();  // being written, or damaged: an unknown holder
  }
}

}  // namespace

RunLock::RunLock(const Context& ctx, const std::string& command, bool break_lock) {
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    const fs::path path = ctx.exp.output() / "rr.lock";
    const nlohmann::json mine{{"host", host_name()},
                              {"pid", static_cast<long>(::getpid())},
                              {"process_start", process_start(::getpid())},
                              {"started", now_seconds()},
                              {"command", command},
                              {"slurm_job", env("SLURM_JOB_ID")}};
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (create(path, mine.dump())) {
        path_ = path.string();
        record_ = mine.dump();
        return;
      }
      const nlohmann::json holder = read_holder(path);
      const std::string job = holder.value("slurm_job", "");
      const bool own_job = !job.empty() && job == env("SLURM_JOB_ID");
      if (!break_lock && !own_job && !holder_gone(holder)) {
        const double hours = (now_seconds() - holder.value("started", 0.0)) / 3600;
        RR_THROW(
            Usage,
            "{} is held by {}: one run at a time writes an output folder. Wait for it, or, if that run is "
            "gone{}, run again with --break-lock",
            path.string(), describe(holder),
            hours > kStaleLockHours ? fmt::format(" (its lock is older than {:.0f} h)", kStaleLockHours)
                                    : "");
      }
      spdlog::warn("{}: taking over the lock of {} ({})", path.string(), describe(holder),
                   break_lock ? "--break-lock"
                   : own_job  ? "the same Slurm job, requeued"
                              : "its process is gone");
      fs::remove(path);
    }
    RR_THROW(Runtime, "{}: another run took the lock while this one broke a stale one", path.string());
  });
}

RunLock::~RunLock() {
  if (path_.empty()) return;
  try {
    std::ifstream in(path_);
    std::string now;
    std::getline(in, now);
    in.close();
    if (now == record_) fs::remove(path_);
  } catch (const std::exception&) {
    // a lock left behind is reported (and taken over, on this host) by the next run
  }
}

}  // namespace rr::stages
