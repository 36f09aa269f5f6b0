// The stages of RouterRetriever as one table of records, in pipeline order: config/stage_list.h gives each
// stage's name, command, class and array; its own file gives the rest (StageDefinition). The table drives the
// command line (`routerretriever <command>`), `pipeline`, `status`, `check`'s plan, the Slurm requests and
// `jobs/submit.sh` (through `routerretriever stages`), and docs/architecture.md's stage table (`stages
// --markdown`, checked by a test).
//
// A stage is complete when the fingerprint of its inputs recorded in results.h5 (/meta/<stage>) equals the
// current one (mpi/stages/ledger.h): run_stage() then skips it (unless forced) and records it after a
// successful run. Within a stage, units of work carry their own fingerprints and resume.
//
// Adding a stage: a file defining `StageDefinition <id>_stage()` (and its run and fingerprint functions), and
// one line in config/stage_list.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/stage_names.h"
#include "mpi/stages/context.h"

namespace rr::stages {

struct PlanInputs;

struct StageOptions {
  bool force = false;  // redo the work even when complete
  std::string expert;  // array stages: only this expert ("" = all, placed on ranks)
};

// What a stage commits as it goes (a kill loses at most one), which `status` counts and SIGUSR1 waits for.
enum class UnitKind {
  Stage,         // the stage as a whole
  Dataset,       // one prepared dataset folder
  IndexBlock,    // one corpus block of index.h5
  Checkpoint,    // a training checkpoint (checkpoint_every steps)
  Expert,        // one trained expert (its directory), each resuming from its checkpoints
  ScoreUnit,     // one (dataset, expert) score column or one dataset's base embeddings
  EvaluateUnit,  // one (dataset, method) result
};
const char* unit_kind_name(UnitKind kind);

// What a stage's own file states about it.
struct StageDefinition {
  std::string summary;  // one line for --help and `stages`
  // The fingerprint of its inputs (mpi/stages/fingerprints.h); null for a stage that runs each time.
  std::string (*fingerprint)(const Experiment&) = nullptr;
  void (*run)(Context&, const StageOptions&) = nullptr;
  UnitKind unit = UnitKind::Stage;
  // For docs/architecture.md (`stages --markdown`): what it reads, and its peak memory per rank as a formula
  // of N, Q, Q', T, P, d, k, B, C, M, v (docs/scaling.md defines them).
  std::string inputs, memory;
  // The same formula evaluated for `check`'s plan (plan.h); null where the stage holds little.
  double (*peak_bytes)(const PlanInputs&) = nullptr;
};

struct Stage : StageName, StageDefinition {};

const std::vector<Stage>& stage_table();
const Stage& find_stage(std::string_view name);  // throws Usage listing the stages

// Runs `stage` unless it is complete for the current inputs (or forced); records its fingerprint after.
// Collective.
void run_stage(Context& ctx, const Stage& stage, const StageOptions& options);

// The stage table as text: one tab-separated line per stage (name, command, class, array, summary; what
// jobs/submit.sh reads), or as the Markdown table of docs/architecture.md.
std::string stage_lines();
std::string stage_markdown();

}  // namespace rr::stages
