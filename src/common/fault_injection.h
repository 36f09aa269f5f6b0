// Fault injection for the fault tests: RR_FAULT=<point>:<n> makes the process kill itself (SIGKILL, as a
// node failure would) the n-th time it passes <point>. Points: encode-block, train-step, score-column,
// evaluate-unit.
// Without RR_FAULT this is a cheap no-op.
#pragma once

namespace rr {

void fault_point(const char* point);

}  // namespace rr
