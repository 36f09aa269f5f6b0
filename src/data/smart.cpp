#include "data/smart.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "common/fingerprint.h"
#include "data/beir.h"
#include "data/source_format.h"
#include "text/utf8.h"

namespace fs = std::filesystem;

namespace rr {

namespace {

std::vector<std::string> split_ws(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// "001" -> "1"; non-numeric ids stay as they are.
std::string normalise_id(const std::string& id) {
  if (id.empty() || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return id;
  size_t nz = id.find_first_not_of('0');
  return nz == std::string::npos ? "0" : id.substr(nz);
}

void append_words(std::string& dst, const std::string& src) {
  for (const auto& w : split_ws(src)) {
    if (!dst.empty()) dst.push_back(' ');
    dst += w;
  }
}

std::string join_fields(const SmartRecord& r, const std::string& letters) {
  std::string out;
  for (char c : letters) {
    auto it = r.fields.find(c);
    if (it != r.fields.end()) append_words(out, it->second);
  }
  return out;
}

bool is_marker(const std::string& line) {
  return line.size() >= 2 && line[0] == '.' && line[1] >= 'A' && line[1] <= 'Z' &&
         (line.size() == 2 || std::isspace(static_cast<unsigned char>(line[2])));
}

struct QrelLine {
  std::vector<std::string> f;
  int64_t line;
};

bool is_zero_number(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && v == 0.0;
}

bool parse_long(const std::string& s, long& v) {
  char* end = nullptr;
  v = std::strtol(s.c_str(), &end, 10);
  return !s.empty() && end && *end == '\0';
}

const char* layout_name(QrelsLayout l) {
  switch (l) {
    case QrelsLayout::Pairs:
      return "qid docid";
    case QrelsLayout::Graded:
      return "qid docid rel";
    case QrelsLayout::Trec:
      return "qid 0 docid rel";
    case QrelsLayout::Smart:
      return "qid docid 0 0.0";
    case QrelsLayout::Auto:
      break;
  }
  return "auto";
}

QrelsLayout detect_layout(const fs::path& path, const std::vector<QrelLine>& lines) {
  size_t cols = lines.front().f.size();
  for (const auto& l : lines)
    if (l.f.size() != cols)
      RR_THROW(Input, "{}:{}: {} fields where line {} has {}; a qrels file needs one layout", path.string(),
               l.line, l.f.size(), lines.front().line, cols);
  if (cols == 2) return QrelsLayout::Pairs;
  if (cols == 3) return QrelsLayout::Graded;
  if (cols == 4) {
    bool second_zero =
        std::all_of(lines.begin(), lines.end(), [](const QrelLine& l) { return l.f[1] == "0"; });
    bool third_zero =
        std::all_of(lines.begin(), lines.end(), [](const QrelLine& l) { return is_zero_number(l.f[2]); });
    if (second_zero && !third_zero) return QrelsLayout::Trec;
    if (third_zero && !second_zero) return QrelsLayout::Smart;
    RR_THROW(Input, "{}: cannot tell 'qid 0 docid rel' from 'qid docid 0 0.0'; pass --qrels-format",
             path.string());
  }
  RR_THROW(Input, "{}:{}: {} fields; expected 2, 3 or 4", path.string(), lines.front().line, cols);
}

}  // namespace

std::vector<SmartRecord> read_smart_records(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open file", path.string());
  std::vector<SmartRecord> recs;
  std::unordered_map<std::string, int64_t> seen;
  std::string line;
  int64_t lineno = 0, latin1_lines = 0;
  char field = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!is_valid_utf8(line)) {
      line = latin1_to_utf8(line);
      ++latin1_lines;
    }
    if (is_marker(line)) {
      char letter = line[1];
      std::string rest = line.size() > 2 ? line.substr(3) : std::string();
      if (letter == 'I') {
        auto words = split_ws(rest);
        if (words.size() != 1)
          RR_THROW(Input, "{}:{}: field '.I': expected one id, got '{}'", path.string(), lineno, rest);
        SmartRecord r;
        r.id = normalise_id(words[0]);
        r.line = lineno;
        auto [it, inserted] = seen.emplace(r.id, lineno);
        if (!inserted)
          RR_THROW(Input, "{}:{}: field '.I': duplicate id {} (first on line {})", path.string(), lineno,
                   r.id, it->second);
        recs.push_back(std::move(r));
        field = 0;
      } else {
        if (recs.empty())
          RR_THROW(Input, "{}:{}: field marker '.{}' before the first '.I'", path.string(), lineno, letter);
        field = letter;
        auto& dst = recs.back().fields[field];
        if (!rest.empty()) dst += rest + "\n";
      }
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (recs.empty()) RR_THROW(Input, "{}:{}: text before the first '.I' record", path.string(), lineno);
    if (field == 0) RR_THROW(Input, "{}:{}: text after '.I' before any field marker", path.string(), lineno);
    recs.back().fields[field] += line + "\n";
  }
  if (recs.empty()) RR_THROW(Input, "{}: no '.I' records (empty or not SMART format)", path.string());
  if (latin1_lines)
    spdlog::warn("{}: {} lines were not UTF-8 and were read as Latin-1", path.string(), latin1_lines);
  return recs;
}

QrelsLayout parse_qrels_layout(const std::string& n) {
  if (n == "auto") return QrelsLayout::Auto;
  if (n == "pairs") return QrelsLayout::Pairs;
  if (n == "graded") return QrelsLayout::Graded;
  if (n == "trec") return QrelsLayout::Trec;
  if (n == "smart") return QrelsLayout::Smart;
  RR_THROW(Usage, "--qrels-format: unknown '{}' (auto, pairs, graded, trec, smart)", n);
}

QueryNumbering parse_query_numbering(const std::string& n) {
  if (n == "auto") return QueryNumbering::Auto;
  if (n == "id") return QueryNumbering::Id;
  if (n == "position") return QueryNumbering::Position;
  RR_THROW(Usage, "--query-ids: unknown '{}' (auto, id, position)", n);
}

RelevanceScale parse_relevance_scale(const std::string& n) {
  if (n == "keep") return RelevanceScale::Keep;
  if (n == "binary") return RelevanceScale::Binary;
  if (n == "rank") return RelevanceScale::Rank;
  RR_THROW(Usage, "--relevance: unknown '{}' (keep, binary, rank)", n);
}

namespace {

std::vector<TextRecord> smart_corpus(const std::vector<SmartRecord>& recs, const SmartConvertOptions& opt,
                                     SmartConvertSummary& sum) {
  std::vector<TextRecord> corpus;
  corpus.reserve(recs.size());
  for (const auto& r : recs) {
    TextRecord d{.id = r.id,
                 .title = join_fields(r, opt.title_field),
                 .text = join_fields(r, opt.text_fields),
                 .line = r.line,
                 .extra = {}};
    if (d.text.empty() && d.title.empty()) ++sum.empty_documents;
    corpus.push_back(std::move(d));
  }
  return corpus;
}

// Queries keep their place in the file (Cranfield's qrels number them by position); an empty record (an id
// and nothing else, as some distributions end with) holds its place and is left out later.
struct SmartQueries {
  std::vector<TextRecord> queries;
  std::vector<bool> empty_record;
};

SmartQueries smart_queries(const std::vector<SmartRecord>& recs, const fs::path& path,
                           SmartConvertSummary& sum) {
  SmartQueries out;
  for (const auto& r : recs) {
    TextRecord q{.id = r.id, .title = {}, .text = join_fields(r, "W"), .line = r.line, .extra = {}};
    if (q.text.empty()) q.text = join_fields(r, "T");
    if (q.text.empty() && !r.fields.empty())
      RR_THROW(Input, "{}:{}: query {} has no '.W' text", path.string(), r.line, r.id);
    out.empty_record.push_back(r.fields.empty());
    sum.empty_queries += r.fields.empty();
    out.queries.push_back(std::move(q));
  }
  if (sum.empty_queries)
    spdlog::warn("{}: {} empty query record(s) (an id and no fields) left out", path.string(),
                 sum.empty_queries);
  return out;
}

// One judgment as the qrels file gives it (ids normalised; rel 1 in layouts without grades).
struct RawJudgment {
  std::string qid, did;
  long rel;
  int64_t line;
};

std::vector<RawJudgment> read_smart_qrels(const fs::path& path, QrelsLayout& layout) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open file", path.string());
  std::vector<QrelLine> lines;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto f = split_ws(line);
    if (!f.empty()) lines.push_back({std::move(f), n});
  }
  if (lines.empty()) RR_THROW(Input, "{}: empty qrels file", path.string());
  if (layout == QrelsLayout::Auto) layout = detect_layout(path, lines);
  const size_t want_cols = layout == QrelsLayout::Pairs ? 2 : layout == QrelsLayout::Graded ? 3 : 4;
  std::vector<RawJudgment> raw;
  for (const auto& l : lines) {
    if (l.f.size() != want_cols)
      RR_THROW(Input, "{}:{}: {} fields, the '{}' layout has {}", path.string(), l.line, l.f.size(),
               layout_name(layout), want_cols);
    RawJudgment r{normalise_id(l.f[0]), "", 1, l.line};
    const bool trec = layout == QrelsLayout::Trec;
    r.did = normalise_id(l.f[trec ? 2 : 1]);
    if (layout == QrelsLayout::Graded || trec) {
      const std::string& grade = l.f[trec ? 3 : 2];
      if (!parse_long(grade, r.rel))
        RR_THROW(Input, "{}:{}: field 'rel': '{}' is not an integer", path.string(), l.line, grade);
    }
    raw.push_back(std::move(r));
  }
  return raw;
}

// How the qrels number queries (opt's choice, or detected), the queries renumbered 1..n when by position.
QueryNumbering number_queries(QueryNumbering numbering, const std::vector<RawJudgment>& raw,
                              std::vector<TextRecord>& queries, const fs::path& qrels_path,
                              const fs::path& queries_path) {
  if (numbering == QueryNumbering::Auto) {
    std::unordered_set<std::string> ids;
    for (const auto& q : queries) ids.insert(q.id);
    const bool all_ids =
        std::all_of(raw.begin(), raw.end(), [&](const RawJudgment& r) { return ids.count(r.qid) > 0; });
    const bool all_positions = std::all_of(raw.begin(), raw.end(), [&](const RawJudgment& r) {
      long v;
      return parse_long(r.qid, v) && v >= 1 && v <= static_cast<long>(queries.size());
    });
    if (!all_ids && !all_positions)
      RR_THROW(Input, "{}: judged query ids are neither the '.I' ids of {} nor positions 1..{}",
               qrels_path.string(), queries_path.string(), queries.size());
    numbering = all_ids ? QueryNumbering::Id : QueryNumbering::Position;
  }
  if (numbering == QueryNumbering::Position)  // the k-th query of the file becomes query "k"
    for (size_t i = 0; i < queries.size(); ++i) queries[i].id = std::to_string(i + 1);
  return numbering;
}

}  // namespace

SmartConvertSummary convert_smart(const fs::path& docs_path, const fs::path& queries_path,
                                  const fs::path& qrels_path, const fs::path& out,
                                  const SmartConvertOptions& opt) {
  SmartConvertSummary sum;
  const std::vector<TextRecord> corpus = smart_corpus(read_smart_records(docs_path), opt, sum);
  auto [queries, empty_record] = smart_queries(read_smart_records(queries_path), queries_path, sum);
  QrelsLayout layout = opt.qrels_layout;
  const std::vector<RawJudgment> raw = read_smart_qrels(qrels_path, layout);
  const QueryNumbering numbering =
      number_queries(opt.query_numbering, raw, queries, qrels_path, queries_path);
  sum.query_numbering = numbering == QueryNumbering::Position ? "position" : "id";
  sum.qrels_layout = layout_name(layout);
  long max_code = 0;
  for (const auto& r : raw) max_code = std::max(max_code, r.rel);

  std::unordered_set<std::string> query_ids, doc_ids, empty_ids;
  for (const auto& q : queries) query_ids.insert(q.id);
  for (const auto& d : corpus) doc_ids.insert(d.id);
  for (size_t i = 0; i < queries.size(); ++i)
    if (empty_record[i]) empty_ids.insert(queries[i].id);
  std::erase_if(queries, [&](const TextRecord& q) { return empty_ids.count(q.id) > 0; });
  Qrels qrels;
  for (const auto& r : raw) {
    if (!query_ids.count(r.qid))
      RR_THROW(Input, "{}:{}: field 'query': query {} is not in {}", qrels_path.string(), r.line, r.qid,
               queries_path.string());
    if (empty_ids.count(r.qid))
      RR_THROW(Input, "{}:{}: field 'query': query {} is an empty record of {}", qrels_path.string(), r.line,
               r.qid, queries_path.string());
    if (!doc_ids.count(r.did))
      RR_THROW(Input, "{}:{}: field 'docid': document {} is not in {}", qrels_path.string(), r.line, r.did,
               docs_path.string());
    long rel = r.rel;
    if (rel < 1) {
      ++sum.below_one;
      rel = 0;
    } else if (opt.relevance == RelevanceScale::Binary) {
      rel = 1;
    } else if (opt.relevance == RelevanceScale::Rank) {
      rel = max_code + 1 - rel;
    }
    auto [it, inserted] = qrels[r.qid].emplace(r.did, static_cast<int>(rel));
    if (!inserted)
      RR_THROW(Input, "{}:{}: query {} judges document {} twice", qrels_path.string(), r.line, r.qid, r.did);
    ++sum.judgments;
  }
  sum.documents = static_cast<int64_t>(corpus.size());
  sum.queries = static_cast<int64_t>(queries.size());
  sum.judged_queries = static_cast<int64_t>(qrels.size());
  write_beir_folder(out, corpus, queries, qrels, opt.split);
  return sum;
}

namespace {

// A SMART-format collection (Cranfield, CISI, MED, ...) as a dataset's source: three files.
class SmartSource final : public SourceFormat {
 public:
  std::string docs, queries, qrels, qrels_format, query_ids, relevance;
  SmartConvertOptions options;

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
  std::vector<NamedFile> files() const override {
    return {{fs::path(docs).filename().string(), docs},
            {fs::path(queries).filename().string(), queries},
            {fs::path(qrels).filename().string(), qrels}};
  }
  Written write_beir(const fs::path& out, const std::string&, uint64_t) const override {
    const auto s = convert_smart(docs, queries, qrels, out, options);
    return {
        options.split,
        fmt::format("{} documents ({} empty), {} queries ({} judged), {} judgments ({} below 1, written as "
                    "0); qrels layout '{}', query numbering by {}",
                    s.documents, s.empty_documents, s.queries, s.judged_queries, s.judgments, s.below_one,
                    s.qrels_layout, s.query_numbering)};
  }
};

}  // namespace

FormatInfo smart_format() {
  return {
      "smart",
      FormatKind::Collection,
      "a SMART-format test collection (Cranfield, CISI, MED, CACM, ...)",
      "A SMART-format test collection as a BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.\n"
      "Ids lose zero padding; every judgment must name an existing query and document.",
      {{.key = "docs", .help = "SMART documents file (.I/.T/.W records)", .required = true, .path = true},
       {.key = "queries", .help = "SMART queries file", .required = true, .path = true},
       {.key = "qrels",
        .help = "relevance judgments (layouts: see qrels_format)",
        .required = true,
        .path = true},
       {.key = "qrels_format",
        .help =
            "auto | pairs (qid docid) | graded (qid docid rel) | trec (qid 0 docid rel) | smart (qid docid "
            "0 0.0)",
        .default_value = "auto"},
       {.key = "query_ids",
        .help = "how qrels number queries: auto | id (the .I numbers) | position (1..N in file order, "
                "Cranfield)",
        .default_value = "auto"},
       {.key = "relevance",
        .help = "keep | binary | rank (codes where 1 is most relevant, e.g. Cranfield: c -> max+1-c); "
                "judgments below 1 are always written as 0 (judged, not relevant)",
        .default_value = "keep"},
       {.key = "title_field",
        .help = "SMART field letters of the title",
        .default_value = "T",
        .config = false},
       {.key = "text_fields",
        .help = "SMART field letters of the text, in order",
        .default_value = "W",
        .config = false},
       {.key = "split",
        .help = "name of the qrels split written",
        .default_value = "test",
        .config = false,
        .config_value = "all"}},
      [](const FormatValues& v) {
        auto s = std::make_shared<SmartSource>();
        s->docs = v.text("docs");
        s->queries = v.text("queries");
        s->qrels = v.text("qrels");
        s->qrels_format = v.text("qrels_format");
        s->query_ids = v.text("query_ids");
        s->relevance = v.text("relevance");
        s->options.qrels_layout = parse_qrels_layout(s->qrels_format);  // fail when read, naming the value
        s->options.query_numbering = parse_query_numbering(s->query_ids);
        s->options.relevance = parse_relevance_scale(s->relevance);
        s->options.title_field = v.text("title_field");
        s->options.text_fields = v.text("text_fields");
        s->options.split = v.text("split");
        return s;
      }};
}

}  // namespace rr
