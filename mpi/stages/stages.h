// The stage programs (DESIGN.md, "Stages"). Each is collective over ctx.world, skips work whose outputs are
// complete for the current settings (unless force), writes atomically, and records its settings.
#pragma once

#include <string>

#include "mpi/stages/context.h"

namespace rr::stages {

void prepare(Context& ctx, bool force);
void train_base_model(Context& ctx, bool force);
void encode(Context& ctx, bool force);
// expert: one name, or "" for every expert (placed on ranks).
void train_experts(Context& ctx, const std::string& expert, bool force);
void train_multitask(Context& ctx, bool force);
void score(Context& ctx, bool force);
void pilot(Context& ctx, bool force);
void evaluate(Context& ctx, bool force);
// Prints the Table 1 layout (and routing counts) from the results file; returns the markdown.
std::string report(Context& ctx);
void pipeline(Context& ctx, bool force);

}  // namespace rr::stages
