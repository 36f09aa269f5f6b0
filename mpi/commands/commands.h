// The subcommands of the routerretriever executable (DESIGN.md, "Command line"). Each takes the
// arguments after its name and returns the exit status; errors are thrown as rr::Error.
#pragma once

#include <string>
#include <vector>

namespace rr::stages {
struct Stage;
}

namespace rr::commands {

using Args = std::vector<std::string>;

// Tools (single process).
int convert(const Args& args);  // convert smart|dictd
int measure(const Args& args);
int bm25(const Args& args);  // BEIR's lexical baseline on one BEIR folder
int tokenize(const Args& args);
int embed(const Args& args);
int vocab(const Args& args);
int check(const Args& args);   // the pre-flight of an experiment
int config(const Args& args);  // effective config values for scripts
int status(const Args& args);  // where an experiment stands, from its output directory

// MPI programs: one stage of the table (args after its command words), every stage in order, the list.
int stage(const stages::Stage& stage, const Args& args);
int pipeline(const Args& args);
int list_stages(const Args& args);

}  // namespace rr::commands
