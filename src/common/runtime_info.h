// What the process computes with: BLAS library, allocator, threads. Speed depends on these by 50x
// (../shared/notes/stack.md), so compute commands log them and warn loudly about the slow defaults.
#pragma once

#include <string>

namespace rr {

struct RuntimeInfo {
  std::string blas;       // library file that provides sgemm_
  bool reference_blas;    // netlib's reference BLAS (~3 GFLOP/s)
  std::string allocator;  // tcmalloc, jemalloc or glibc
  int threads;            // torch intra-op threads
};

RuntimeInfo runtime_info();
// Logs the runtime at info level; warns when the BLAS is the reference one or malloc is glibc's.
void log_runtime();

}  // namespace rr
