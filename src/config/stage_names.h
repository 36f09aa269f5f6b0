// What the config and the job scripts know of the stages without running them: their names, commands,
// classes and arrays, in pipeline order (config/stage_list.h). The stages themselves are mpi/stages/stage.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rr {

// Who works in a stage, which decides its device and its Slurm request.
enum class StageClass {
  OneTask,  // rank 0 on the CPU (the other ranks only wait): Slurm gives it one task and no GPU
  Ranks,    // every rank, on the experiment's device
};

// How jobs/submit.sh runs a stage.
enum class StageArray {
  None,                   // one job
  PerExpert,              // a job array, one task per expert (`--expert NAME`)
  PerExpertThenAssemble,  // the array, then a one-task job `<name>-assemble` that runs the stage whole
};

struct StageName {
  std::string name;     // results.h5 /meta/<name>, Slurm job, `status`
  std::string command;  // on the command line: "prepare", "train base", ...
  StageClass klass = StageClass::Ranks;
  StageArray array = StageArray::None;
  // The one-task job that assembles an array's output ("" when none).
  std::string assemble_job() const;
};

const std::vector<StageName>& stage_names();  // pipeline order
const char* stage_class_name(StageClass c);   // "one task (CPU)" | "P ranks"
const char* stage_array_name(StageArray a);   // "-" | "per expert" | "per expert, then assembled"

}  // namespace rr
