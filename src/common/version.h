// rr's version: the project version and `git describe` of the tree it was built from. Defined in one
// generated translation unit, so a new commit recompiles one file instead of every file (a compile definition
// would).
#pragma once

namespace rr {

const char* version();

}  // namespace rr
