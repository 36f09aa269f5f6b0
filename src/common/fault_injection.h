// Fault injection for the fault tests: RR_FAULT=<point>:<n> makes the process kill itself (SIGKILL, as a
// node failure would) the n-th time it passes <point>; RR_FAULT=<point>:<n>:usr1 sends it SIGUSR1 instead (a
// stop request, as Slurm sends before a time limit or a preemption, at a known place). Points: encode-block,
// train-step, score-round, score-column, evaluate-unit.
// Without RR_FAULT this is a cheap no-op.
#pragma once

namespace rr {

void fault_point(const char* point);

}  // namespace rr
