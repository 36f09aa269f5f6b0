#include "eval/trec_files.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "common/atomic_output.h"
#include "common/error.h"

namespace rr {

namespace {

// Calls fn(fields, lineno) for each non-blank line, after checking it has `want` fields.
template <typename Fn>
void for_each_line(const std::filesystem::path& path, size_t want, const char* layout, Fn&& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open file", path.string());
  std::string line;
  std::vector<std::string> f;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream ss(line);
    f.clear();
    for (std::string w; ss >> w;) f.push_back(std::move(w));
    if (f.empty()) continue;
    if (f.size() != want)
      RR_THROW(Input, "{}:{}: {} fields, expected {} ({})", path.string(), n, f.size(), want, layout);
    fn(f, n);
  }
}

}  // namespace

Judgments read_trec_qrels(const std::filesystem::path& path) {
  Judgments q;
  for_each_line(path, 4, "qid iter docno rel", [&](const std::vector<std::string>& f, int64_t n) {
    long rel = 0;
    auto [p, ec] = std::from_chars(f[3].data(), f[3].data() + f[3].size(), rel);
    if (ec != std::errc() || p != f[3].data() + f[3].size())
      RR_THROW(Input, "{}:{}: field 'rel': '{}' is not an integer", path.string(), n, f[3]);
    if (!q[f[0]].emplace(f[2], static_cast<int>(rel)).second)
      RR_THROW(Input, "{}:{}: field 'docno': '{}' judged twice for query '{}'", path.string(), n, f[2], f[0]);
  });
  return q;
}

TrecRun read_trec_run(const std::filesystem::path& path) {
  TrecRun run;
  for_each_line(path, 6, "qid Q0 docno rank score tag", [&](const std::vector<std::string>& f, int64_t n) {
    char* end = nullptr;
    double score = std::strtod(f[4].c_str(), &end);
    if (end == f[4].c_str() || *end != '\0')
      RR_THROW(Input, "{}:{}: field 'score': '{}' is not a number", path.string(), n, f[4]);
    run[f[0]].push_back({f[2], score});
  });
  return run;
}

void write_trec_run(const std::filesystem::path& path, const TrecRun& run, const std::string& tag) {
  AtomicFile file(path);
  std::string buf;
  for (const auto& [qid, docs] : run) {
    auto sorted = docs;
    sort_trec_order(sorted);
    buf.clear();
    for (size_t i = 0; i < sorted.size(); ++i)
      fmt::format_to(std::back_inserter(buf), "{} Q0 {} {} {:.9g} {}\n", qid, sorted[i].doc_id, i + 1,
                     sorted[i].score, tag);
    file.stream() << buf;
  }
  file.commit();
}

}  // namespace rr
