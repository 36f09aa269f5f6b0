#include "text/bert_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <unordered_map>

#include "common/error.h"
#include "text/unicode_props.h"
#include "text/utf8.h"

namespace rr {

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// ASCII classes as BERT's Python code decides them.
enum : uint8_t { kWord = 0, kSpace = 1, kControl = 2, kPunct = 3 };
constexpr std::array<uint8_t, 128> make_ascii_class() {
  std::array<uint8_t, 128> t{};
  for (int c = 0; c < 128; ++c) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      t[c] = kSpace;
    else if (c < 32 || c == 127)
      t[c] = kControl;
    else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
      t[c] = kPunct;
    else
      t[c] = kWord;
  }
  return t;
}
constexpr auto kAsciiClass = make_ascii_class();

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// BERT's BasicTokenizer: clean-up, CJK splitting, NFC, whitespace split, lower-casing and accent
// stripping, punctuation split. Calls sink.word(token) per basic token (and sink.special(id) for a
// whole-word special token when `never_split` is set); stops when the sink returns false.
struct BasicSplitter {
  TokenizerOptions opt;
  bool strip_accents = true;
  std::vector<std::pair<std::string, int32_t>> never_split;  // whole-word special tokens (HF's never_split)

  template <typename Sink>
  bool finish_word(std::string& word, bool ascii, Sink& sink) const {
    if (word.empty()) return true;
    for (const auto& s : never_split)
      if (word == s.first) {
        word.clear();
        return sink.special(s.second);
      }
    bool go = true;
    if (ascii) {
      if (opt.lower_case)
        for (auto& c : word) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      size_t start = 0;
      for (size_t i = 0; go && i <= word.size(); ++i) {
        if (i < word.size() && kAsciiClass[static_cast<unsigned char>(word[i])] != kPunct) continue;
        if (i > start) go = sink.word(std::string_view(word).substr(start, i - start));
        if (go && i < word.size()) go = sink.word(std::string_view(word).substr(i, 1));
        start = i + 1;
      }
    } else {
      std::string w = unicode::nfc(word);
      if (opt.lower_case) {
        std::string lowered;
        for (size_t i = 0; i < w.size();) unicode::append_python_lower(lowered, next_code_point(w, i));
        w.swap(lowered);
      }
      if (strip_accents) {
        std::string d = unicode::nfd(w), kept;
        for (size_t i = 0; i < d.size();) {
          size_t at = i;
          char32_t c = next_code_point(d, i);
          if (!unicode::is_nonspacing_mark(c)) kept.append(d, at, i - at);
        }
        w.swap(kept);
      }
      size_t start = 0;
      for (size_t i = 0; go && i < w.size();) {
        size_t at = i;
        char32_t c = next_code_point(w, i);
        if (!unicode::is_bert_punctuation(c)) continue;
        if (at > start) go = sink.word(std::string_view(w).substr(start, at - start));
        if (go) go = sink.word(std::string_view(w).substr(at, i - at));
        start = i;
      }
      if (go && start < w.size()) go = sink.word(std::string_view(w).substr(start));
    }
    word.clear();
    return go;
  }

  template <typename Sink>
  bool split(std::string_view text, Sink& sink) const {
    std::string word;
    bool ascii = true;
    size_t i = 0;
    while (i < text.size()) {
      auto b = static_cast<unsigned char>(text[i]);
      if (b < 0x80) {
        ++i;
        switch (kAsciiClass[b]) {
          case kSpace:
            if (!finish_word(word, ascii, sink)) return false;
            ascii = true;
            break;
          case kControl:
            break;  // removed (NUL included)
          default:
            word.push_back(static_cast<char>(b));
        }
        continue;
      }
      size_t at = i;
      char32_t c = next_code_point(text, i);
      if (c == 0xFFFD || unicode::is_bert_control(c)) continue;
      if (unicode::is_bert_whitespace(c) || c == 0x2028 || c == 0x2029) {
        if (!finish_word(word, ascii, sink)) return false;
        ascii = true;
        continue;
      }
      if (opt.tokenize_chinese_chars && unicode::is_cjk(c)) {
        if (!finish_word(word, ascii, sink)) return false;
        word.assign(text.substr(at, i - at));
        if (!finish_word(word, false, sink)) return false;
        ascii = true;
        continue;
      }
      word.append(text.substr(at, i - at));
      ascii = false;
    }
    return finish_word(word, ascii, sink);
  }
};

struct WordCollector {
  std::vector<std::string>& out;
  bool word(std::string_view w) {
    out.emplace_back(w);
    return true;
  }
  bool special(int32_t) { return true; }
};

}  // namespace

std::vector<std::string> basic_tokenize(std::string_view text, const TokenizerOptions& options) {
  if (!is_valid_utf8(text)) RR_THROW(Input, "text is not valid UTF-8");
  BasicSplitter splitter{
      options, options.strip_accents < 0 ? options.lower_case : options.strip_accents == 1, {}};
  std::vector<std::string> out;
  WordCollector sink{out};
  splitter.split(text, sink);
  return out;
}

struct BertTokenizer::Impl {
  TokenizerOptions opt;
  std::vector<std::string> tokens;
  TokenMap whole;         // every vocab entry
  TokenMap continuation;  // entries "##x", keyed by "x"
  size_t max_whole_cp = 0, max_cont_cp = 0;
  int32_t unk = -1, cls = -1, sep = -1, pad = -1, mask = -1;
  std::vector<std::pair<std::string, int32_t>> specials;  // matched verbatim in text, longest first
  BasicSplitter splitter;

  template <typename Sink>
  bool split(std::string_view text, Sink& sink) const {
    return splitter.split(text, sink);
  }

  // --- WordPiece of one basic token -------------------------------------------------------------
  void wordpiece(std::string_view word, std::vector<int32_t>& out) const {
    const bool ascii =
        std::all_of(word.begin(), word.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    const size_t n_cp = ascii ? word.size() : code_points(word);
    if (n_cp > static_cast<size_t>(opt.max_input_chars_per_word)) {
      out.push_back(unk);
      return;
    }
    // Byte offset of each code point boundary (only built for non-ASCII words).
    std::vector<size_t> bound;
    if (!ascii) {
      for (size_t i = 0; i < word.size(); ++i)
        if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) bound.push_back(i);
    }
    auto offset = [&](size_t cp) { return ascii ? cp : (cp < bound.size() ? bound[cp] : word.size()); };
    const size_t first = out.size();
    size_t start = 0;
    while (start < n_cp) {
      const TokenMap& map = start == 0 ? whole : continuation;
      size_t end = std::min(n_cp, start + (start == 0 ? max_whole_cp : max_cont_cp));
      int32_t found = -1;
      for (; end > start; --end) {
        auto it = map.find(word.substr(offset(start), offset(end) - offset(start)));
        if (it != map.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        out.resize(first);
        out.push_back(unk);
        return;
      }
      out.push_back(found);
      start = end;
    }
  }

  // Sink for BasicSplitter: WordPiece each basic token into `out`, up to `limit` pieces.
  struct PieceSink {
    const Impl& tok;
    std::vector<int32_t>& out;
    int64_t limit;
    bool room() const { return limit < 0 || static_cast<int64_t>(out.size()) < limit; }
    bool word(std::string_view w) {
      tok.wordpiece(w, out);
      return room();
    }
    bool special(int32_t id) {
      out.push_back(id);
      return room();
    }
  };

  std::vector<int32_t> tokenize(std::string_view text, int64_t limit) const {
    if (!is_valid_utf8(text)) RR_THROW(Input, "text is not valid UTF-8");
    std::vector<int32_t> out;
    PieceSink sink{*this, out, limit};
    size_t start = 0, i = 0;
    while (opt.special_tokens_anywhere && i < text.size()) {
      // Special tokens are matched verbatim (case-sensitive), leftmost and longest first.
      const std::pair<std::string, int32_t>* hit = nullptr;
      for (const auto& s : specials)
        if (text.compare(i, s.first.size(), s.first) == 0) {
          hit = &s;
          break;
        }
      if (!hit) {
        ++i;
        continue;
      }
      if (!split(text.substr(start, i - start), sink)) return out;
      out.push_back(hit->second);
      if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) return out;
      i += hit->first.size();
      start = i;
    }
    split(text.substr(start), sink);
    if (limit >= 0 && static_cast<int64_t>(out.size()) > limit) out.resize(static_cast<size_t>(limit));
    return out;
  }
};

BertTokenizer::BertTokenizer(const std::filesystem::path& vocab_file, TokenizerOptions options)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.opt = std::move(options);
  m.splitter.opt = m.opt;
  m.splitter.strip_accents = m.opt.strip_accents < 0 ? m.opt.lower_case : m.opt.strip_accents == 1;
  std::ifstream in(vocab_file, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open vocabulary", vocab_file.string());
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // HF's load_vocab strips each line (trailing '\n' only, via rstrip("\n")); a duplicate keeps the last id.
    if (!is_valid_utf8(line))
      RR_THROW(Input, "{}:{}: vocabulary entry is not valid UTF-8", vocab_file.string(), n);
    int32_t id = static_cast<int32_t>(m.tokens.size());
    m.tokens.push_back(line);
    m.whole[line] = id;
    m.max_whole_cp = std::max(m.max_whole_cp, code_points(line));
    if (line.size() > 2 && line.compare(0, 2, "##") == 0) {
      m.continuation[line.substr(2)] = id;
      m.max_cont_cp = std::max(m.max_cont_cp, code_points(line) - 2);
    }
  }
  if (m.tokens.empty()) RR_THROW(Input, "{}: empty vocabulary", vocab_file.string());
  auto need = [&](const std::string& tok) {
    auto it = m.whole.find(tok);
    if (it == m.whole.end())
      RR_THROW(Input, "{}: vocabulary lacks the special token {}", vocab_file.string(), tok);
    return it->second;
  };
  m.unk = need(m.opt.unk_token);
  m.cls = need(m.opt.cls_token);
  m.sep = need(m.opt.sep_token);
  m.pad = need(m.opt.pad_token);
  auto mask = m.whole.find(m.opt.mask_token);
  m.mask = mask == m.whole.end() ? m.unk : mask->second;
  for (const auto& s :
       {m.opt.unk_token, m.opt.sep_token, m.opt.pad_token, m.opt.cls_token, m.opt.mask_token}) {
    auto it = m.whole.find(s);
    m.specials.emplace_back(s, it == m.whole.end() ? m.unk : it->second);
  }
  std::stable_sort(m.specials.begin(), m.specials.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  if (!m.opt.special_tokens_anywhere) m.splitter.never_split = m.specials;
}

BertTokenizer BertTokenizer::from_directory(const std::filesystem::path& dir) {
  TokenizerOptions o;
  auto cfg_path = dir / "tokenizer_config.json";
  if (std::filesystem::exists(cfg_path)) {
    std::ifstream in(cfg_path);
    nlohmann::json cfg;
    try {
      cfg = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      RR_THROW(Input, "{}: invalid JSON: {}", cfg_path.string(), e.what());
    }
    auto get_bool = [&](const char* key, bool& dst) {
      if (cfg.contains(key) && cfg[key].is_boolean()) dst = cfg[key].get<bool>();
    };
    get_bool("do_lower_case", o.lower_case);
    get_bool("tokenize_chinese_chars", o.tokenize_chinese_chars);
    if (cfg.contains("strip_accents") && cfg["strip_accents"].is_boolean())
      o.strip_accents = cfg["strip_accents"].get<bool>() ? 1 : 0;
    auto get_token = [&](const char* key, std::string& dst) {
      if (!cfg.contains(key)) return;
      const auto& v = cfg[key];
      if (v.is_string())
        dst = v.get<std::string>();
      else if (v.is_object() && v.contains("content") && v["content"].is_string())
        dst = v["content"].get<std::string>();
    };
    get_token("unk_token", o.unk_token);
    get_token("cls_token", o.cls_token);
    get_token("sep_token", o.sep_token);
    get_token("pad_token", o.pad_token);
    get_token("mask_token", o.mask_token);
  }
  o.special_tokens_anywhere = true;  // from_pretrained builds the added-tokens trie
  return BertTokenizer(dir / "vocab.txt", std::move(o));
}

BertTokenizer::~BertTokenizer() = default;
BertTokenizer::BertTokenizer(BertTokenizer&&) noexcept = default;
BertTokenizer& BertTokenizer::operator=(BertTokenizer&&) noexcept = default;

std::vector<int32_t> BertTokenizer::tokenize_ids(std::string_view text, int64_t limit) const {
  return impl_->tokenize(text, limit);
}

std::vector<std::string> BertTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> out;
  for (int32_t id : impl_->tokenize(text, -1)) out.push_back(impl_->tokens[id]);
  return out;
}

std::vector<int32_t> BertTokenizer::encode(std::string_view text, int64_t max_length) const {
  RR_CHECK(max_length >= 2, Usage, "max_length must be at least 2 ([CLS] and [SEP]), got {}", max_length);
  std::vector<int32_t> ids;
  ids.reserve(static_cast<size_t>(std::min<int64_t>(max_length, 512)));
  ids.push_back(impl_->cls);
  auto body = impl_->tokenize(text, max_length - 2);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(impl_->sep);
  return ids;
}

int32_t BertTokenizer::token_id(std::string_view token) const {
  auto it = impl_->whole.find(token);
  return it == impl_->whole.end() ? -1 : it->second;
}
const std::string& BertTokenizer::token(int32_t id) const {
  return impl_->tokens.at(static_cast<size_t>(id));
}
int64_t BertTokenizer::vocab_size() const {
  return static_cast<int64_t>(impl_->tokens.size());
}
int32_t BertTokenizer::pad_id() const {
  return impl_->pad;
}
int32_t BertTokenizer::cls_id() const {
  return impl_->cls;
}
int32_t BertTokenizer::sep_id() const {
  return impl_->sep;
}
int32_t BertTokenizer::unk_id() const {
  return impl_->unk;
}
int32_t BertTokenizer::mask_id() const {
  return impl_->mask;
}
const TokenizerOptions& BertTokenizer::options() const {
  return impl_->opt;
}

}  // namespace rr
