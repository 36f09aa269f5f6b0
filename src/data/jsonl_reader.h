// Streaming reader of JSON-lines text records (BEIR corpus.jsonl / queries.jsonl and rr's --input files).
// Parses with simdjson, one line at a time from 16 MiB chunks, so memory does not grow with the file. Files
// ending in .gz are read through zlib. A UTF-8 byte-order mark at the start is skipped (with a warning).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "data/text_record.h"

namespace rr {

struct JsonLinesOptions {
  bool require_text = true;           // "text" must be present (a string); false: missing text reads as ""
  bool allow_title = true;            // read "title" (documents); queries ignore it
  const char* extra_field = nullptr;  // also read this string field (required) into TextRecord::extra
};

// Bytes [begin, end) of an uncompressed file whose first line is line `first_line` of the file (end -1: to
// the end): a slice of records located with record_offset().
struct ByteRange {
  int64_t begin = 0, end = -1, first_line = 1;
};

class JsonLinesReader {
 public:
  explicit JsonLinesReader(std::filesystem::path path, JsonLinesOptions options = {}, ByteRange range = {});
  ~JsonLinesReader();
  JsonLinesReader(const JsonLinesReader&) = delete;
  JsonLinesReader& operator=(const JsonLinesReader&) = delete;

  // Reads the next record; false at end of file. Blank lines are skipped.
  // Throws Input naming file, line and field on invalid JSON, invalid UTF-8, a missing or mistyped field.
  bool next(TextRecord& record);
  const std::filesystem::path& path() const;
  // The byte offset in the file of the line of the record next() returned last.
  int64_t record_offset() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
