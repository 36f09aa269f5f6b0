// routerretriever convert smart|dictd|beir-generated|released: collections into BEIR folders, and training
// queries into a BEIR folder's query prefix.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "common/error.h"
#include "data/dictd.h"
#include "data/generated_queries.h"
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

int convert_generated_command(const Args& args) {
  cli::po::options_description opt("convert beir-generated options");
  opt.add_options()(
      "input", cli::po::value<std::string>(),
      "BeIR/<name>-generated-queries train.jsonl or train.jsonl.gz (rows _id, title, text, query)")(
      "out", cli::po::value<std::string>(),
      "the dataset's BEIR folder (its corpus.jsonl names the documents)")(
      "prefix", cli::po::value<std::string>()->default_value("gen"), "query prefix written");
  cli::po::variables_map vm;
  if (!cli::parse(
          {"convert beir-generated", "--input train.jsonl[.gz] --out DIR [--prefix gen]",
           "Writes the generated queries of a BeIR/<name>-generated-queries file into a BEIR folder as\n"
           "<prefix>-queries.jsonl and <prefix>-qrels/train.tsv (what BEIR's QueryGenerator writes and\n"
           "GenericDataLoader(prefix) reads); train_source \"auto\" then trains on them when the folder\n"
           "has no qrels/train.tsv. Every document id must be in the folder's corpus."},
          opt, args, vm))
    return 0;
  const auto s =
      convert_beir_generated(cli::required<std::string>(vm, "input"), cli::required<std::string>(vm, "out"),
                             vm["prefix"].as<std::string>());
  spdlog::info("{}: {} generated queries written as '{}'", vm["out"].as<std::string>(), s.queries,
               vm["prefix"].as<std::string>());
  return 0;
}

int convert_released_command(const Args& args) {
  cli::po::options_description opt("convert released options");
  opt.add_options()("train", cli::po::value<std::string>(), "the released code's train.json")(
      "dev", cli::po::value<std::string>()->default_value(""), "its dev.json (optional)")(
      "out", cli::po::value<std::string>(),
      "the dataset's BEIR folder (its corpus.jsonl names the documents)")(
      "prefix", cli::po::value<std::string>()->default_value("released"), "query prefix written");
  cli::po::variables_map vm;
  if (!cli::parse(
          {"convert released", "--train train.json [--dev dev.json] --out DIR [--prefix released]",
           "Writes the released RouterRetriever code's training files (a list of {question, positive_ctxs,\n"
           "negative_ctxs, hard_negative_ctxs}) into a BEIR folder as <prefix>-queries.jsonl and\n"
           "<prefix>-qrels/{train,dev}.tsv, each positive passage matched to the corpus document with the\n"
           "same title and text. Train on them with train_source \"released\"."},
          opt, args, vm))
    return 0;
  const auto s =
      convert_released_training(cli::required<std::string>(vm, "train"), vm["dev"].as<std::string>(),
                                cli::required<std::string>(vm, "out"), vm["prefix"].as<std::string>());
  spdlog::info("{}: {} questions with {} matched positives written as '{}'", vm["out"].as<std::string>(),
               s.queries, s.judgments, vm["prefix"].as<std::string>());
  return 0;
}

}  // namespace

int convert(const Args& args) {
  const std::string formats = "smart, dictd, beir-generated, released";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("usage: routerretriever convert <format> [options]   formats: %s\n", formats.c_str());
    return args.empty() ? 2 : 0;
  }
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "smart") return convert_smart_command(rest);
  if (args[0] == "dictd") return convert_dictd_command(rest);
  if (args[0] == "beir-generated") return convert_generated_command(rest);
  if (args[0] == "released") return convert_released_command(rest);
  RR_THROW(Usage, "convert: unknown format '{}' (known: {})", args[0], formats);
}

}  // namespace rr::commands
