// Where a dataset's BEIR folder (or part of it) comes from: a format that converts other files. Each format
// states its options once, and they are both the keys of a dataset's "source" object in the experiment config
// and the options of `routerretriever convert <format>` (--key, with dashes for underscores): `prepare` and
// `convert` read the same registry (data/format_list.h).
//
// Adding a format: in its own file a class deriving from SourceFormat and `FormatInfo <id>_format()` that
// describes it, and one line in format_list.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rr {

class JsonObjectReader;

// An input file and the name it goes by in messages, provenance and a dataset's "checksums" ("qrels/test.tsv"
// inside a BEIR folder, the file name for a single-file source such as SMART's "cranqrel").
struct NamedFile {
  std::string name;
  std::filesystem::path path;
};

// One setting of a format.
struct FormatOption {
  std::string key;            // "qrels_format" (on the command line --qrels-format)
  std::string help;           // one line
  std::string default_value;  // used when absent (ignored when required)
  bool required = false;
  bool path = false;     // a file or folder: relative paths in a config are relative to the config file
  bool integer = false;  // a whole number
  bool config = true;    // also a key of a dataset's "source" (false: only on the command line)
  std::string config_value =
      "";  // the value a format made from a config takes for a command-line-only option
           // ("" : default_value)
};

// A format's option values by key, as text (a config's whole numbers written as decimals), every option
// present (defaults filled in), and how messages name them.
class FormatValues {
 public:
  // where: the config file or "convert <format>"; key_prefix: "datasets.0.source." for a config ("" on the
  // command line, whose options are written --key-with-dashes).
  FormatValues(std::string where, std::string key_prefix, bool command_line,
               std::map<std::string, std::string> values)
      : where_(std::move(where)),
        key_prefix_(std::move(key_prefix)),
        command_line_(command_line),
        values_(std::move(values)) {}
  const std::string& text(const std::string& key) const;
  int64_t integer(const std::string& key) const;  // Usage error naming the option when not a whole number
  // "file: 'datasets.0.source.max_entries'" or "convert dictd: '--max-entries'", for messages.
  std::string name(const std::string& key) const;

 private:
  std::string where_, key_prefix_;
  bool command_line_;
  std::map<std::string, std::string> values_;
};

class SourceFormat {
 public:
  virtual ~SourceFormat() = default;
  virtual std::string name() const = 0;
  // The settings and the source files' identities: what the prepared folder depends on.
  virtual nlohmann::json identity() const = 0;
  // The source files read (missing optional ones left out): the dataset's inputs in the results' provenance.
  virtual std::vector<NamedFile> files() const = 0;
  struct Written {
    std::string split;    // the qrels split written ("": the one the dataset's `qrels` key names)
    std::string summary;  // what was written, in one line ("3000 documents, ...")
  };
  // Writes into `out`: a complete BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) for a
  // collection, or a query prefix into the BEIR folder there. `dataset` names the dataset (id prefixes,
  // messages); `seed` drives any sampling.
  virtual Written write_beir(const std::filesystem::path& out, const std::string& dataset,
                             uint64_t seed) const = 0;
};

enum class FormatKind {
  Collection,   // a whole BEIR folder: a dataset's "source"
  QueryPrefix,  // training queries written as <prefix>-queries.jsonl + <prefix>-qrels/ into an existing one
};

struct FormatInfo {
  std::string name;  // a source's "format", and `convert <name>`
  FormatKind kind = FormatKind::Collection;
  std::string summary;      // one line for `convert --help`
  std::string description;  // for `convert <name> --help`
  std::vector<FormatOption> options;
  std::function<std::shared_ptr<const SourceFormat>(const FormatValues&)> make;  // checks the values
};

const std::vector<FormatInfo>& source_formats();                // format_list.h's order
const FormatInfo& source_format(std::string_view name);         // throws Usage listing the formats
std::vector<std::string> source_format_names(FormatKind kind);  // the formats of one kind

// Makes a path given in the config absolute (relative to the config file).
using PathResolver = std::function<void(std::string&)>;

// `--key-with-dashes` of an option key.
std::string command_line_option(const std::string& key);

// Parses a dataset's "source" object: "format" picks a collection format, whose options are read (every
// other key is an error naming it) and checked. Returns null when the object has no "format" (the folder is
// used as it is).
std::shared_ptr<const SourceFormat> parse_source(JsonObjectReader& source, const PathResolver& resolve);

}  // namespace rr
