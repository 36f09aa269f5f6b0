// Writes a random BERT in Hugging Face format (config.json, model.safetensors, vocab.txt copied) for benches.
// Usage: bench_make_model OUT_DIR VOCAB.txt [hidden layers heads intermediate]
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "model/bert_encoder.h"
#include "text/bert_tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_make_model OUT_DIR VOCAB.txt [hidden layers heads intermediate]\n");
    return 2;
  }
  rr::BertTokenizer tok(argv[2]);
  rr::BertConfig c;
  c.vocab_size = tok.vocab_size();
  if (argc > 6) {
    c.hidden_size = std::atoll(argv[3]);
    c.num_hidden_layers = std::atoll(argv[4]);
    c.num_attention_heads = std::atoll(argv[5]);
    c.intermediate_size = std::atoll(argv[6]);
  }
  rr::BertEncoder::random(c, 1).save(argv[1]);
  std::filesystem::copy_file(argv[2], std::filesystem::path(argv[1]) / "vocab.txt",
                             std::filesystem::copy_options::overwrite_existing);
  std::printf("%s: BERT %ld x %ld, vocab %ld\n", argv[1], c.num_hidden_layers, c.hidden_size, c.vocab_size);
  return 0;
}
