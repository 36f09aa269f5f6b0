// Thread count for torch (intra-op) and OpenMP. LibTorch here defaults to 1 thread, so rr always sets it.
#pragma once

namespace rr {

// n > 0: use n threads; n == 0: the machine's cores divided by `ranks_on_node` (at least 1).
// Returns the count set.
int set_threads(int n, int ranks_on_node = 1);

}  // namespace rr
