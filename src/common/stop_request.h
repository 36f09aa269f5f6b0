// A stop asked for from outside: SIGUSR1, which Slurm sends before a job's time limit or a preemption
// (sbatch --signal=B:USR1@N; jobs/stage.sbatch forwards it to every rank). The handler only sets a flag; the
// stages read it at their unit boundaries (mpi::stop_point, the training loop), commit the unit or write a
// checkpoint, and exit with ErrorKind::Stopped (status 75) so the job can requeue and resume.
#pragma once

namespace rr {

// Installs the SIGUSR1 handler (idempotent).
void install_stop_request_handler();
// True once SIGUSR1 arrived (async-signal-safe flag).
bool stop_requested();

}  // namespace rr
