// routerretriever bm25: BEIR's lexical baseline on one BEIR folder, as a TREC run (the evaluate stage's bm25
// row, without an experiment: same index, same scores, same tie order).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "data/beir.h"
#include "eval/dense_eval.h"
#include "eval/trec_files.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"
#include "search/bm25.h"

namespace rr::commands {

int bm25(const Args& args) {
  cli::po::options_description opt("bm25 options");
  opt.add_options()("beir", cli::po::value<std::string>(),
                    "BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")(
      "split", cli::po::value<std::string>()->default_value("test"),
      "queries judged in qrels/<split>.tsv are searched")("k", cli::po::value<int64_t>()->default_value(1000),
                                                          "hits per query")(
      "k1", cli::po::value<double>()->default_value(Bm25Params{}.k1), "BM25 k1 (tf saturation)")(
      "b", cli::po::value<double>()->default_value(Bm25Params{}.b), "BM25 b (length normalisation)")(
      "output", cli::po::value<std::string>(), "the TREC run file to write")(
      "ignore-identical-ids", cli::po::bool_switch(), "BEIR: drop hits whose doc id equals the query id");
  cli::po::variables_map vm;
  if (!cli::parse({"bm25", "--beir DIR --output RUN [--split test] [--k 1000] [--k1 0.9] [--b 0.4]",
                   "BM25 over the corpus of a BEIR folder for the queries judged in one split, written as\n"
                   "a TREC run (scores to 9 significant digits; ties in trec_eval's order). The formula and\n"
                   "tokenisation are those of src/search/bm25.h: the evaluate stage's bm25 row."},
                  opt, args, vm))
    return 0;
  const std::filesystem::path dir = cli::required<std::string>(vm, "beir");
  const std::string output = cli::required<std::string>(vm, "output");
  const int64_t k = vm["k"].as<int64_t>();
  const Bm25Params params{vm["k1"].as<double>(), vm["b"].as<double>()};
  RR_CHECK(k >= 1, Usage, "bm25: --k must be at least 1, got {}", k);
  RR_CHECK(params.k1 >= 0 && params.b >= 0 && params.b <= 1, Usage, "bm25: need k1 >= 0 and 0 <= b <= 1");
  const Qrels qrels = read_qrels_tsv(dir / "qrels" / (vm["split"].as<std::string>() + ".tsv"));
  std::vector<std::string> query_ids, query_texts;
  for (auto& q : read_queries(dir / "queries.jsonl"))
    if (qrels.count(q.id)) query_ids.push_back(q.id), query_texts.push_back(q.text);
  std::vector<std::string> doc_ids, docs;
  for (const auto& d : read_corpus(dir / "corpus.jsonl"))
    doc_ids.push_back(d.id), docs.push_back(d.encoder_text());
  const Bm25Index index(docs, tie_keys(doc_ids), params);
  spdlog::info("bm25: {} documents, {} terms; {} queries", index.ntotal(), index.terms(), query_ids.size());
  const bool drop = vm["ignore-identical-ids"].as<bool>();
  const SearchQueries queries{nullptr, 0, query_texts.data(), static_cast<int64_t>(query_texts.size())};
  const TopK top = index.search(queries, k + (drop ? 1 : 0));
  write_trec_run(output, topk_to_run(top, query_ids, doc_ids, k, drop), "rr-bm25");
  return 0;
}

}  // namespace rr::commands
