// The subcommands of the routerretriever executable (DESIGN.md, "Command line"). Each takes the
// arguments after its name and returns the exit status; errors are thrown as rr::Error.
#pragma once

#include <string>
#include <vector>

namespace rr::commands {

using Args = std::vector<std::string>;

int convert(const Args& args);  // convert smart|...
int measure(const Args& args);
int tokenize(const Args& args);
int embed(const Args& args);
int vocab(const Args& args);
int prepare(const Args& args);
int train(const Args& args);
int encode(const Args& args);
int score(const Args& args);
int pilot(const Args& args);
int evaluate(const Args& args);
int report(const Args& args);
int pipeline(const Args& args);

}  // namespace rr::commands
