// A corpus's offset index: each document's id, tie key, and the byte offset and line of its record in
// corpus.jsonl, in file order, in an HDF5 file of its own (<output_dir>/corpora/<dataset>.h5). Built in one
// streaming pass that keeps ids but no texts; then a rank reads only its shard's documents and maps only the
// rows it needs (hits) to ids, instead of every rank parsing the whole corpus (docs/scaling.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "data/text_record.h"
#include "h5data/h5_file.h"

namespace rr {

class CorpusMap {
 public:
  // Scans `corpus` (a BEIR corpus.jsonl; duplicate ids and an empty file are Input errors naming the line)
  // and writes the map to `out` atomically, recording `fingerprint`.
  static void build(const std::filesystem::path& corpus, const std::filesystem::path& out,
                    const std::string& fingerprint);
  // The fingerprint a map file records, or "" when it is missing or unreadable.
  static std::string recorded_fingerprint(const std::filesystem::path& map);

  CorpusMap(const std::filesystem::path& map, std::filesystem::path corpus);
  int64_t size() const { return size_; }
  // Tie keys (tie_keys of all ids) of rows [row0, row0 + n).
  std::vector<int64_t> tie_keys(int64_t row0, int64_t n) const;
  // Ids of the listed rows (ascending, unique).
  std::vector<std::string> ids(const std::vector<int64_t>& rows) const;
  // Every id once, in row order, `chunk` rows at a time: fn(row0, ids of rows [row0, row0 + ids.size())).
  // Holds one chunk, never all N ids.
  void for_each_id_chunk(int64_t chunk,
                         const std::function<void(int64_t, const std::vector<std::string>&)>& fn) const;
  // What encoding rows [row0, row1) costs, roughly: each record's bytes in corpus.jsonl, capped at `cap`
  // (documents are truncated to the encoder's length), summed (their offsets read, nothing else).
  int64_t encoding_cost(int64_t row0, int64_t row1, int64_t cap) const;
  // Documents of rows [row0, row1), parsed from the corpus file (only those bytes are read).
  std::vector<TextRecord> documents(int64_t row0, int64_t row1) const;
  // Documents of the listed rows (ascending, unique), in that order: one read per run of consecutive rows.
  std::vector<TextRecord> documents(const std::vector<int64_t>& rows) const;

 private:
  void append_documents(int64_t row0, int64_t row1, std::vector<TextRecord>& out) const;
  h5::File file_;
  std::filesystem::path corpus_;
  int64_t size_ = 0;
};

}  // namespace rr
