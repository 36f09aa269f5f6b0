#include "common/fault_injection.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

namespace rr {

void fault_point(const char* point) {
  static const char* spec = std::getenv("RR_FAULT");
  if (!spec) return;
  static int count = 0;
  const std::string s(spec);
  const auto colon = s.find(':');
  if (s.compare(0, colon, point) != 0) return;
  const int at = colon == std::string::npos ? 1 : std::atoi(s.c_str() + colon + 1);
  const bool stop = s.size() > 5 && s.compare(s.size() - 5, 5, ":usr1") == 0;
  if (++count == at || (!stop && count > at)) std::raise(stop ? SIGUSR1 : SIGKILL);
}

}  // namespace rr
