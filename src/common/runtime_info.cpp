#include "common/runtime_info.h"

#include <fstream>

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include "common/log.h"

namespace rr {

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.blas = "unknown";
  if (void* sym = dlsym(RTLD_DEFAULT, "sgemm_")) {
    Dl_info dl;
    if (dladdr(sym, &dl) && dl.dli_fname) info.blas = dl.dli_fname;
  }
  // Resolve symlinks chosen by Debian's alternatives (libblas.so.3 -> openblas-openmp/... or blas/...).
  char resolved[4096];
  if (realpath(info.blas.c_str(), resolved)) info.blas = resolved;
  info.reference_blas =
      info.blas.find("/blas/libblas") != std::string::npos && info.blas.find("openblas") == std::string::npos;
  if (dlsym(RTLD_DEFAULT, "tc_malloc"))
    info.allocator = "tcmalloc";
  else if (dlsym(RTLD_DEFAULT, "mallctl"))
    info.allocator = "jemalloc";
  else
    info.allocator = "glibc";
  info.threads = at::get_num_threads();
  return info;
}

void log_runtime(bool leader) {
  RuntimeInfo r = runtime_info();
  spdlog::log(leader_level(leader), "runtime: BLAS {}, allocator {}, {} threads", r.blas, r.allocator,
              r.threads);
  if (r.reference_blas)
    spdlog::warn(
        "!!! the reference BLAS is selected ({}): BERT runs ~50x slower. Install libopenblas0-openmp "
        "(scripts/setup.sh does) or select it with update-alternatives --config "
        "libblas.so.3-x86_64-linux-gnu",
        r.blas);
  if (r.allocator == "glibc")
    spdlog::warn(
        "glibc malloc: expect 2-3x slower encoding; rr links tcmalloc when built by scripts/setup.sh");
}

int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:   1234 kB"
  return 0;
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";  // resets VmHWM to the current RSS (Linux >= 4.0)
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace rr
