// SMART-format test collections (Cranfield, CISI, MED, CACM, ...) -> BEIR folders.
//
// Records start with ".I <id>"; fields start with a line ".X" (a dot and one upper-case letter), their
// content runs to the next marker. Ids are normalised ("001" -> "1"). Field text is whitespace-normalised
// (runs of spaces, tabs and line ends become one space). CRLF and LF both work; lines that are not valid
// UTF-8 are read as Latin-1 (counted in the log).
//
// Relevance: judgments below 1 (e.g. Cranfield's -1, "no interest") are written with score 0, i.e.
// judged and not relevant: they add nothing to any measure (trec_eval: relevant means rel >= 1) and are
// never training positives (score > 0), yet the fact that they were judged is kept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace rr {

struct SmartRecord {
  std::string id;                      // normalised
  std::map<char, std::string> fields;  // 'T' -> title, 'W' -> text, ...
  int64_t line = 0;                    // line of the ".I" marker
};

std::vector<SmartRecord> read_smart_records(const std::filesystem::path& path);

enum class QrelsLayout {
  Auto,    // decided from the whole file, as below
  Pairs,   // "qid docid": every pair relevant (1)
  Graded,  // "qid docid rel"
  Trec,    // "qid 0 docid rel" (the second column is 0 on every line)
  Smart,   // "qid docid 0 0.0": every pair relevant (1) (the third column is 0 on every line)
};

enum class QueryNumbering {
  Auto,      // Id if every judged query id is a ".I" id, else Position if all fit 1..#queries, else error
  Id,        // qrels use the ".I" numbers
  Position,  // qrels number queries by position in the file (Cranfield's cranqrel)
};

enum class RelevanceScale {
  Keep,    // the given grades (1 = least relevant)
  Binary,  // >= 1 -> 1
  Rank,    // codes are ranks, 1 = most relevant (Cranfield): code c >= 1 -> max_code + 1 - c
};

struct SmartConvertOptions {
  QrelsLayout qrels_layout = QrelsLayout::Auto;
  QueryNumbering query_numbering = QueryNumbering::Auto;
  RelevanceScale relevance = RelevanceScale::Keep;
  std::string title_field = "T";  // document fields that make the title ...
  std::string text_fields = "W";  // ... and the text (joined with a space, in this order)
  std::string split = "test";     // the qrels file written: qrels/<split>.tsv
};

struct SmartConvertSummary {
  int64_t documents = 0, empty_documents = 0, queries = 0, judged_queries = 0, judgments = 0, below_one = 0;
  int64_t empty_queries = 0;  // query records with an id and nothing else, left out
  std::string qrels_layout, query_numbering;
};

// Reads the three files, checks every judgment names an existing query and document, and writes
// <out>/corpus.jsonl, queries.jsonl, qrels/<split>.tsv (the folder appears only when complete).
SmartConvertSummary convert_smart(const std::filesystem::path& docs, const std::filesystem::path& queries,
                                  const std::filesystem::path& qrels, const std::filesystem::path& out,
                                  const SmartConvertOptions& options);

QrelsLayout parse_qrels_layout(const std::string& name);
QueryNumbering parse_query_numbering(const std::string& name);
RelevanceScale parse_relevance_scale(const std::string& name);

}  // namespace rr
