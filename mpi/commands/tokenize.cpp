// routerretriever tokenize: HF-identical BERT WordPiece ids of JSON-lines texts.
#include <omp.h>

#include <fmt/ranges.h>

#include <cstdio>

#include "common/error.h"
#include "common/log.h"
#include "data/json_text.h"
#include "data/jsonl_reader.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"
#include "text/bert_tokenizer.h"

namespace rr::commands {

int tokenize(const Args& args) {
  cli::po::options_description opt("tokenize options");
  opt.add_options()("vocab", cli::po::value<std::string>(),
                    "vocab.txt, or a model directory (vocab.txt + tokenizer_config.json)")(
      "input", cli::po::value<std::string>(), "JSON lines with id (or _id), text and optional title")(
      "max-length", cli::po::value<int64_t>()->default_value(512),
      "truncate to this many ids, [CLS] and [SEP] included")(
      "cased", cli::po::bool_switch(),
      "do not lower-case (a cased vocabulary without tokenizer_config.json)");
  cli::po::variables_map vm;
  if (!cli::parse({"tokenize", "--vocab F --input F.jsonl [--max-length N]",
                   "Prints one JSON line {\"id\", \"input_ids\"} per input text, in input order: the ids "
                   "Hugging Face's\n"
                   "BertTokenizer gives title + \" \" + text (or text when there is no title)."},
                  opt, args, vm))
    return 0;
  std::filesystem::path vocab = cli::required<std::string>(vm, "vocab");
  TokenizerOptions topt;
  topt.lower_case = !vm["cased"].as<bool>();
  BertTokenizer tok = std::filesystem::is_directory(vocab) ? BertTokenizer::from_directory(vocab)
                                                           : BertTokenizer(vocab, topt);
  const int64_t max_length = vm["max-length"].as<int64_t>();
  RR_CHECK(max_length >= 2, Usage, "--max-length must be at least 2, got {}", max_length);
  JsonLinesReader reader(cli::required<std::string>(vm, "input"));
  constexpr size_t kBatch = 4096;
  std::vector<TextRecord> batch;
  std::vector<std::string> lines;
  Progress progress("tokenize", -1, "texts");
  bool more = true;
  while (more) {
    batch.clear();
    TextRecord rec;
    while (batch.size() < kBatch && (more = reader.next(rec))) batch.push_back(std::move(rec));
    lines.assign(batch.size(), {});
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < batch.size(); ++i) {
      std::string& out = lines[i];
      std::vector<int32_t> ids;
      try {
        ids = tok.encode(batch[i].encoder_text(), max_length);
      } catch (const Error& e) {
        out =
            "\x01" + fmt::format("{}:{}: field 'text': {}", reader.path().string(), batch[i].line, e.what());
        continue;
      }
      out = "{\"id\": ";
      append_json_string(out, batch[i].id);
      fmt::format_to(std::back_inserter(out), ", \"input_ids\": [{}]}}\n", fmt::join(ids, ", "));
    }
    for (const auto& l : lines) {
      if (!l.empty() && l[0] == '\x01') RR_THROW(Input, "{}", l.substr(1));
      std::fwrite(l.data(), 1, l.size(), stdout);
    }
    progress.advance(static_cast<int64_t>(batch.size()));
  }
  return 0;
}

}  // namespace rr::commands
