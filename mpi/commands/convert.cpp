// routerretriever convert <format>: one command per source format of the registry (data/source_format.h):
// collections into BEIR folders, and training queries into a BEIR folder's query prefix. A format's options
// are the keys of a dataset's "source" object, written --key-with-dashes.
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "common/error.h"
#include "data/source_format.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"

namespace rr::commands {

namespace {

void print_formats(std::ostream& out) {
  out << "usage: routerretriever convert <format> [options]   (convert <format> --help)\n\nformats:\n";
  for (const auto& f : source_formats()) out << fmt::format("  {:<16}{}\n", f.name, f.summary);
}

std::string synopsis(const FormatInfo& f) {
  std::string out;
  for (const auto& o : f.options)
    if (o.required) out += command_line_option(o.key) + " " + (o.path ? "F " : "V ");
  return out + (f.kind == FormatKind::Collection ? "--out DIR [--name NAME] [--seed N] [options]"
                                                 : "--out BEIR_DIR [options]");
}

int convert_with(const FormatInfo& f, const Args& args) {
  cli::po::options_description opt("convert " + f.name + " options");
  for (const auto& o : f.options) {
    auto* value = cli::po::value<std::string>();
    if (!o.required) value->default_value(o.default_value);
    opt.add_options()(command_line_option(o.key).substr(2).c_str(), value, o.help.c_str());
  }
  const bool collection = f.kind == FormatKind::Collection;
  opt.add_options()("out", cli::po::value<std::string>(),
                    collection ? "BEIR folder to write (replaced when complete)"
                               : "the dataset's BEIR folder (its corpus.jsonl names the documents)");
  if (collection)
    opt.add_options()("name", cli::po::value<std::string>()->default_value(""),
                      "the dataset's name: id prefixes and messages (default: the --out folder's name)")(
        "seed", cli::po::value<int64_t>()->default_value(13), "seed of any sampling");
  cli::po::variables_map vm;
  if (!cli::parse({"convert " + f.name, synopsis(f), f.description}, opt, args, vm)) return 0;
  std::map<std::string, std::string> values;
  for (const auto& o : f.options)
    values[o.key] = o.required ? cli::required<std::string>(vm, command_line_option(o.key).substr(2))
                               : vm[command_line_option(o.key).substr(2)].as<std::string>();
  const auto source = f.make(FormatValues("convert " + f.name, "", true, std::move(values)));
  const std::filesystem::path out = cli::required<std::string>(vm, "out");
  std::string name = collection ? vm["name"].as<std::string>() : "";
  if (name.empty())
    name = out.filename().empty() ? out.parent_path().filename().string() : out.filename().string();
  const auto seed = collection ? static_cast<uint64_t>(vm["seed"].as<int64_t>()) : 0;
  const SourceFormat::Written written = source->write_beir(out, name, seed);
  spdlog::info("{}: {}", out.string(), written.summary);
  return 0;
}

}  // namespace

int convert(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    print_formats(args.empty() ? std::cerr : std::cout);
    return args.empty() ? 2 : 0;
  }
  return convert_with(source_format(args[0]), Args(args.begin() + 1, args.end()));
}

}  // namespace rr::commands
