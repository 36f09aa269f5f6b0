#include "data/dictd.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/error.h"
#include "common/fingerprint.h"
#include "common/stable_hash.h"
#include "data/beir.h"
#include "data/byte_source.h"
#include "data/source_format.h"
#include "text/utf8.h"

namespace rr {

namespace {

int64_t base64_number(const std::string& s, const std::filesystem::path& index, int64_t line) {
  static const std::string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int64_t v = 0;
  for (char c : s) {
    auto p = digits.find(c);
    if (p == std::string::npos)
      RR_THROW(Input, "{}:{}: field 'offset/length': '{}' is not base64", index.string(), line, s);
    v = v * 64 + static_cast<int64_t>(p);
  }
  return v;
}

std::string collapse(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
    } else {
      if (space) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
  }
  return out;
}

int64_t words(const std::string& s) {
  std::istringstream in(s);
  int64_t n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

std::string clean(std::string s, const std::string& headword) {
  static const std::regex tag(R"(<[^<>\n]{1,40}>)"), pron(R"(\\[^\\\n]{0,80}\\)"),
      webster(R"(\[(1913 Webster|PJC|WordNet[^\]]*|Webster 1913[^\]]*)\])"), etym(R"(\[[^\[\]]{0,300}\])"),
      sense(R"((^|\s)(n|v|adj|adv)\s+\d+:\s)"), number(R"((^|\s)\d+:\s)"), date(R"(\(\d{4}-\d{2}-\d{2}\))"),
      cite(R"(--[A-Z][A-Za-z. ]{0,40})"), braces(R"([{}])");
  // The first line of most databases repeats the headword.
  auto nl = s.find('\n');
  std::string first = s.substr(0, nl);
  std::string head_lower = headword, first_lower = first;
  std::transform(head_lower.begin(), head_lower.end(), head_lower.begin(), ::tolower);
  std::transform(first_lower.begin(), first_lower.end(), first_lower.begin(), ::tolower);
  if (first_lower.rfind(head_lower, 0) == 0)
    s = first.substr(headword.size()) + (nl == std::string::npos ? "" : s.substr(nl));
  s = std::regex_replace(s, pron, " ");
  s = std::regex_replace(s, webster, " ");
  s = std::regex_replace(s, etym, " ");
  s = std::regex_replace(s, tag, " ");
  s = std::regex_replace(s, date, " ");
  s = std::regex_replace(s, cite, " ");
  s = std::regex_replace(s, sense, " ");
  s = std::regex_replace(s, number, " ");
  s = std::regex_replace(s, braces, "");
  s = collapse(s);
  // Leading part-of-speech and punctuation left over from "HEADWORD, n." / "word \pron\, v. t.".
  static const std::regex lead(
      R"(^([,;:.]\s*)*((n|v|a|adj|adv|pron|prep|conj|interj|p\. ?p|imp|pl|t|i)\.?,?\s+)*)");
  s = std::regex_replace(s, lead, "");
  return s;
}

// End of the first sentence: ". " before an upper-case letter or the end, or ';'.
size_t first_sentence_end(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ';') return i + 1;
    if ((s[i] == '.' || s[i] == '!' || s[i] == '?') &&
        (i + 1 == s.size() ||
         (s[i + 1] == ' ' && i + 2 < s.size() &&
          (std::isupper(static_cast<unsigned char>(s[i + 2])) || s[i + 2] == '(' || s[i + 2] == '"'))))
      return i + 1;
  }
  return s.size();
}

}  // namespace

std::pair<std::string, std::string> dictd_pair(const std::string& headword, const std::string& body,
                                               const DictdConvertOptions& o) {
  std::string text = clean(body, headword);
  size_t end = first_sentence_end(text);
  std::string query = collapse(text.substr(0, end)), rest = collapse(text.substr(end));
  while (!query.empty() && (query.back() == ';' || query.back() == ',' || query.back() == ':'))
    query.pop_back();
  if (words(query) > o.max_query_words) {
    std::istringstream in(query);
    std::string w, cut;
    for (int64_t i = 0; i < o.max_query_words && in >> w; ++i) cut += (i ? " " : "") + w;
    query = cut;
  }
  if (words(query) < o.min_query_words || words(rest) < o.min_document_words) return {"", ""};
  return {query, rest};
}

DictdConvertSummary convert_dictd(const std::filesystem::path& dict, const std::filesystem::path& index,
                                  const std::filesystem::path& out, const DictdConvertOptions& o) {
  RR_CHECK(!o.prefix.empty(), Usage, "convert dictd: an id prefix is needed (--name)");
  const std::string data = ByteSource(dict).read_all();
  std::ifstream in(index, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open", index.string());
  DictdConvertSummary sum;
  struct Entry {
    std::string head, query, doc;
    uint64_t order;
  };
  std::vector<Entry> usable;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto t1 = line.find('\t'), t2 = line.find('\t', t1 == std::string::npos ? 0 : t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos)
      RR_THROW(Input, "{}:{}: expected 'headword<TAB>offset<TAB>length'", index.string(), n);
    std::string head = line.substr(0, t1);
    const int64_t off = base64_number(line.substr(t1 + 1, t2 - t1 - 1), index, n);
    const int64_t len = base64_number(line.substr(t2 + 1), index, n);
    if (off + len > static_cast<int64_t>(data.size()))
      RR_THROW(Input, "{}:{}: entry '{}' lies outside {} ({} bytes)", index.string(), n, head, dict.string(),
               data.size());
    if (head.rfind("00-database", 0) == 0 || head.rfind("00database", 0) == 0) continue;
    ++sum.entries;
    std::string body = data.substr(static_cast<size_t>(off), static_cast<size_t>(len));
    if (!is_valid_utf8(body)) body = latin1_to_utf8(body);
    if (!is_valid_utf8(head)) head = latin1_to_utf8(head);
    auto [query, doc] = dictd_pair(head, body, o);
    if (query.empty()) {
      ++sum.too_short;
      continue;
    }
    usable.push_back({head, query, doc, stable_hash(head + "\n" + query, o.seed)});
  }
  sum.usable = static_cast<int64_t>(usable.size());
  if (o.max_entries > 0 && static_cast<int64_t>(usable.size()) > o.max_entries) {
    std::stable_sort(usable.begin(), usable.end(),
                     [](const Entry& a, const Entry& b) { return a.order < b.order; });
    usable.resize(static_cast<size_t>(o.max_entries));
  }
  std::vector<TextRecord> corpus, queries;
  Qrels qrels;
  for (size_t i = 0; i < usable.size(); ++i) {
    const std::string doc_id = o.prefix + "-" + std::to_string(i), query_id = "q-" + doc_id;
    corpus.push_back({.id = doc_id, .title = usable[i].head, .text = usable[i].doc, .line = 0, .extra = {}});
    queries.push_back({.id = query_id, .title = {}, .text = usable[i].query, .line = 0, .extra = {}});
    qrels[query_id][doc_id] = 1;
  }
  RR_CHECK(!corpus.empty(), Input, "{}: no usable entries", dict.string());
  sum.kept = static_cast<int64_t>(corpus.size());
  write_beir_folder(out, corpus, queries, qrels, o.split);
  return sum;
}

namespace {

// A dictd database (Debian's dict-* packages) as a reverse dictionary.
class DictdSource final : public SourceFormat {
 public:
  std::string dict, index;
  DictdConvertOptions options;

  std::string name() const override { return "dictd"; }
  nlohmann::json identity() const override {
    return {{"format", name()},
            {"dict", file_identity(dict)},
            {"index", file_identity(index)},
            {"max_entries", options.max_entries}};
  }
  std::vector<NamedFile> files() const override {
    return {{std::filesystem::path(dict).filename().string(), dict},
            {std::filesystem::path(index).filename().string(), index}};
  }
  Written write_beir(const std::filesystem::path& out, const std::string& dataset,
                     uint64_t seed) const override {
    DictdConvertOptions o = options;
    o.prefix = dataset;
    o.seed = seed;
    const auto s = convert_dictd(dict, index, out, o);
    return {o.split, fmt::format("{} dictionary entries, {} usable ({} too short), {} kept", s.entries,
                                 s.usable, s.too_short, s.kept)};
  }
};

}  // namespace

FormatInfo dictd_format() {
  return {
      "dictd",
      FormatKind::Collection,
      "a dictd database (Debian's dict-* packages) as a reverse dictionary",
      "A dictd database as a reverse-dictionary BEIR folder: the first sentence of each definition is a\n"
      "query, the headword with the rest of the entry its one relevant document (ids prefixed with the\n"
      "dataset's name).",
      {{.key = "dict",
        .help = "dictd data, e.g. /usr/share/dictd/foldoc.dict.dz",
        .required = true,
        .path = true},
       {.key = "index",
        .help = "dictd index, e.g. /usr/share/dictd/foldoc.index",
        .required = true,
        .path = true},
       {.key = "max_entries",
        .help = "deterministic sample of this many entries (0: all)",
        .default_value = "0",
        .integer = true},
       {.key = "split", .help = "name of the qrels split written", .default_value = "all", .config = false}},
      [](const FormatValues& v) {
        auto s = std::make_shared<DictdSource>();
        s->dict = v.text("dict");
        s->index = v.text("index");
        s->options.max_entries = v.integer("max_entries");
        RR_CHECK(s->options.max_entries >= 0, Usage, "{} must be >= 0", v.name("max_entries"));
        s->options.split = v.text("split");
        return s;
      }};
}

}  // namespace rr
