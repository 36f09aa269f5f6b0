// What the process computes with: BLAS library, allocator, threads. Speed depends on these by 50x
// (../shared/notes/stack.md), so compute commands log them and warn loudly about the slow defaults.
#pragma once

#include <cstdint>
#include <string>

namespace rr {

struct RuntimeInfo {
  std::string blas;       // library file that provides sgemm_
  bool reference_blas;    // netlib's reference BLAS (~3 GFLOP/s)
  std::string allocator;  // tcmalloc, jemalloc or glibc
  int threads;            // torch intra-op threads
};

RuntimeInfo runtime_info();
// Logs the runtime (at info on a leader, debug elsewhere); warns when the BLAS is the reference one or malloc
// is glibc's.
void log_runtime(bool leader = true);

// This process's peak resident memory in bytes (Linux VmHWM; 0 where unknown), and a reset of that peak to
// the current RSS (so that each stage of a pipeline reports its own peak; false where the kernel refuses).
int64_t peak_rss_bytes();
bool reset_peak_rss();

}  // namespace rr
