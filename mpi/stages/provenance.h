// The results' provenance (results.h5 /provenance, rewritten with each stage's completion record): the code
// (version, commit, dirty flag), the effective configuration and its hash, where and how the stage ran
// (hosts, ranks, threads, device, precision, library versions), and every input file the experiment reads
// with its size, mtime and SHA-256.
//
// A checksum is computed once, streamed (constant memory), and reused while the file keeps its size and
// mtime; a file whose size or mtime moved is hashed again, so `touch` alone is told apart from an edit. The
// files to hash are dealt round-robin over the ranks (each reads its own share; no rank holds more).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/experiment.h"

namespace rr::h5 {
class File;
}
namespace rr::mpi {
class Comm;
}

namespace rr::stages {

struct Context;

struct InputFile {
  std::string owner;   // "dataset astro", "base", "expert astro", "multitask"
  std::string name;    // the file's name for its owner ("qrels/test.tsv", "adapter_model.safetensors")
  std::string path;    // as read
  int64_t size = 0;    // bytes
  int64_t mtime = 0;   // nanoseconds of the file clock
  std::string sha256;  // "" until checksummed
};

// The experiment's input files that exist now, in a fixed order, without checksums: each dataset's source
// files (or its BEIR folder's, generated-query sets included, when it has no source), then the base model's,
// each expert's adapter and the multi-task model's files (given, or trained by earlier stages).
std::vector<InputFile> list_inputs(const Experiment& exp);

// Fills every file's sha256: reused from `known` when path, size and mtime match, else computed; with `comm`
// the files to compute are shared among its ranks and every rank ends with all of them (collective).
void checksum_inputs(std::vector<InputFile>& files, const std::vector<InputFile>& known,
                     const mpi::Comm* comm = nullptr);

// The inputs /provenance of `results` records (empty when it has none or cannot be read).
std::vector<InputFile> recorded_inputs(const std::filesystem::path& results);

// One line per difference between the recorded inputs and the current ones (both checksummed):
// "dataset astro: qrels/all.tsv changed (SHA-256 1f2e… -> 9a0b…)", "... touched (same content)",
// "... missing", "... new".
std::vector<std::string> input_changes(const std::vector<InputFile>& recorded,
                                       const std::vector<InputFile>& now);

// Input error naming the dataset, the file and both checksums when a dataset's `checksums` do not hold, or
// name a file that is not among its inputs.
void verify_checksums(const Experiment& exp, const std::vector<InputFile>& now);

// The inputs now, checksummed (collective): the root logs what changed since results.h5 recorded them, and
// every dataset's expected checksums are verified. `stage` names the stage about to run, for the log.
std::vector<InputFile> current_inputs(const Context& ctx, const std::string& stage);

// What /provenance says about where a stage ran, gathered from every rank (collective).
struct RunPlace {
  std::vector<std::string> hosts;  // "node01 x4" in name order
  int ranks = 1, threads = 1;
};
RunPlace run_place(const Context& ctx);

// Writes /provenance into `file` (rank 0), replacing what it held: `facts` are the stage's device and
// precision (stage.cpp's stage_facts).
void write_provenance(h5::File& file, const Context& ctx, const std::string& stage, const RunPlace& place,
                      const std::map<std::string, std::string>& facts, const std::vector<InputFile>& inputs);

}  // namespace rr::stages
