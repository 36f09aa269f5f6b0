// routerretriever vocab: learn a BertTokenizer-compatible WordPiece vocabulary from JSON-lines corpora.
#include <omp.h>
#include <spdlog/spdlog.h>

#include "common/atomic_output.h"
#include "common/error.h"
#include "common/log.h"
#include "data/jsonl_reader.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"
#include "text/wordpiece_trainer.h"

namespace rr::commands {

int vocab(const Args& args) {
  cli::po::options_description opt("vocab options");
  opt.add_options()("input", cli::po::value<std::vector<std::string>>()->multitoken()->composing(),
                    "JSON-lines files (id, text, optional title); repeatable")(
      "size", cli::po::value<int64_t>()->default_value(30522), "vocabulary entries, special tokens included")(
      "out", cli::po::value<std::string>(), "vocab.txt to write")(
      "min-frequency", cli::po::value<int64_t>()->default_value(2),
      "merge only pairs seen at least this often")(
      "limit-alphabet", cli::po::value<int64_t>()->default_value(1000), "most frequent characters kept")(
      "cased", cli::po::bool_switch(), "keep case and accents (default: lower-case and strip accents)");
  cli::po::variables_map vm;
  if (!cli::parse(
          {"vocab", "--input F.jsonl... --size N --out vocab.txt",
           "Learns a WordPiece vocabulary by the algorithm of Hugging Face's BertWordPieceTokenizer trainer\n"
           "(BPE merges over BERT's basic tokens; [PAD] [UNK] [CLS] [SEP] [MASK] first, then characters,\n"
           "\"##\" continuations and merged pieces). Deterministic; not an entry-for-entry copy of HF's\n"
           "output (its tie order differs), but any vocab.txt it writes tokenizes exactly as in HF."},
          opt, args, vm))
    return 0;
  auto inputs = cli::required<std::vector<std::string>>(vm, "input");
  WordPieceTrainerParams p;
  p.vocab_size = vm["size"].as<int64_t>();
  p.min_frequency = vm["min-frequency"].as<int64_t>();
  p.limit_alphabet = vm["limit-alphabet"].as<int64_t>();
  p.basic.lower_case = !vm["cased"].as<bool>();
  std::filesystem::path out = cli::required<std::string>(vm, "out");
  WordPieceTrainer trainer(p);
  Progress progress("vocab: counting words", -1, "texts");
  for (const auto& input : inputs) {
    JsonLinesReader reader(input);
    bool more = true;
    while (more) {
      std::vector<std::string> texts;
      TextRecord rec;
      while (texts.size() < 16384 && (more = reader.next(rec))) texts.push_back(rec.encoder_text());
      const int threads = omp_get_max_threads();
      std::vector<std::unordered_map<std::string, int64_t>> counts(static_cast<size_t>(threads));
#pragma omp parallel for schedule(dynamic, 64)
      for (size_t i = 0; i < texts.size(); ++i) {
        auto& c = counts[static_cast<size_t>(omp_get_thread_num())];
        try {
          for (auto& w : basic_tokenize(texts[i], p.basic)) ++c[w];
        } catch (const Error&) {
          // invalid UTF-8 cannot reach here: the JSON reader validated it
        }
      }
      for (const auto& c : counts) trainer.add_counts(c);
      progress.advance(static_cast<int64_t>(texts.size()));
    }
  }
  progress.finish();
  auto vocab = trainer.train();
  AtomicFile f(out);
  for (const auto& v : vocab) f.stream() << v << "\n";
  f.commit();
  spdlog::info("{}: {} entries from {} distinct words", out.string(), vocab.size(),
               trainer.word_counts().size());
  if (static_cast<int64_t>(vocab.size()) < p.vocab_size)
    spdlog::warn("the corpus supports only {} entries (asked for {}): no pair is left with frequency >= {}",
                 vocab.size(), p.vocab_size, p.min_frequency);
  return 0;
}

}  // namespace rr::commands
