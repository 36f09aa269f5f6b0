#include "data/generated_queries.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "common/fingerprint.h"
#include "common/stable_hash.h"
#include "data/beir.h"
#include "data/byte_source.h"
#include "data/jsonl_reader.h"
#include "data/source_format.h"

namespace rr {

namespace {

std::unordered_set<std::string> corpus_ids(const std::filesystem::path& beir_dir) {
  std::unordered_set<std::string> ids;
  JsonLinesReader reader(beir_dir / "corpus.jsonl", {.require_text = false});
  for (TextRecord r; reader.next(r);) ids.insert(r.id);
  RR_CHECK(!ids.empty(), Input, "{}: empty corpus", (beir_dir / "corpus.jsonl").string());
  return ids;
}

}  // namespace

GeneratedSummary convert_beir_generated(const std::filesystem::path& input,
                                        const std::filesystem::path& beir_dir, const std::string& prefix) {
  const auto docs = corpus_ids(beir_dir);
  JsonLinesReader reader(input, {.require_text = false, .allow_title = true, .extra_field = "query"});
  std::vector<TextRecord> queries;
  Qrels qrels;
  GeneratedSummary s;
  for (TextRecord r; reader.next(r);) {
    ++s.rows;
    if (!docs.count(r.id))
      RR_THROW(Input, "{}:{}: field '_id': document '{}' is not in {}", input.string(), r.line, r.id,
               (beir_dir / "corpus.jsonl").string());
    RR_CHECK(!r.extra.empty(), Input, "{}:{}: field 'query' is empty", input.string(), r.line);
    const std::string qid = "genQ" + std::to_string(queries.size() + 1);
    queries.push_back({.id = qid, .title = {}, .text = r.extra, .line = r.line, .extra = {}});
    qrels[qid][r.id] = 1;
  }
  RR_CHECK(!queries.empty(), Input, "{}: no generated queries", input.string());
  write_queries(beir_queries_path(beir_dir, prefix), queries);
  write_qrels_tsv(beir_qrels_path(beir_dir, "train", prefix), qrels);
  s.queries = s.judgments = static_cast<int64_t>(queries.size());
  return s;
}

namespace {

// Corpus documents by their exact (title, text), for matching the released files' passages.
class PassageIndex {
 public:
  explicit PassageIndex(const std::filesystem::path& beir_dir) {
    JsonLinesReader reader(beir_dir / "corpus.jsonl", {.require_text = false});
    for (TextRecord r; reader.next(r);) by_hash_.emplace(key(r.title, r.text), r.id);
  }
  // The id of the document with exactly this title and text, or "" (hash collisions are checked by both
  // fields' hashes: a 128-bit key).
  std::string find(std::string_view title, std::string_view text) const {
    auto it = by_hash_.find(key(title, text));
    return it == by_hash_.end() ? "" : it->second;
  }

 private:
  static std::string key(std::string_view title, std::string_view text) {
    return fmt::format("{:016x}{:016x}{}", stable_hash(title, 1), stable_hash(text, 2), text.size());
  }
  std::unordered_map<std::string, std::string> by_hash_;
};

std::string_view field_or_empty(simdjson::ondemand::object obj, const char* name) {
  std::string_view v;
  if (obj[name].get_string().get(v)) return {};
  return v;
}

// One released file: its questions (ids "<split>-<n>") and their matched positives.
void read_released(const std::filesystem::path& path, const std::string& split, const PassageIndex& passages,
                   std::vector<TextRecord>& queries, Qrels& qrels, GeneratedSummary& s) {
  simdjson::padded_string json;
  if (auto err = simdjson::padded_string::load(path.string()).get(json))
    RR_THROW(Input, "{}: cannot read: {}", path.string(), simdjson::error_message(err));
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::array list;
  if (parser.iterate(json).get(doc) || doc.get_array().get(list))
    RR_THROW(Input, "{}: expected a JSON list of training examples", path.string());
  int64_t entry = 0;
  for (auto item : list) {
    simdjson::ondemand::object obj;
    std::string_view question;
    simdjson::ondemand::array positives;
    if (item.get_object().get(obj) || obj["question"].get_string().get(question) ||
        obj["positive_ctxs"].get_array().get(positives))
      RR_THROW(Input, "{}: entry {}: needs \"question\" (a string) and \"positive_ctxs\" (a list)",
               path.string(), entry);
    const std::string qid = split + "-" + std::to_string(entry++);
    ++s.rows;
    for (auto ctx : positives) {
      simdjson::ondemand::object p;
      if (ctx.get_object().get(p))
        RR_THROW(Input, "{}: entry {}: a positive_ctxs item is not an object", path.string(), entry - 1);
      const std::string title(field_or_empty(p, "title")), text(field_or_empty(p, "text"));
      const std::string doc = passages.find(title, text);
      if (doc.empty()) {
        ++s.unmatched;
        continue;
      }
      qrels[qid][doc] = 1;
      ++s.judgments;
    }
    if (!qrels.count(qid)) {
      ++s.dropped;
      continue;
    }
    queries.push_back({.id = qid, .title = {}, .text = std::string(question), .line = 0, .extra = {}});
  }
}

}  // namespace

GeneratedSummary convert_released_training(const std::filesystem::path& train,
                                           const std::filesystem::path& dev,
                                           const std::filesystem::path& beir_dir, const std::string& prefix) {
  const PassageIndex passages(beir_dir);
  GeneratedSummary s;
  std::vector<TextRecord> queries;
  for (const auto& [path, split] : {std::pair{train, std::string("train")}, {dev, std::string("dev")}}) {
    if (path.empty()) continue;
    Qrels qrels;
    read_released(path, split, passages, queries, qrels, s);
    RR_CHECK(!qrels.empty(), Input, "{}: no question has a positive passage found in {}", path.string(),
             (beir_dir / "corpus.jsonl").string());
    write_qrels_tsv(beir_qrels_path(beir_dir, split, prefix), qrels);
  }
  write_queries(beir_queries_path(beir_dir, prefix), queries);
  s.queries = static_cast<int64_t>(queries.size());
  if (s.unmatched)
    spdlog::warn("{}: {} positive passages match no corpus document exactly (skipped); {} questions dropped",
                 beir_dir.string(), s.unmatched, s.dropped);
  return s;
}

namespace {

// Training queries written as a query prefix into an existing BEIR folder (`convert` only).
class QueryPrefixSource final : public SourceFormat {
 public:
  std::string format, prefix;
  std::vector<std::string> inputs;  // generated: {input}; released: {train, dev}

  std::string name() const override { return format; }
  nlohmann::json identity() const override {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : inputs) files.push_back(file_identity(f));
    return {{"format", format}, {"files", files}, {"prefix", prefix}};
  }
  std::vector<NamedFile> files() const override {
    std::vector<NamedFile> out;
    for (const auto& f : inputs)
      if (!f.empty()) out.push_back({std::filesystem::path(f).filename().string(), f});
    return out;
  }
  Written write_beir(const std::filesystem::path& out, const std::string&, uint64_t) const override {
    if (format == "beir-generated") {
      const auto s = convert_beir_generated(inputs[0], out, prefix);
      return {"train", fmt::format("{} generated queries written as '{}'", s.queries, prefix)};
    }
    const auto s = convert_released_training(inputs[0], inputs[1], out, prefix);
    return {"train", fmt::format("{} questions with {} matched positives written as '{}'", s.queries,
                                 s.judgments, prefix)};
  }
};

}  // namespace

FormatInfo beir_generated_format() {
  return {
      "beir-generated",
      FormatKind::QueryPrefix,
      "BeIR/<name>-generated-queries as training queries of a BEIR folder",
      "Writes the generated queries of a BeIR/<name>-generated-queries file into the BEIR folder --out as\n"
      "<prefix>-queries.jsonl and <prefix>-qrels/train.tsv (what BEIR's QueryGenerator writes and\n"
      "GenericDataLoader(prefix) reads); train_source \"auto\" then trains on them when the folder has no\n"
      "qrels/train.tsv. Every document id must be in the folder's corpus.",
      {{.key = "input",
        .help = "BeIR/<name>-generated-queries train.jsonl or train.jsonl.gz (rows _id, title, text, query)",
        .required = true,
        .path = true},
       {.key = "prefix", .help = "query prefix written", .default_value = "gen"}},
      [](const FormatValues& v) {
        auto s = std::make_shared<QueryPrefixSource>();
        s->format = "beir-generated";
        s->inputs = {v.text("input")};
        s->prefix = v.text("prefix");
        return s;
      }};
}

FormatInfo released_format() {
  return {
      "released",
      FormatKind::QueryPrefix,
      "the released RouterRetriever code's train.json as training queries of a BEIR folder",
      "Writes the released RouterRetriever code's training files (a list of {question, positive_ctxs,\n"
      "negative_ctxs, hard_negative_ctxs}) into the BEIR folder --out as <prefix>-queries.jsonl and\n"
      "<prefix>-qrels/{train,dev}.tsv, each positive passage matched to the corpus document with the same\n"
      "title and text. Train on them with train_source \"released\".",
      {{.key = "train", .help = "the released code's train.json", .required = true, .path = true},
       {.key = "dev", .help = "its dev.json (optional)", .path = true},
       {.key = "prefix", .help = "query prefix written", .default_value = "released"}},
      [](const FormatValues& v) {
        auto s = std::make_shared<QueryPrefixSource>();
        s->format = "released";
        s->inputs = {v.text("train"), v.text("dev")};
        s->prefix = v.text("prefix");
        return s;
      }};
}

}  // namespace rr
