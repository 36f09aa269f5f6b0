// The stages of RouterRetriever (DESIGN.md, "Stages") as one table, in pipeline order. It drives the command
// line (`routerretriever <command>`), `pipeline`, and `jobs/submit.sh` (which reads it from
// `routerretriever stages`).
//
// A stage is complete when the fingerprint of its inputs recorded in results.h5 (/meta/<stage>) equals the
// current one: run_stage() then skips it (unless forced) and records it after a successful run. Within a
// stage, units of work (index blocks, experts, score columns) carry their own fingerprints and resume.
//
// Adding a stage: a function `void run(Context&, const StageOptions&)` in its own file, a fingerprint in
// fingerprints.cpp, and one line in stage.cpp.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mpi/stages/context.h"

namespace rr::stages {

struct StageOptions {
  bool force = false;  // redo the work even when complete
  std::string expert;  // train-expert: only this expert ("" = all, placed on ranks)
};

struct Stage {
  std::string name;     // "prepare", "train-base", ... (results.h5 /meta/<name>, jobs/submit.sh)
  std::string command;  // on the command line: "prepare", "train base", ...
  std::string summary;  // one line for --help and `stages`
  std::function<void(Context&, const StageOptions&)> run;
};

const std::vector<Stage>& stage_table();
const Stage& find_stage(std::string_view name);  // throws Usage listing the stages

// Runs `stage` unless it is complete for the current inputs (or forced); records its fingerprint after.
// Collective.
void run_stage(Context& ctx, const Stage& stage, const StageOptions& options);

// The stage functions (one file each).
void prepare(Context& ctx, const StageOptions& options);
void train_base(Context& ctx, const StageOptions& options);
void encode(Context& ctx, const StageOptions& options);
void train_experts(Context& ctx, const StageOptions& options);
void train_multitask(Context& ctx, const StageOptions& options);
void score(Context& ctx, const StageOptions& options);
void pilot(Context& ctx, const StageOptions& options);
void evaluate(Context& ctx, const StageOptions& options);
void report(Context& ctx, const StageOptions& options);

}  // namespace rr::stages
