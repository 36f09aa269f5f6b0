// Thread count for torch (intra-op) and OpenMP. LibTorch here defaults to 1 thread, so rr always sets it.
#pragma once

namespace rr {

// The CPUs this process may run on: its affinity mask, which the launcher sets (Open MPI binds each rank to
// one core when it starts two or fewer; Slurm's srun to --cpus-per-task).
int usable_cpus();

// n > 0: use n threads; n == 0: the machine's cores divided by `ranks_on_node`, at most usable_cpus() (at
// least 1). More threads than usable CPUs share them, several times slower: that is logged as a warning
// naming the fix (at debug where `leader` is false, so a node prints it once). Returns the count set.
int set_threads(int n, int ranks_on_node = 1, bool leader = true);

}  // namespace rr
