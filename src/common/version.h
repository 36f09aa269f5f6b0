// rr's version and the git state of the tree it was built from. Defined in one translation unit generated at
// every build (cmake/git_version.cmake), so a new commit recompiles one file instead of every file (a compile
// definition would), and a build never reports an older commit than the one it compiled.
#pragma once

namespace rr {

const char* version();     // "0.1.0+<git describe --always --dirty --tags>"
const char* git_commit();  // the full commit hash, or "unknown" outside a git tree
bool git_dirty();          // tracked files differed from that commit when it was built

}  // namespace rr
