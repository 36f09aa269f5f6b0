// One run per output folder: a stage (or a pipeline) that writes into <output_dir> holds <output_dir>/rr.lock
// while it runs, a small JSON record of its holder (host, pid, process start, start time, command, Slurm
// job). A second run finds it and stops before touching any file, with exit status 2 naming the holder.
//
// A lock whose process is gone is stale: on the holder's own host that is certain (the pid is not running,
// or runs another process) and the lock is taken over with a warning; a requeued Slurm job takes over its
// own job's lock. From another host rr cannot tell, so the lock is reported (with its age; older than
// kStaleLockHours it is most likely stale) and `--break-lock` takes it. Array tasks (`--expert NAME`) take
// no lock: they run at once by design and each writes only its own units and model directory.
#pragma once

#include <string>

#include "mpi/stages/context.h"

namespace rr::stages {

inline constexpr double kStaleLockHours = 72;

class RunLock {
 public:
  // Rank 0 takes <output_dir>/rr.lock for `command`; every rank learns the outcome (collective): a Usage
  // error naming the holder when another run holds it.
  RunLock(const Context& ctx, const std::string& command, bool break_lock);
  ~RunLock();  // rank 0 removes the lock if it is still its own
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  std::string path_, record_;  // set on rank 0
};

}  // namespace rr::stages
