#include "common/stop_request.h"

#include <csignal>

namespace rr {

namespace {

volatile std::sig_atomic_t stop_flag = 0;

extern "C" void on_stop_signal(int) {
  stop_flag = 1;
}

}  // namespace

void install_stop_request_handler() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // system calls in flight (I/O, MPI progress) continue
  sigaction(SIGUSR1, &action, nullptr);
}

bool stop_requested() {
  return stop_flag != 0;
}

}  // namespace rr
