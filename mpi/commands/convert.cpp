// routerretriever convert smart: SMART-format collections into BEIR folders.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "common/error.h"
#include "data/dictd.h"
#include "data/smart.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"

namespace rr::commands {

namespace {

int convert_smart_command(const Args& args) {
  cli::po::options_description opt("convert smart options");
  opt.add_options()("docs", cli::po::value<std::string>(), "SMART documents file (.I/.T/.W records)")(
      "queries", cli::po::value<std::string>(), "SMART queries file")(
      "qrels", cli::po::value<std::string>(), "relevance judgments (layouts: see --qrels-format)")(
      "out", cli::po::value<std::string>(), "BEIR folder to write (replaced when complete)")(
      "qrels-format", cli::po::value<std::string>()->default_value("auto"),
      "auto | pairs (qid docid) | graded (qid docid rel) | trec (qid 0 docid rel) | smart (qid docid 0 0.0)")(
      "query-ids", cli::po::value<std::string>()->default_value("auto"),
      "how qrels number queries: auto | id (the .I numbers) | position (1..N in file order, Cranfield)")(
      "relevance", cli::po::value<std::string>()->default_value("keep"),
      "keep | binary | rank (codes where 1 is most relevant, e.g. Cranfield: c -> max+1-c); "
      "judgments below 1 are always written as 0 (judged, not relevant)")(
      "title-field", cli::po::value<std::string>()->default_value("T"), "SMART field letters of the title")(
      "text-fields", cli::po::value<std::string>()->default_value("W"),
      "SMART field letters of the text, in order")(
      "split", cli::po::value<std::string>()->default_value("test"), "name of the qrels split written");
  cli::po::variables_map vm;
  if (!cli::parse(
          {"convert smart", "--docs F --queries F --qrels F --out DIR [options]",
           "Converts a SMART-format test collection (Cranfield, CISI, MED, CACM, ...) into a BEIR folder:\n"
           "corpus.jsonl, queries.jsonl, qrels/<split>.tsv. Ids lose zero padding; every judgment must\n"
           "name an existing query and document."},
          opt, args, vm))
    return 0;
  SmartConvertOptions o;
  o.qrels_layout = parse_qrels_layout(vm["qrels-format"].as<std::string>());
  o.query_numbering = parse_query_numbering(vm["query-ids"].as<std::string>());
  o.relevance = parse_relevance_scale(vm["relevance"].as<std::string>());
  o.title_field = vm["title-field"].as<std::string>();
  o.text_fields = vm["text-fields"].as<std::string>();
  o.split = vm["split"].as<std::string>();
  auto s = convert_smart(cli::required<std::string>(vm, "docs"), cli::required<std::string>(vm, "queries"),
                         cli::required<std::string>(vm, "qrels"), cli::required<std::string>(vm, "out"), o);
  spdlog::info(
      "{}: {} documents ({} empty), {} queries ({} judged), {} judgments ({} below 1, written as 0); "
      "qrels layout '{}', query numbering by {}",
      vm["out"].as<std::string>(), s.documents, s.empty_documents, s.queries, s.judged_queries, s.judgments,
      s.below_one, s.qrels_layout, s.query_numbering);
  return 0;
}

int convert_dictd_command(const Args& args) {
  cli::po::options_description opt("convert dictd options");
  opt.add_options()("dict", cli::po::value<std::string>(),
                    "dictd data, e.g. /usr/share/dictd/foldoc.dict.dz")(
      "index", cli::po::value<std::string>(), "dictd index, e.g. /usr/share/dictd/foldoc.index")(
      "name", cli::po::value<std::string>(), "id prefix (e.g. foldoc)")("out", cli::po::value<std::string>(),
                                                                        "BEIR folder to write")(
      "max-entries", cli::po::value<int64_t>()->default_value(0),
      "deterministic sample of this many entries (0: all)")(
      "seed", cli::po::value<int64_t>()->default_value(13), "seed of the sample")(
      "split", cli::po::value<std::string>()->default_value("all"), "name of the qrels split written");
  cli::po::variables_map vm;
  if (!cli::parse(
          {"convert dictd", "--dict F.dict.dz --index F.index --name NAME --out DIR [--max-entries N]",
           "Turns a dictd database into a reverse-dictionary BEIR folder: the first sentence of each\n"
           "definition is a query, the headword with the rest of the entry its one relevant document."},
          opt, args, vm))
    return 0;
  DictdConvertOptions o;
  o.prefix = cli::required<std::string>(vm, "name");
  o.max_entries = vm["max-entries"].as<int64_t>();
  o.seed = static_cast<uint64_t>(vm["seed"].as<int64_t>());
  o.split = vm["split"].as<std::string>();
  auto s = convert_dictd(cli::required<std::string>(vm, "dict"), cli::required<std::string>(vm, "index"),
                         cli::required<std::string>(vm, "out"), o);
  spdlog::info("{}: {} entries, {} usable ({} too short), {} kept", vm["out"].as<std::string>(), s.entries,
               s.usable, s.too_short, s.kept);
  return 0;
}

}  // namespace

int convert(const Args& args) {
  const std::string formats = "smart, dictd";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("usage: routerretriever convert <format> [options]   formats: %s\n", formats.c_str());
    return args.empty() ? 2 : 0;
  }
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "smart") return convert_smart_command(rest);
  if (args[0] == "dictd") return convert_dictd_command(rest);
  RR_THROW(Usage, "convert: unknown format '{}' (known: {})", args[0], formats);
}

}  // namespace rr::commands
