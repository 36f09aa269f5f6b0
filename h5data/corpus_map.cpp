#include "h5data/corpus_map.h"

#include <ATen/ATen.h>

#include <numeric>

#include "common/error.h"
#include "data/beir.h"
#include "data/jsonl_reader.h"
#include "h5data/results_update.h"
#include "search/topk.h"

namespace rr {

namespace {

constexpr const char* kIds = "/ids";
constexpr const char* kTie = "/tie";
constexpr const char* kOffsets = "/offsets";  // N + 1: the last is the file size
constexpr const char* kLines = "/lines";
constexpr const char* kFingerprint = "fingerprint";

}  // namespace

void CorpusMap::build(const std::filesystem::path& corpus, const std::filesystem::path& out,
                      const std::string& fingerprint) {
  std::vector<std::string> ids;
  std::vector<int64_t> offsets, lines;
  for_each_unique_record(corpus, {}, "corpus", [&](TextRecord&& rec, const JsonLinesReader& reader) {
    ids.push_back(std::move(rec.id));
    offsets.push_back(reader.record_offset());
    lines.push_back(rec.line);
  });
  offsets.push_back(static_cast<int64_t>(std::filesystem::file_size(corpus)));
  const std::vector<int64_t> tie = rr::tie_keys(ids);
  h5::ResultsUpdate up(out, {}, /*keep_old=*/false);
  auto& f = up.file();
  f.write_strings(kIds, ids);
  f.write(kTie, at::tensor(tie, at::kLong));
  f.write(kOffsets, at::tensor(offsets, at::kLong));
  f.write(kLines, at::tensor(lines, at::kLong));
  f.set_attr("/", kFingerprint, fingerprint);
  up.commit();
}

std::string CorpusMap::recorded_fingerprint(const std::filesystem::path& map) {
  if (!std::filesystem::exists(map)) return "";
  try {
    const auto f = h5::File::open(map, false);
    return f.has_attr("/", kFingerprint) ? f.attr_string("/", kFingerprint) : "";
  } catch (const Error&) {
    return "";
  }
}

CorpusMap::CorpusMap(const std::filesystem::path& map, std::filesystem::path corpus)
    : file_(h5::File::open(map, false)), corpus_(std::move(corpus)), size_(file_.shape(kTie).first) {}

std::vector<int64_t> CorpusMap::tie_keys(int64_t row0, int64_t n) const {
  const at::Tensor t = file_.read_range(kTie, row0, n).contiguous();
  return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
}

std::vector<std::string> CorpusMap::ids(const std::vector<int64_t>& rows) const {
  return file_.read_strings(kIds, rows);
}

void CorpusMap::for_each_id_chunk(
    int64_t chunk, const std::function<void(int64_t, const std::vector<std::string>&)>& fn) const {
  RR_CHECK(chunk > 0, Runtime, "CorpusMap::for_each_id_chunk: chunk {} must be positive", chunk);
  std::vector<int64_t> rows;
  for (int64_t row0 = 0; row0 < size_; row0 += chunk) {
    rows.resize(static_cast<size_t>(std::min(chunk, size_ - row0)));
    std::iota(rows.begin(), rows.end(), row0);
    fn(row0, file_.read_strings(kIds, rows));
  }
}

std::vector<TextRecord> CorpusMap::documents(int64_t row0, int64_t row1) const {
  std::vector<TextRecord> out;
  append_documents(row0, row1, out);
  return out;
}

std::vector<TextRecord> CorpusMap::documents(const std::vector<int64_t>& rows) const {
  std::vector<TextRecord> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size();) {
    size_t j = i + 1;
    while (j < rows.size() && rows[j] == rows[j - 1] + 1) ++j;
    RR_CHECK(rows[i] >= 0 && rows[j - 1] < size_ && (i == 0 || rows[i] > rows[i - 1]), Runtime,
             "CorpusMap::documents: rows not ascending within [0, {})", size_);
    append_documents(rows[i], rows[j - 1] + 1, out);
    i = j;
  }
  return out;
}

int64_t CorpusMap::encoding_cost(int64_t row0, int64_t row1, int64_t cap) const {
  if (row1 <= row0) return 0;
  const at::Tensor off = file_.read_range(kOffsets, row0, row1 - row0 + 1).contiguous();
  const int64_t* o = off.data_ptr<int64_t>();
  int64_t cost = 0;
  for (int64_t i = 0; i < row1 - row0; ++i) cost += std::min(o[i + 1] - o[i], cap);
  return cost;
}

void CorpusMap::append_documents(int64_t row0, int64_t row1, std::vector<TextRecord>& out) const {
  if (row1 <= row0) return;
  const at::Tensor off = file_.read_range(kOffsets, row0, row1 - row0 + 1).contiguous();
  const int64_t first_line = file_.read_range(kLines, row0, 1).item<int64_t>();
  const int64_t* o = off.data_ptr<int64_t>();
  JsonLinesReader reader(corpus_, JsonLinesOptions{}, ByteRange{o[0], o[row1 - row0], first_line});
  const size_t before = out.size();
  TextRecord rec;
  while (reader.next(rec)) out.push_back(std::move(rec));
  RR_CHECK(
      static_cast<int64_t>(out.size() - before) == row1 - row0, Input,
      "{}: {} records where its map expects {} (the corpus changed since it was mapped: run encode --force)",
      corpus_.string(), out.size() - before, row1 - row0);
}

}  // namespace rr
