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

}  // namespace

std::vector<std::string> WordPieceTrainer::train() const {
  // Words in a fixed order, so that nothing depends on hash-map iteration.
  std::vector<std::pair<std::string, int64_t>> words(counts_.begin(), counts_.end());
  std::sort(words.begin(), words.end());

  // Alphabet: the most frequent characters (ties by code point order).
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
  const int64_t room = params_.vocab_size - static_cast<int64_t>(params_.special_tokens.size());
  const size_t alphabet = static_cast<size_t>(
      std::min<int64_t>({params_.limit_alphabet, room / 2, static_cast<int64_t>(chars.size())}));
  chars.resize(alphabet);
  std::sort(chars.begin(), chars.end());
  std::unordered_set<std::string> in_alphabet;
  for (const auto& [ch, f] : chars) in_alphabet.insert(ch);

  std::vector<std::string> symbols;  // symbol id -> piece ("x" or "##x")
  std::unordered_map<std::string, int32_t> symbol_id;
  auto intern = [&](const std::string& s) {
    auto [it, inserted] = symbol_id.emplace(s, static_cast<int32_t>(symbols.size()));
    if (inserted) symbols.push_back(s);
    return it->second;
  };
  std::vector<std::string> vocab = params_.special_tokens;
  std::unordered_set<std::string> in_vocab(vocab.begin(), vocab.end());
  auto add_vocab = [&](const std::string& s) {
    if (in_vocab.insert(s).second) vocab.push_back(s);
  };
  for (const auto& [ch, f] : chars) add_vocab(ch);
  for (const auto& [ch, f] : chars) add_vocab("##" + ch);

  // Each word as symbols: first piece plain, the rest "##"; characters outside the alphabet are dropped.
  struct Word {
    std::vector<int32_t> sym;
    int64_t count;
  };
  std::vector<Word> ws;
  for (const auto& [w, c] : words) {
    Word word{{}, c};
    for (size_t i = 0; i < w.size();) {
      size_t at = i;
      next_code_point(w, i);
      std::string ch = w.substr(at, i - at);
      if (!in_alphabet.count(ch)) continue;
      word.sym.push_back(intern(word.sym.empty() ? ch : "##" + ch));
    }
    if (word.sym.size() > 1) ws.push_back(std::move(word));
  }

  std::unordered_map<Pair, int64_t, PairHash> pair_count;
  std::unordered_map<Pair, std::vector<int32_t>, PairHash> pair_words;
  for (int32_t wi = 0; wi < static_cast<int32_t>(ws.size()); ++wi)
    for (size_t j = 0; j + 1 < ws[wi].sym.size(); ++j) {
      Pair p{ws[wi].sym[j], ws[wi].sym[j + 1]};
      pair_count[p] += ws[wi].count;
      pair_words[p].push_back(wi);
    }
  auto merged_piece = [&](const Pair& p) {
    const std::string& b = symbols[p.second];
    return symbols[p.first] + (b.rfind("##", 0) == 0 ? b.substr(2) : b);
  };
  // Max-heap on (count, then the merged piece sorting first); stale entries are skipped when popped.
  struct Entry {
    int64_t count;
    std::string piece;
    Pair pair;
    bool operator<(const Entry& o) const { return count != o.count ? count < o.count : piece > o.piece; }
  };
  std::priority_queue<Entry> heap;
  for (const auto& [p, c] : pair_count) heap.push({c, merged_piece(p), p});

  while (static_cast<int64_t>(vocab.size()) < params_.vocab_size && !heap.empty()) {
    Entry top = heap.top();
    heap.pop();
    auto it = pair_count.find(top.pair);
    if (it == pair_count.end() || it->second != top.count) continue;  // stale
    if (top.count < params_.min_frequency) break;
    const int32_t merged = intern(top.piece);
    add_vocab(top.piece);
    std::vector<int32_t> where;
    where.swap(pair_words[top.pair]);
    std::sort(where.begin(), where.end());
    where.erase(std::unique(where.begin(), where.end()), where.end());
    std::set<Pair> touched;
    for (int32_t wi : where) {
      Word& w = ws[wi];
      // Remove this word's pairs, merge, add them back.
      for (size_t j = 0; j + 1 < w.sym.size(); ++j) {
        Pair p{w.sym[j], w.sym[j + 1]};
        pair_count[p] -= w.count;
        touched.insert(p);
      }
      std::vector<int32_t> next;
      for (size_t j = 0; j < w.sym.size(); ++j) {
        if (j + 1 < w.sym.size() && w.sym[j] == top.pair.first && w.sym[j + 1] == top.pair.second) {
          next.push_back(merged);
          ++j;
        } else {
          next.push_back(w.sym[j]);
        }
      }
      w.sym.swap(next);
      for (size_t j = 0; j + 1 < w.sym.size(); ++j) {
        Pair p{w.sym[j], w.sym[j + 1]};
        pair_count[p] += w.count;
        pair_words[p].push_back(wi);
        touched.insert(p);
      }
    }
    pair_count.erase(top.pair);
    for (const auto& p : touched) {
      auto c = pair_count.find(p);
      if (c == pair_count.end()) continue;
      if (c->second <= 0)
        pair_count.erase(c);
      else
        heap.push({c->second, merged_piece(p), p});
    }
  }
  return vocab;
}

}  // namespace rr
