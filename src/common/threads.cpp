#include "common/threads.h"

#include <ATen/Parallel.h>
#include <omp.h>

#include <algorithm>
#include <thread>

#include "common/error.h"

namespace rr {

int set_threads(int n, int ranks_on_node) {
  RR_CHECK(n >= 0, Usage, "--threads must be >= 0 (0: all cores), got {}", n);
  if (n == 0)
    n = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, ranks_on_node));
  at::set_num_threads(n);
  omp_set_num_threads(n);
  return n;
}

}  // namespace rr
