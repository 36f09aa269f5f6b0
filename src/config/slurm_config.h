// The experiment's "slurm" section: what each job of jobs/submit.sh asks Slurm for, and how a job warned of
// its end (time limit, preemption) stops and requeues. Layered, later wins: rr's defaults for every job, the
// user's "default", the class "cpu" (the one-task stages of config/stage_list.h and the jobs that assemble an
// array's output: one task, no GPU), the stage's own entry. Array stages (train-expert, score) describe one
// task of the array. The command line of submit.sh still overrides everything (its sbatch options come last).
//
//   "slurm": {"requeue_limit": 3, "signal_seconds": 300,
//             "default": {"partition": "gpu", "ntasks": 8, "gpus_per_task": 1, "cpus_per_task": 8,
//                         "mem": "200G", "time": "12:00:00"},
//             "cpu": {"partition": "cpu"}, "train-expert": {"ntasks": 8, "time": "1-00:00:00"}}
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rr {

class JsonObjectReader;

// One job's request; empty strings and -1 inherit from the layer below.
struct SlurmResources {
  std::string partition, mem, time;  // mem as sbatch --mem ("32G"); time as --time ("HH:MM:SS", "D-HH:MM:SS")
  int64_t ntasks = -1, gpus_per_task = -1, cpus_per_task = -1;
};

struct SlurmConfig {
  int64_t requeue_limit = 3;     // times a stopped job requeues itself before it counts as failed
  int64_t signal_seconds = 300;  // SIGUSR1 this long before the time limit (0: no warning, no requeue)
  std::map<std::string, SlurmResources> jobs;  // "default", "cpu" or a stage name -> the user's layer
};

// The names a "slurm" entry may have: default, cpu, and every stage (config/stage_list.h).
const std::vector<std::string>& slurm_job_names();

void read_slurm(JsonObjectReader r, SlurmConfig& slurm);

// The resolved request of a job: a stage name, or an array's assembly job ("score-assemble").
SlurmResources slurm_resources(const SlurmConfig& slurm, const std::string& job);

// sbatch options for the job: --ntasks, --cpus-per-task, --time, and --partition, --mem, --gpus-per-task when
// set, plus --signal=B:USR1@N --requeue when signal_seconds > 0.
std::string sbatch_options(const SlurmConfig& slurm, const std::string& job);

}  // namespace rr
