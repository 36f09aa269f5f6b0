// dictd databases (Debian's dict-* packages: <name>.index + <name>.dict.dz) -> a reverse-dictionary BEIR
// folder: for each usable entry, the query is the first sentence of its definition and the document is the
// headword (title) with the rest of the entry (text), so the query's words are not copied into its document.
// Markup is removed: {cross references}, <categories>, \pronunciations\, [etymologies], [1913 Webster],
// sense numbers, dates. Entries whose query or remainder is too short are skipped (counted).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rr {

struct DictdConvertOptions {
  std::string prefix;       // id prefix, e.g. "foldoc" -> documents "foldoc-17", queries "q-foldoc-17"
  int64_t max_entries = 0;  // keep a deterministic sample of this many usable entries (0: all)
  int64_t min_query_words = 4;
  int64_t min_document_words = 8;
  int64_t max_query_words = 60;  // longer first sentences are cut here
  uint64_t seed = 13;
  std::string split = "all";  // qrels/<split>.tsv
};

struct DictdConvertSummary {
  int64_t entries = 0, usable = 0, kept = 0, too_short = 0;
};

DictdConvertSummary convert_dictd(const std::filesystem::path& dict, const std::filesystem::path& index,
                                  const std::filesystem::path& out, const DictdConvertOptions& options);

// The reverse-dictionary pair of one entry: {query, document text}; empty query when unusable.
std::pair<std::string, std::string> dictd_pair(const std::string& headword, const std::string& body,
                                               const DictdConvertOptions& options);

}  // namespace rr
