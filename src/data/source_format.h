// Where a dataset's BEIR folder comes from when `prepare` makes it: a converter from another collection
// format. Each format reads and validates its own keys of the dataset's "source" object in the experiment
// config, and writes a complete BEIR folder.
//
// Adding a format: a class deriving from SourceFormat, a parse function, and one line in the registry
// (source_format.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rr {

class JsonObjectReader;

class SourceFormat {
 public:
  virtual ~SourceFormat() = default;
  virtual std::string name() const = 0;
  // The settings and the source files' identities: what the prepared folder depends on.
  virtual nlohmann::json identity() const = 0;
  // Writes a complete BEIR folder at `out` (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) and returns
  // <split>, the qrels file that holds the judgments ("": the one the dataset's `qrels` key names).
  // `dataset` names the dataset (id prefixes, messages); `seed` drives any sampling.
  virtual std::string write_beir(const std::filesystem::path& out, const std::string& dataset,
                                 uint64_t seed) const = 0;
};

// Makes a path given in the config absolute (relative to the config file).
using PathResolver = std::function<void(std::string&)>;

// Parses a dataset's "source" object: "format" picks the format, which reads its own keys; every other key
// is an error naming it. Returns null when the object has no "format" (the folder is used as it is).
std::shared_ptr<const SourceFormat> parse_source(JsonObjectReader& source, const PathResolver& resolve);

std::vector<std::string> source_format_names();

}  // namespace rr
