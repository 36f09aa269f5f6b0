// spdlog set-up shared by every command: one logger, the MPI rank in every line, and a
// progress reporter for long loops (rate and ETA).
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace rr {

// Installs the default logger on stderr with pattern "[time] [rank R/P] [level] message".
// level: trace|debug|info|warn|error|critical|off. Throws Usage on an unknown level.
void setup_logging(const std::string& level, int rank = 0, int ranks = 1);

// The level of a line every rank of a group would print: info on the group's leader, debug on the others
// (one line per group at the default level).
inline spdlog::level::level_enum leader_level(bool leader) {
  return leader ? spdlog::level::info : spdlog::level::debug;
}

// Logs "<what>: done/total (pct) rate unit/s, ETA" at most every `interval` seconds and once at the end, at
// leader_level(leader).
class Progress {
 public:
  Progress(std::string what, int64_t total, std::string unit = "items", double interval_s = 10.0,
           bool leader = true);
  void advance(int64_t n = 1);
  // Logs the final line (count, elapsed, mean rate); called by the destructor if not called before.
  void finish();
  ~Progress();
  double elapsed_s() const;

 private:
  void report(bool final);
  std::string what_, unit_;
  int64_t total_, done_ = 0;
  double interval_s_;
  spdlog::level::level_enum level_;
  std::chrono::steady_clock::time_point start_, last_;
  bool finished_ = false;
};

}  // namespace rr
