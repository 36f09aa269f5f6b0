#include "text/wordpiece_trainer.h"

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <unordered_set>

#include "common/error.h"
#include "text/utf8.h"

namespace rr {

WordPieceTrainer::WordPieceTrainer(WordPieceTrainerParams params) : params_(std::move(params)) {
  RR_CHECK(params_.vocab_size > static_cast<int64_t>(params_.special_tokens.size()), Usage,
           "vocabulary size {} leaves no room beyond the {} special tokens", params_.vocab_size,
           params_.special_tokens.size());
}

void WordPieceTrainer::add_text(std::string_view text) {
  for (auto& w : basic_tokenize(text, params_.basic)) ++counts_[w];
}

void WordPieceTrainer::add_counts(const std::unordered_map<std::string, int64_t>& counts) {
  for (const auto& [w, c] : counts) counts_[w] += c;
}

namespace {

using Pair = std::pair<int32_t, int32_t>;

struct PairHash {
  size_t operator()(const Pair& p) const noexcept {
    return std::hash<uint64_t>{}((static_cast<uint64_t>(static_cast<uint32_t>(p.first)) << 32) |
                                 static_cast<uint32_t>(p.second));
  }
};

// The alphabet: the most frequent characters (ties by code point order), at most `limit`, in byte order.
std::vector<std::string> alphabet_of(const std::vector<std::pair<std::string, int64_t>>& words,
                                     int64_t limit) {
  std::map<std::string, int64_t> char_freq;
  for (const auto& [w, c] : words)
    for (size_t i = 0; i < w.size();) {
      size_t at = i;
      next_code_point(w, i);
      char_freq[w.substr(at, i - at)] += c;
    }
  std::vector<std::pair<std::string, int64_t>> chars(char_freq.begin(), char_freq.end());
  std::stable_sort(chars.begin(), chars.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  chars.resize(static_cast<size_t>(std::min<int64_t>(limit, static_cast<int64_t>(chars.size()))));
  std::vector<std::string> out;
  for (const auto& [ch, f] : chars) out.push_back(ch);
  std::sort(out.begin(), out.end());
  return out;
}

// Byte-pair merging over the corpus words, with pair counts kept up to date incrementally.
class Merger {
 public:
  // Each word as symbols: first piece plain, the rest "##"; characters outside the alphabet are dropped.
  Merger(const std::vector<std::pair<std::string, int64_t>>& words,
         const std::vector<std::string>& alphabet) {
    const std::unordered_set<std::string> in_alphabet(alphabet.begin(), alphabet.end());
    for (const auto& [w, c] : words) {
      Word word{{}, c};
      for (size_t i = 0; i < w.size();) {
        size_t at = i;
        next_code_point(w, i);
        std::string ch = w.substr(at, i - at);
        if (!in_alphabet.count(ch)) continue;
        word.sym.push_back(intern(word.sym.empty() ? ch : "##" + ch));
      }
      if (word.sym.size() > 1) ws_.push_back(std::move(word));
    }
    for (int32_t wi = 0; wi < static_cast<int32_t>(ws_.size()); ++wi)
      for (size_t j = 0; j + 1 < ws_[wi].sym.size(); ++j) {
        const Pair p{ws_[wi].sym[j], ws_[wi].sym[j + 1]};
        pair_count_[p] += ws_[wi].count;
        pair_words_[p].push_back(wi);
      }
    for (const auto& [p, c] : pair_count_) heap_.push({c, merged_piece(p), p});
  }

  // The next merge: the most frequent pair (ties: the merged piece that sorts first), if it occurs at least
  // min_frequency times. Returns the merged piece, or "" when there is none.
  std::string merge_next(int64_t min_frequency) {
    while (!heap_.empty()) {
      const Entry top = heap_.top();
      heap_.pop();
      auto it = pair_count_.find(top.pair);
      if (it == pair_count_.end() || it->second != top.count) continue;  // stale
      if (top.count < min_frequency) return "";
      merge(top.pair, intern(top.piece));
      return top.piece;
    }
    return "";
  }

 private:
  struct Word {
    std::vector<int32_t> sym;
    int64_t count;
  };
  // Max-heap on (count, then the merged piece sorting first); stale entries are skipped when popped.
  struct Entry {
    int64_t count;
    std::string piece;
    Pair pair;
    bool operator<(const Entry& o) const { return count != o.count ? count < o.count : piece > o.piece; }
  };

  int32_t intern(const std::string& s) {
    auto [it, inserted] = symbol_id_.emplace(s, static_cast<int32_t>(symbols_.size()));
    if (inserted) symbols_.push_back(s);
    return it->second;
  }
  std::string merged_piece(const Pair& p) const {
    const std::string& b = symbols_[p.second];
    return symbols_[p.first] + (b.rfind("##", 0) == 0 ? b.substr(2) : b);
  }

  // Replaces `pair` by `merged` in every word that has it; recounts the pairs of those words.
  void merge(const Pair& pair, int32_t merged) {
    std::vector<int32_t> where;
    where.swap(pair_words_[pair]);
    std::sort(where.begin(), where.end());
    where.erase(std::unique(where.begin(), where.end()), where.end());
    std::set<Pair> touched;
    for (int32_t wi : where) {
      Word& w = ws_[wi];
      for (size_t j = 0; j + 1 < w.sym.size(); ++j) {
        const Pair p{w.sym[j], w.sym[j + 1]};
        pair_count_[p] -= w.count;
        touched.insert(p);
      }
      std::vector<int32_t> next;
      for (size_t j = 0; j < w.sym.size(); ++j) {
        if (j + 1 < w.sym.size() && w.sym[j] == pair.first && w.sym[j + 1] == pair.second) {
          next.push_back(merged);
          ++j;
        } else {
          next.push_back(w.sym[j]);
        }
      }
      w.sym.swap(next);
      for (size_t j = 0; j + 1 < w.sym.size(); ++j) {
        const Pair p{w.sym[j], w.sym[j + 1]};
        pair_count_[p] += w.count;
        pair_words_[p].push_back(wi);
        touched.insert(p);
      }
    }
    pair_count_.erase(pair);
    for (const auto& p : touched) {
      auto c = pair_count_.find(p);
      if (c == pair_count_.end()) continue;
      if (c->second <= 0)
        pair_count_.erase(c);
      else
        heap_.push({c->second, merged_piece(p), p});
    }
  }

  std::vector<std::string> symbols_;  // symbol id -> piece ("x" or "##x")
  std::unordered_map<std::string, int32_t> symbol_id_;
  std::vector<Word> ws_;
  std::unordered_map<Pair, int64_t, PairHash> pair_count_;
  std::unordered_map<Pair, std::vector<int32_t>, PairHash> pair_words_;
  std::priority_queue<Entry> heap_;
};

}  // namespace

std::vector<std::string> WordPieceTrainer::train() const {
  // Words in a fixed order, so that nothing depends on hash-map iteration.
  std::vector<std::pair<std::string, int64_t>> words(counts_.begin(), counts_.end());
  std::sort(words.begin(), words.end());
  const int64_t room = params_.vocab_size - static_cast<int64_t>(params_.special_tokens.size());
  const auto alphabet = alphabet_of(words, std::min(params_.limit_alphabet, room / 2));
  std::vector<std::string> vocab = params_.special_tokens;
  std::unordered_set<std::string> in_vocab(vocab.begin(), vocab.end());
  auto add_vocab = [&](const std::string& s) {
    if (in_vocab.insert(s).second) vocab.push_back(s);
  };
  for (const auto& ch : alphabet) add_vocab(ch);
  for (const auto& ch : alphabet) add_vocab("##" + ch);
  Merger merger(words, alphabet);
  while (static_cast<int64_t>(vocab.size()) < params_.vocab_size) {
    const std::string piece = merger.merge_next(params_.min_frequency);
    if (piece.empty()) break;
    add_vocab(piece);
  }
  return vocab;
}

}  // namespace rr
