// BEIR folders: corpus.jsonl, queries.jsonl, qrels/<split>.tsv, and generated-query sets
// (<prefix>-queries.jsonl, <prefix>-qrels/<split>.tsv, as BEIR's GenQ writes them).
//
// What is an error and what BEIR tolerates (a counted warning here):
//   error:   invalid JSON or UTF-8, a missing/empty "_id", a missing "text", duplicate ids in corpus or
//            queries, an empty corpus or query file, a qrels line without 3 fields or with a
//            non-integer score, qrels naming a query that queries.jsonl lacks (BEIR raises KeyError).
//   warning: qrels naming a document the corpus lacks (BEIR keeps such judgments: they still count as
//            relevant in recall and ideal DCG), a repeated (query, document) qrels pair (the last wins,
//            as in BEIR), a qrels file without its header line (BEIR would silently drop line 1; rr reads
//            it).
//   tolerated silently: a missing or null "title" (read as ""), unknown fields such as "metadata".
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "data/jsonl_reader.h"
#include "data/source_format.h"
#include "data/text_record.h"

namespace rr {

// query id -> (document id -> relevance); ordered, so iteration is deterministic.
using Qrels = std::map<std::string, std::map<std::string, int>>;

std::vector<TextRecord> read_corpus(const std::filesystem::path& path);
// Streams the records of a JSON-lines file whose ids must be unique (`what`: "corpus", "queries") to `take`,
// with the reader (for record_offset()): a duplicate id or an empty file is an Input error naming the line.
void for_each_unique_record(const std::filesystem::path& path, const JsonLinesOptions& options,
                            const char* what,
                            const std::function<void(TextRecord&&, const JsonLinesReader&)>& take);
std::vector<TextRecord> read_queries(const std::filesystem::path& path);
// Streams the queries of a queries file, checked as read_queries checks them, without holding them all.
void for_each_query(const std::filesystem::path& path, const std::function<void(TextRecord&&)>& take);
Qrels read_qrels_tsv(const std::filesystem::path& path);

// Throws Input naming the first line of `qrels_file` whose query is not among `known` (from `queries_file`):
// BEIR's loader raises KeyError there.
void check_qrels_queries(const std::filesystem::path& qrels_file,
                         const std::unordered_set<std::string>& known,
                         const std::filesystem::path& queries_file);

struct BeirLoadOptions {
  std::string split = "test";  // qrels/<split>.tsv
  std::string prefix;  // "" for the dataset itself; e.g. "gen" for <dir>/gen-queries.jsonl + gen-qrels/
  bool judged_queries_only = true;  // keep only queries with judgments in the split (BEIR's loader does)
};

struct BeirDataset {
  std::vector<TextRecord> corpus;   // file order
  std::vector<TextRecord> queries;  // file order
  Qrels qrels;
};

// Loads and cross-checks a BEIR folder (see the rules at the top of this file).
BeirDataset load_beir(const std::filesystem::path& dir, const BeirLoadOptions& options = {});

// Path helpers that follow BEIR's naming.
std::filesystem::path beir_queries_path(const std::filesystem::path& dir, const std::string& prefix = "");
std::filesystem::path beir_qrels_path(const std::filesystem::path& dir, const std::string& split,
                                      const std::string& prefix = "");

// The files of a BEIR folder that exist, in name order: corpus.jsonl, queries.jsonl, qrels/*.tsv and every
// generated-query set (<prefix>-queries.jsonl, <prefix>-qrels/*.tsv), named relative to the folder.
std::vector<NamedFile> beir_folder_files(const std::filesystem::path& dir);
// Only its generated-query sets.
std::vector<NamedFile> generated_query_files(const std::filesystem::path& dir);

// Writers; each file appears only when complete (temp + rename).
void write_corpus(const std::filesystem::path& path, const std::vector<TextRecord>& docs);
void write_queries(const std::filesystem::path& path, const std::vector<TextRecord>& queries);
void write_qrels_tsv(const std::filesystem::path& path, const Qrels& qrels);
// A whole BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), replacing `dir` only when complete.
void write_beir_folder(const std::filesystem::path& dir, const std::vector<TextRecord>& corpus,
                       const std::vector<TextRecord>& queries, const Qrels& qrels, const std::string& split);

}  // namespace rr
