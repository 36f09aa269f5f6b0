// Bench (c): tokenizer throughput (MB/s and tokens/s) on one thread and on all threads, beside the ~0.6 MB/s
// that Hugging Face's Python BertTokenizer does on this kind of machine (../shared issue notes).
// Usage: bench_tokenizer VOCAB TEXTS.jsonl [seconds]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/threads.h"
#include "data/jsonl_reader.h"
#include "text/bert_tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tokenizer VOCAB TEXTS.jsonl [seconds]\n");
    return 2;
  }
  const double seconds = argc > 3 ? std::atof(argv[3]) : 2.0;
  rr::BertTokenizer tok(argv[1]);
  std::vector<std::string> texts;
  size_t bytes = 0;
  rr::JsonLinesReader reader(argv[2]);
  rr::TextRecord rec;
  while (reader.next(rec)) {
    texts.push_back(rec.encoder_text());
    bytes += texts.back().size();
  }
  std::printf("%zu texts, %.2f MB\n", texts.size(), bytes / 1e6);
  const int all = omp_get_num_procs();
  for (int threads : {1, all}) {
    rr::set_threads(threads);
    int64_t rounds = 0, tokens = 0;
    auto t0 = std::chrono::steady_clock::now();
    double el = 0;
    while (el < seconds) {
#pragma omp parallel for reduction(+ : tokens) schedule(dynamic, 32)
      for (size_t i = 0; i < texts.size(); ++i)
        tokens += static_cast<int64_t>(tok.tokenize_ids(texts[i]).size());
      ++rounds;
      el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    const double mbs = rounds * bytes / el / 1e6;
    std::printf(
        "rr, %d thread(s): %7.1f MB/s, %9.0f tokens/s (%.1fx HF Python's ~0.6 MB/s; target >= 20 MB/s per "
        "thread)\n",
        threads, mbs, tokens / el, mbs / 0.6);
  }
  return 0;
}
