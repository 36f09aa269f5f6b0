// trec_eval's input formats: qrels "qid iter docno rel" and runs "qid Q0 docno rank score tag"
// (whitespace-separated), and the run writer (scores as %.9g, so float32 scores round-trip exactly).
#pragma once

#include <filesystem>
#include <string>

#include "eval/measures.h"

namespace rr {

// Throws Input naming file, line and field on a malformed line or a document judged twice.
Judgments read_trec_qrels(const std::filesystem::path& path);
// Throws Input naming file, line and field on a malformed line.
TrecRun read_trec_run(const std::filesystem::path& path);

// Writes each query's documents in trec_eval order with ranks 1..n; appears only when complete.
void write_trec_run(const std::filesystem::path& path, const TrecRun& run, const std::string& tag);

}  // namespace rr
