#include "common/threads.h"

#include <ATen/Parallel.h>
#include <omp.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "common/error.h"

namespace rr {

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return std::max(1u, std::thread::hardware_concurrency());
  return std::max(1, CPU_COUNT(&set));
}

int set_threads(int n, int ranks_on_node, bool leader) {
  RR_CHECK(n >= 0, Usage, "--threads must be >= 0 (0: all cores), got {}", n);
  const int cpus = usable_cpus();
  if (n == 0)
    n = std::max(1, std::min(cpus, static_cast<int>(std::thread::hardware_concurrency()) /
                                       std::max(1, ranks_on_node)));
  if (n > cpus)
    spdlog::log(
        leader ? spdlog::level::warn : spdlog::level::debug,
        "{} threads but this process may run on {} CPU(s) only (its affinity mask, set by the "
        "launcher): the threads share them. With Open MPI, which binds each rank to one core when it "
        "starts two or fewer, add --bind-to none (or --map-by slot:PE={}); under Slurm, --cpus-per-task={}",
        n, cpus, n, n);
  at::set_num_threads(n);
  omp_set_num_threads(n);
  return n;
}

}  // namespace rr
