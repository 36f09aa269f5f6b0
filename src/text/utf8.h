// Small UTF-8 helpers (validation, decoding) shared by the readers and the tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rr {

// True when s is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Each byte as the Latin-1 code point it names, encoded in UTF-8.
std::string latin1_to_utf8(std::string_view s);

// Appends code point cp as UTF-8.
void append_utf8(std::string& out, char32_t cp);

// Decodes one code point at s[i] (valid UTF-8 assumed) and advances i.
char32_t next_code_point(std::string_view s, size_t& i);

}  // namespace rr
