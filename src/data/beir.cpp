#include "data/beir.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <unordered_set>

#include "common/atomic_output.h"
#include "common/error.h"
#include "common/fingerprint.h"
#include "data/json_text.h"
#include "data/jsonl_reader.h"
#include "data/source_format.h"

namespace fs = std::filesystem;

namespace rr {

namespace {

std::vector<TextRecord> read_unique(const fs::path& path, JsonLinesOptions options, const char* what) {
  std::vector<TextRecord> out;
  for_each_unique_record(path, options, what,
                         [&](TextRecord&& rec, const JsonLinesReader&) { out.push_back(std::move(rec)); });
  return out;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> f;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    f.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return f;
}

bool parse_int(std::string_view s, int& value) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

void write_records(const fs::path& path, const std::vector<TextRecord>& recs, bool with_title) {
  AtomicFile file(path);
  std::string line;
  for (const auto& r : recs) {
    line.clear();
    line += "{\"_id\": ";
    append_json_string(line, r.id);
    if (with_title) {
      line += ", \"title\": ";
      append_json_string(line, r.title);
    }
    line += ", \"text\": ";
    append_json_string(line, r.text);
    line += "}\n";
    file.stream() << line;
  }
  file.commit();
}

}  // namespace

void for_each_unique_record(const fs::path& path, const JsonLinesOptions& options, const char* what,
                            const std::function<void(TextRecord&&, const JsonLinesReader&)>& take) {
  JsonLinesReader reader(path, options);
  std::unordered_map<std::string, int64_t> first_line;
  TextRecord rec;
  while (reader.next(rec)) {
    auto [it, inserted] = first_line.emplace(rec.id, rec.line);
    if (!inserted)
      RR_THROW(Input, "{}:{}: field '_id': duplicate id '{}' (first on line {})", path.string(), rec.line,
               rec.id, it->second);
    take(std::move(rec), reader);
  }
  if (first_line.empty()) RR_THROW(Input, "{}: empty {} file (no records)", path.string(), what);
}

std::vector<TextRecord> read_corpus(const fs::path& path) {
  return read_unique(path, {}, "corpus");
}

std::vector<TextRecord> read_queries(const fs::path& path) {
  std::vector<TextRecord> out;
  for_each_query(path, [&](TextRecord&& rec) { out.push_back(std::move(rec)); });
  return out;
}

void for_each_query(const fs::path& path, const std::function<void(TextRecord&&)>& take) {
  for_each_unique_record(path, JsonLinesOptions{.require_text = true, .allow_title = false}, "queries",
                         [&](TextRecord&& rec, const JsonLinesReader&) { take(std::move(rec)); });
}

Qrels read_qrels_tsv(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open qrels file", path.string());
  Qrels qrels;
  std::string line;
  int64_t lineno = 0, repeated = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto f = split_tabs(line);
    int rel = 0;
    if (lineno == 1 && (f.size() < 3 || !parse_int(f[2], rel))) continue;  // the header line
    if (lineno == 1)
      spdlog::warn("{}: no header line; line 1 read as a judgment (BEIR would skip it)", path.string());
    if (f.size() < 3)
      RR_THROW(Input, "{}:{}: expected 3 tab-separated fields (query-id, corpus-id, score), got {}",
               path.string(), lineno, f.size());
    if (!parse_int(f[2], rel))
      RR_THROW(Input, "{}:{}: field 'score': '{}' is not an integer", path.string(), lineno,
               std::string(f[2]));
    if (f[0].empty()) RR_THROW(Input, "{}:{}: field 'query-id' is empty", path.string(), lineno);
    if (f[1].empty()) RR_THROW(Input, "{}:{}: field 'corpus-id' is empty", path.string(), lineno);
    auto [it, inserted] = qrels[std::string(f[0])].insert_or_assign(std::string(f[1]), rel);
    if (!inserted) ++repeated;
  }
  if (qrels.empty()) RR_THROW(Input, "{}: empty qrels file (no judgments)", path.string());
  if (repeated)
    spdlog::warn("{}: {} repeated (query, document) pairs; the last judgment wins", path.string(), repeated);
  return qrels;
}

void check_qrels_queries(const fs::path& qrels_file, const std::unordered_set<std::string>& known,
                         const fs::path& queries_file) {
  std::ifstream in(qrels_file, std::ios::binary);
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    const auto f = split_tabs(line);
    int rel = 0;
    if (f.size() < 3 || !parse_int(f[2], rel)) continue;  // the header (malformed lines fail when read)
    if (!known.count(std::string(f[0])))
      RR_THROW(Input, "{}:{}: field 'query-id': query '{}' is not in {}", qrels_file.string(), lineno,
               std::string(f[0]), queries_file.string());
  }
}

fs::path beir_queries_path(const fs::path& dir, const std::string& prefix) {
  return dir / (prefix.empty() ? "queries.jsonl" : prefix + "-queries.jsonl");
}

fs::path beir_qrels_path(const fs::path& dir, const std::string& split, const std::string& prefix) {
  return dir / (prefix.empty() ? "qrels" : prefix + "-qrels") / (split + ".tsv");
}

std::vector<NamedFile> beir_folder_files(const fs::path& dir) {
  std::vector<NamedFile> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const bool qrels_dir = name == "qrels" || (name.size() > 6 && name.ends_with("-qrels"));
    if (qrels_dir && e.is_directory()) {
      for (const auto& q : fs::directory_iterator(e.path(), ec))
        if (q.is_regular_file() && q.path().extension() == ".tsv")
          files.push_back({name + "/" + q.path().filename().string(), q.path()});
    } else if (e.is_regular_file() && (name == "corpus.jsonl" || name.ends_with("queries.jsonl"))) {
      files.push_back({name, e.path()});
    }
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return files;
}

std::vector<NamedFile> generated_query_files(const fs::path& dir) {
  auto files = beir_folder_files(dir);
  std::erase_if(files, [](const NamedFile& f) {
    return f.name == "corpus.jsonl" || f.name == "queries.jsonl" || f.name.starts_with("qrels/");
  });
  return files;
}

BeirDataset load_beir(const fs::path& dir, const BeirLoadOptions& options) {
  RR_CHECK(fs::is_directory(dir), Input, "{}: not a BEIR folder (no such directory)", dir.string());
  BeirDataset ds;
  ds.corpus = read_corpus(dir / "corpus.jsonl");
  auto qpath = beir_queries_path(dir, options.prefix);
  ds.queries = read_queries(qpath);
  auto rpath = beir_qrels_path(dir, options.split, options.prefix);
  ds.qrels = read_qrels_tsv(rpath);

  std::unordered_set<std::string> doc_ids, query_ids;
  doc_ids.reserve(ds.corpus.size());
  for (const auto& d : ds.corpus) doc_ids.insert(d.id);
  for (const auto& q : ds.queries) query_ids.insert(q.id);
  int64_t unknown_docs = 0;
  for (const auto& [qid, judged] : ds.qrels) {
    if (!query_ids.count(qid))
      RR_THROW(Input, "{}: field 'query-id': query '{}' is not in {}", rpath.string(), qid, qpath.string());
    for (const auto& [did, rel] : judged) unknown_docs += doc_ids.count(did) ? 0 : 1;
  }
  if (unknown_docs)
    spdlog::warn("{}: {} judgments name documents not in the corpus (kept, as BEIR does)", rpath.string(),
                 unknown_docs);
  if (options.judged_queries_only) {
    std::erase_if(ds.queries, [&](const TextRecord& q) { return !ds.qrels.count(q.id); });
  }
  return ds;
}

void write_corpus(const fs::path& path, const std::vector<TextRecord>& docs) {
  write_records(path, docs, true);
}

void write_queries(const fs::path& path, const std::vector<TextRecord>& queries) {
  write_records(path, queries, false);
}

void write_qrels_tsv(const fs::path& path, const Qrels& qrels) {
  AtomicFile file(path);
  file.stream() << "query-id\tcorpus-id\tscore\n";
  for (const auto& [qid, judged] : qrels)
    for (const auto& [did, rel] : judged) file.stream() << qid << '\t' << did << '\t' << rel << '\n';
  file.commit();
}

void write_beir_folder(const fs::path& dir, const std::vector<TextRecord>& corpus,
                       const std::vector<TextRecord>& queries, const Qrels& qrels, const std::string& split) {
  AtomicDirectory out(dir);
  write_corpus(out.temp_path() / "corpus.jsonl", corpus);
  write_queries(out.temp_path() / "queries.jsonl", queries);
  write_qrels_tsv(out.temp_path() / "qrels" / (split + ".tsv"), qrels);
  out.commit();
}

namespace {

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
    for (const auto& f : generated_query_files(dir)) files[f.name] = file_identity(f.path);
    return {{"format", name()}, {"dir", dir}, {"files", files}};
  }
  std::vector<NamedFile> files() const override { return beir_folder_files(dir); }
  Written write_beir(const std::filesystem::path& out, const std::string& dataset, uint64_t) const override {
    const std::filesystem::path src = dir;
    RR_CHECK(std::filesystem::is_directory(src), Input, "dataset '{}': source dir {} does not exist", dataset,
             src.string());
    std::filesystem::create_directories(out);
    for (const auto& f : beir_folder_files(src)) {  // with its generated-query sets
      std::filesystem::create_directories((out / f.name).parent_path());
      std::filesystem::copy_file(f.path, out / f.name);
    }
    return {"", "copied from " + src.string()};
  }
};

}  // namespace

FormatInfo beir_format() {
  return {"beir",
          FormatKind::Collection,
          "a BEIR folder elsewhere, copied",
          "Copies a BEIR folder (corpus.jsonl, queries.jsonl, qrels/) as it is.",
          {{.key = "dir", .help = "the BEIR folder", .required = true, .path = true}},
          [](const FormatValues& v) {
            auto s = std::make_shared<BeirSource>();
            s->dir = v.text("dir");
            return s;
          }};
}

}  // namespace rr
