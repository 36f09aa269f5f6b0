#include "h5data/corpus_map.h"

#include <ATen/ATen.h>

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

std::vector<TextRecord> CorpusMap::documents(int64_t row0, int64_t row1) const {
  std::vector<TextRecord> out;
  if (row1 <= row0) return out;
  const at::Tensor off = file_.read_range(kOffsets, row0, row1 - row0 + 1).contiguous();
  const int64_t first_line = file_.read_range(kLines, row0, 1).item<int64_t>();
  const int64_t* o = off.data_ptr<int64_t>();
  JsonLinesReader reader(corpus_, JsonLinesOptions{}, ByteRange{o[0], o[row1 - row0], first_line});
  TextRecord rec;
  while (reader.next(rec)) out.push_back(std::move(rec));
  RR_CHECK(
      static_cast<int64_t>(out.size()) == row1 - row0, Input,
      "{}: {} records where its map expects {} (the corpus changed since it was mapped: run encode --force)",
      corpus_.string(), out.size(), row1 - row0);
  return out;
}

}  // namespace rr
