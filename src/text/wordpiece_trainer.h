// Learns a WordPiece vocabulary (BertTokenizer-compatible vocab.txt) from text by the algorithm Hugging
// Face's BertWordPieceTokenizer trainer uses: BERT's basic tokenization into words, an alphabet of the most
// frequent characters (as word starts and as "##" continuations), then byte-pair merges of the most frequent
// adjacent pieces until the vocabulary has the requested size. Deterministic: ties go to the pair whose
// merged piece sorts first. Not proven to reproduce Hugging Face's vocabulary entry for entry (the
// `tokenizers` package is not available to test against, and its tie order differs): what is exact is how a
// given vocab.txt tokenizes (tests/unit/tokenizer_test.cpp against transformers' BertTokenizer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/bert_tokenizer.h"

namespace rr {

struct WordPieceTrainerParams {
  int64_t vocab_size = 30522;     // entries in vocab.txt, special tokens included
  int64_t min_frequency = 2;      // a pair merges only if it occurs at least this often
  int64_t limit_alphabet = 1000;  // keep this many most frequent characters
  TokenizerOptions basic;         // lower-casing etc. of the basic tokenization
  std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
};

class WordPieceTrainer {
 public:
  explicit WordPieceTrainer(WordPieceTrainerParams params);
  // Counts the words of one text (call for every text of the corpus).
  void add_text(std::string_view text);
  // Merges word counts gathered elsewhere (e.g. by threads).
  void add_counts(const std::unordered_map<std::string, int64_t>& counts);
  // The vocabulary: special tokens, the alphabet, then pieces in merge order.
  std::vector<std::string> train() const;
  const std::unordered_map<std::string, int64_t>& word_counts() const { return counts_; }

 private:
  WordPieceTrainerParams params_;
  std::unordered_map<std::string, int64_t> counts_;
};

}  // namespace rr
