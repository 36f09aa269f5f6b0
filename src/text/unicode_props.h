// Character properties as BERT's Python tokenizer sees them (unicodedata categories, str.lower).
#pragma once

#include <string>

namespace rr::unicode {

bool is_bert_whitespace(char32_t c);   // ' ', \t, \n, \r, or category Zs
bool is_bert_control(char32_t c);      // category C* except \t, \n, \r
bool is_bert_punctuation(char32_t c);  // ASCII symbol ranges or category P*
bool is_cjk(char32_t c);               // the CJK ideograph blocks BERT splits off
bool is_python_space(char32_t c);      // str.split()'s whitespace (after clean-up: Zs, U+2028, U+2029)
bool is_nonspacing_mark(char32_t c);   // category Mn
// Python's str.lower() of one character (full mapping: U+0130 -> "i\u0307"), appended as UTF-8.
void append_python_lower(std::string& out, char32_t c);
// NFC / NFD of a UTF-8 string (valid UTF-8 in).
std::string nfc(const std::string& s);
std::string nfd(const std::string& s);

}  // namespace rr::unicode
