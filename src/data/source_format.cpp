#include "data/source_format.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/fingerprint.h"
#include "data/dictd.h"
#include "data/json_reader.h"
#include "data/smart.h"

namespace rr {

namespace {

// A SMART-format collection (Cranfield, CISI, MED, ...): three files.
class SmartSource final : public SourceFormat {
 public:
  std::string docs, queries, qrels;
  std::string qrels_format = "auto", query_ids = "auto", relevance = "keep";  // see `convert smart --help`

  std::string name() const override { return "smart"; }
  nlohmann::json identity() const override {
    return {{"format", name()},
            {"docs", file_identity(docs)},
            {"queries", file_identity(queries)},
            {"qrels", file_identity(qrels)},
            {"qrels_format", qrels_format},
            {"query_ids", query_ids},
            {"relevance", relevance}};
  }
  std::string write_beir(const std::filesystem::path& out, const std::string& dataset,
                         uint64_t) const override {
    SmartConvertOptions o;
    o.qrels_layout = parse_qrels_layout(qrels_format);
    o.query_numbering = parse_query_numbering(query_ids);
    o.relevance = parse_relevance_scale(relevance);
    o.split = "all";
    auto s = convert_smart(docs, queries, qrels, out, o);
    spdlog::info("prepare: {}: {} documents, {} queries ({} judged), {} judgments", dataset, s.documents,
                 s.queries, s.judged_queries, s.judgments);
    return o.split;
  }
};

std::shared_ptr<const SourceFormat> parse_smart(JsonObjectReader& r, const PathResolver& resolve) {
  auto s = std::make_shared<SmartSource>();
  for (auto [key, dst] : {std::pair{"docs", &s->docs}, {"queries", &s->queries}, {"qrels", &s->qrels}}) {
    r.get(key, *dst);
    RR_CHECK(!dst->empty(), Usage, "{}: '{}' is required for format smart", r.where(), r.key_path(key));
    resolve(*dst);
  }
  r.get("qrels_format", s->qrels_format);
  r.get("query_ids", s->query_ids);
  r.get("relevance", s->relevance);
  parse_qrels_layout(s->qrels_format);  // fail at load time, naming the value
  parse_query_numbering(s->query_ids);
  parse_relevance_scale(s->relevance);
  return s;
}

// A dictd database (Debian's dict-* packages) as a reverse dictionary (data/dictd.h).
class DictdSource final : public SourceFormat {
 public:
  std::string dict, index;
  int64_t max_entries = 0;  // deterministic sample size (0: all usable entries)

  std::string name() const override { return "dictd"; }
  nlohmann::json identity() const override {
    return {{"format", name()},
            {"dict", file_identity(dict)},
            {"index", file_identity(index)},
            {"max_entries", max_entries}};
  }
  std::string write_beir(const std::filesystem::path& out, const std::string& dataset,
                         uint64_t seed) const override {
    DictdConvertOptions o;
    o.prefix = dataset;
    o.max_entries = max_entries;
    o.seed = seed;
    o.split = "all";
    auto s = convert_dictd(dict, index, out, o);
    spdlog::info("prepare: {}: {} dictionary entries, {} usable, {} kept", dataset, s.entries, s.usable,
                 s.kept);
    return o.split;
  }
};

std::shared_ptr<const SourceFormat> parse_dictd(JsonObjectReader& r, const PathResolver& resolve) {
  auto s = std::make_shared<DictdSource>();
  for (auto [key, dst] : {std::pair{"dict", &s->dict}, {"index", &s->index}}) {
    r.get(key, *dst);
    RR_CHECK(!dst->empty(), Usage, "{}: '{}' is required for format dictd", r.where(), r.key_path(key));
    resolve(*dst);
  }
  r.get("max_entries", s->max_entries);
  RR_CHECK(s->max_entries >= 0, Usage, "{}: '{}' must be >= 0", r.where(), r.key_path("max_entries"));
  return s;
}

// A BEIR folder elsewhere, copied (its qrels split `qrels` is then split by `prepare`).
class BeirSource final : public SourceFormat {
 public:
  std::string dir;
  std::string name() const override { return "beir"; }
  nlohmann::json identity() const override {
    nlohmann::json files;
    for (const char* f : {"corpus.jsonl", "queries.jsonl"})
      files[f] = file_identity(std::filesystem::path(dir) / f);
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir) / "qrels", ec))
      files["qrels/" + e.path().filename().string()] = file_identity(e.path());
    return {{"format", name()}, {"dir", dir}, {"files", files}};
  }
  std::string write_beir(const std::filesystem::path& out, const std::string& dataset,
                         uint64_t) const override {
    const std::filesystem::path src = dir;
    RR_CHECK(std::filesystem::is_directory(src), Input, "dataset '{}': source dir {} does not exist", dataset,
             src.string());
    std::filesystem::create_directories(out);
    for (const char* f : {"corpus.jsonl", "queries.jsonl"}) std::filesystem::copy_file(src / f, out / f);
    std::filesystem::copy(src / "qrels", out / "qrels", std::filesystem::copy_options::recursive);
    return "";
  }
};

std::shared_ptr<const SourceFormat> parse_beir(JsonObjectReader& r, const PathResolver& resolve) {
  auto s = std::make_shared<BeirSource>();
  r.get("dir", s->dir);
  RR_CHECK(!s->dir.empty(), Usage, "{}: '{}' is required for format beir", r.where(), r.key_path("dir"));
  resolve(s->dir);
  return s;
}

using Parser = std::shared_ptr<const SourceFormat> (*)(JsonObjectReader&, const PathResolver&);

// The formats: one line each.
const std::vector<std::pair<std::string, Parser>>& registry() {
  static const std::vector<std::pair<std::string, Parser>> formats = {
      {"smart", parse_smart},
      {"dictd", parse_dictd},
      {"beir", parse_beir},
  };
  return formats;
}

}  // namespace

std::vector<std::string> source_format_names() {
  std::vector<std::string> names;
  for (const auto& [name, parse] : registry()) names.push_back(name);
  return names;
}

std::shared_ptr<const SourceFormat> parse_source(JsonObjectReader& r, const PathResolver& resolve) {
  std::string format;
  r.get("format", format);
  if (format.empty()) return nullptr;
  for (const auto& [name, parse] : registry())
    if (name == format) return parse(r, resolve);
  RR_THROW(Usage, "{}: {}: unknown format '{}' ({})", r.where(), r.key_path("format"), format,
           fmt::join(source_format_names(), ", "));
}

}  // namespace rr
