// Training queries that are not the collection's own judged queries, written as a query prefix inside a BEIR
// folder — <prefix>-queries.jsonl and <prefix>-qrels/<split>.tsv — which is what BEIR's QueryGenerator writes
// and GenericDataLoader(prefix=...) reads:
//   - the Hugging Face BeIR/<name>-generated-queries files (train.jsonl[.gz], rows {"_id": document id,
//     "title", "text", "query"}): each row's query is relevant to its document; query ids genQ1, genQ2, ...
//     in file order (QueryGenerator's naming);
//   - the released RouterRetriever code's training files (train.json / dev.json from its preprocess.py: a JSON
//     list of {"question", "positive_ctxs": [{"title", "text"}], "negative_ctxs", "hard_negative_ctxs"}):
//     each positive passage is matched to its corpus document by exact title and text.
// Every document must be in the folder's corpus.jsonl: an error names the input line (or list entry).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rr {

struct GeneratedSummary {
  int64_t rows = 0, queries = 0, judgments = 0;
  int64_t unmatched = 0;  // released files: positive passages with no identical corpus document (skipped)
  int64_t dropped = 0;    // released files: questions with no matched positive (skipped)
};

// Writes <beir_dir>/<prefix>-queries.jsonl and <prefix>-qrels/train.tsv (prefix "gen" by default).
GeneratedSummary convert_beir_generated(const std::filesystem::path& input, const std::filesystem::path& beir_dir,
                                        const std::string& prefix = "gen");

// Writes <beir_dir>/<prefix>-queries.jsonl (every split's questions, ids "<split>-<n>") and
// <prefix>-qrels/<split>.tsv for each given file (train, and dev when given).
GeneratedSummary convert_released_training(const std::filesystem::path& train, const std::filesystem::path& dev,
                                           const std::filesystem::path& beir_dir,
                                           const std::string& prefix = "released");

}  // namespace rr
