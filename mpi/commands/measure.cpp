// routerretriever measure: trec_eval's input formats, output format and numbers.
#include <cstdio>

#include "common/error.h"
#include "eval/measures.h"
#include "eval/trec_files.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"

namespace rr::commands {

int measure(const Args& args) {
  cli::po::options_description opt("measure options");
  opt.add_options()("qrels", cli::po::value<std::string>(), "TREC qrels file (qid iter docno rel)")(
      "run", cli::po::value<std::string>(), "TREC run file (qid Q0 docno rank score tag)")(
      "measure,m", cli::po::value<std::vector<std::string>>()->composing(),
      "measure as trec_eval's -m: map, recip_rank, ndcg, P[.k,...], recall[.k,...], ndcg_cut[.k,...], "
      "map_cut[.k,...]; repeatable (default: BEIR's set)")("per-query,q", cli::po::bool_switch(),
                                                           "also print each query (trec_eval -q)")(
      "ignore-identical-ids", cli::po::bool_switch(), "BEIR: drop hits whose doc id equals the query id");
  cli::po::variables_map vm;
  if (!cli::parse({"measure", "--qrels Q --run R [-m MEASURE]... [-q]",
                   "Reads TREC qrels and a TREC run and prints trec_eval 9.0.8's numbers in its layout\n"
                   "(measure, query or 'all', value with 12 decimals)."},
                  opt, args, vm))
    return 0;
  auto qrels = read_trec_qrels(cli::required<std::string>(vm, "qrels"));
  auto run = read_trec_run(cli::required<std::string>(vm, "run"));
  MeasureSet measures =
      vm.count("measure") ? MeasureSet(vm["measure"].as<std::vector<std::string>>()) : MeasureSet::beir();
  if (vm["ignore-identical-ids"].as<bool>())
    for (auto& [qid, docs] : run) drop_identical_id(docs, qid);
  Evaluation ev = evaluate_run(measures, run, qrels);
  std::string out;
  auto line = [&](const std::string& name, const std::string& qid, double v) {
    out += fmt::format("{:<22}\t{}\t{:.12f}\n", name, qid, v);
  };
  if (vm["per-query"].as<bool>())
    for (size_t q = 0; q < ev.query_ids.size(); ++q)
      for (size_t m = 0; m < measures.size(); ++m)
        line(measures.names()[m], ev.query_ids[q], ev.values[q][m]);
  for (size_t m = 0; m < measures.size(); ++m) line(measures.names()[m], "all", ev.mean[m]);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace rr::commands
