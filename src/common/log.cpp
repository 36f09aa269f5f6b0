#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include "common/error.h"

namespace rr {

void setup_logging(const std::string& level, int rank, int ranks) {
  auto lvl = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only accept "off" when asked for.
  RR_CHECK(lvl != spdlog::level::off || level == "off", Usage,
           "--log-level: unknown level '{}' (trace, debug, info, warn, error, critical, off)", level);
  auto name = fmt::format("rank{}", rank);
  spdlog::drop(name);
  auto logger = spdlog::stderr_logger_mt(name);
  logger->set_pattern(fmt::format("[%H:%M:%S.%e] [rank {}/{}] [%^%l%$] %v", rank, ranks));
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

Progress::Progress(std::string what, int64_t total, std::string unit, double interval_s, bool leader)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      total_(total),
      interval_s_(interval_s),
      level_(leader_level(leader)) {
  start_ = last_ = std::chrono::steady_clock::now();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(int64_t n) {
  done_ += n;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() >= interval_s_) {
    last_ = now;
    report(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  report(true);
}

Progress::~Progress() {
  if (!finished_ && std::uncaught_exceptions() == 0) finish();
}

void Progress::report(bool final) {
  double t = elapsed_s();
  double rate = t > 0 ? done_ / t : 0.0;
  if (final) {
    spdlog::log(level_, "{}: {} {} in {:.1f} s ({:.1f} {}/s)", what_, done_, unit_, t, rate, unit_);
  } else if (total_ > 0) {
    double eta = rate > 0 ? (total_ - done_) / rate : 0.0;
    spdlog::log(level_, "{}: {}/{} {} ({:.1f}%), {:.1f} {}/s, ETA {:.0f} s", what_, done_, total_, unit_,
                100.0 * done_ / total_, rate, unit_, eta);
  } else {
    spdlog::log(level_, "{}: {} {}, {:.1f} {}/s", what_, done_, unit_, rate, unit_);
  }
}

}  // namespace rr
