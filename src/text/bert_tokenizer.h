// A WordPiece tokenizer identical to Hugging Face transformers' (4.33) Python `BertTokenizer`:
//   special tokens written verbatim ("[MASK]"; "[mask]" is ordinary text) are kept whole (see
//   TokenizerOptions::special_tokens_anywhere for where they are recognised);
//   the rest: lower-case (Python's str.lower), clean-up (NUL, U+FFFD and control/format characters removed,
//   Unicode spaces -> ' '), CJK ideographs split off, NFC, whitespace split, NFD + accent (Mn) stripping
//   when lower-casing, punctuation split (ASCII symbols and Unicode P*), then greedy longest-match-first
//   WordPiece with "##" continuations; words over 100 code points become [UNK].
// ASCII text takes a table-driven fast path; other text goes through utf8proc.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rr {

struct TokenizerOptions {
  bool lower_case = true;  // do_lower_case
  int strip_accents = -1;  // -1: follow lower_case (HF's None); 0: never; 1: always
  bool tokenize_chinese_chars = true;
  int max_input_chars_per_word = 100;
  // true: special tokens are found anywhere in the text, as BertTokenizer.from_pretrained() does (its
  // added-tokens trie); false: only a whitespace-delimited special token is kept whole, as a tokenizer
  // constructed directly from a vocab file does (HF 4.33's never_split).
  bool special_tokens_anywhere = false;
  std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]", pad_token = "[PAD]",
              mask_token = "[MASK]";
};

// BERT's BasicTokenizer alone (no WordPiece): the words a vocabulary is learned from, and BM25's terms.
std::vector<std::string> basic_tokenize(std::string_view text, const TokenizerOptions& options = {});

class BertTokenizer {
 public:
  // vocab.txt: one token per line, id = line number (0-based). Throws Input naming the file on a bad vocab.
  BertTokenizer(const std::filesystem::path& vocab_file, TokenizerOptions options = {});
  // A model directory: vocab.txt plus tokenizer_config.json when present (do_lower_case, strip_accents,
  // tokenize_chinese_chars and the special tokens).
  static BertTokenizer from_directory(const std::filesystem::path& dir);
  ~BertTokenizer();
  BertTokenizer(BertTokenizer&&) noexcept;
  BertTokenizer& operator=(BertTokenizer&&) noexcept;

  // Word pieces of text (no [CLS]/[SEP]); at most `limit` pieces (-1: all) — tokenization stops early.
  std::vector<int32_t> tokenize_ids(std::string_view text, int64_t limit = -1) const;
  std::vector<std::string> tokenize(std::string_view text) const;
  // [CLS] pieces [SEP], truncated to max_length (>= 2) as HF's truncation=True does.
  std::vector<int32_t> encode(std::string_view text, int64_t max_length) const;

  int32_t token_id(std::string_view token) const;  // -1 when absent
  const std::string& token(int32_t id) const;
  int64_t vocab_size() const;
  int32_t pad_id() const;
  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t unk_id() const;
  int32_t mask_id() const;
  const TokenizerOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
