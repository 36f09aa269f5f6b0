// The stages of RouterRetriever, one line each, in pipeline order: X(id, name, command, class, array).
//   id       the stage's own file (mpi/stages/) defines `StageDefinition <id>_stage()`: its summary,
//            fingerprint, run function, unit of commit and cost (mpi/stages/stage.h)
//   name     results.h5 /meta/<name>, the Slurm job, `status` and the "slurm" config section
//   command  its words on the command line
//   class    OneTask: rank 0 works, on the CPU (Slurm: one task, no GPU; other ranks only wait);
//            Ranks: every rank works, on the experiment's device
//   array    None; PerExpert: jobs/submit.sh runs it as a job array, one task per expert (`--expert NAME`);
//            PerExpertThenAssemble: the array, then a one-task job `<name>-assemble` running the stage whole
// Adding a stage: its file, and one line here (config/stage_names.h and mpi/stages/stage.cpp read it).
#pragma once

#define RR_STAGES(X)                                                    \
  X(prepare, "prepare", "prepare", OneTask, None)                       \
  X(train_base, "train-base", "train base", Ranks, None)                \
  X(encode, "encode", "encode", Ranks, None)                            \
  X(train_expert, "train-expert", "train expert", Ranks, PerExpert)     \
  X(train_multitask, "train-multitask", "train multitask", Ranks, None) \
  X(score, "score", "score", Ranks, PerExpertThenAssemble)              \
  X(pilot, "pilot", "pilot", OneTask, None)                             \
  X(evaluate, "evaluate", "evaluate", Ranks, None)                      \
  X(report, "report", "report", OneTask, None)
