// The unit of text that rr reads: a BEIR document, a BEIR query, or a line of `rr tokenize`/`rr embed` input.
#pragma once

#include <cstdint>
#include <string>

namespace rr {

struct TextRecord {
  std::string id;     // BEIR "_id" (or "id"); a JSON number is accepted and kept as written
  std::string title;  // empty when absent or null
  std::string text;
  int64_t line = 0;   // 1-based line in the file it came from, for error messages
  std::string extra;  // the field JsonLinesOptions::extra_field names, when asked for (e.g. "query")

  // What the encoder sees: title + " " + text when the title is non-empty, else text (BEIR's rule).
  std::string encoder_text() const { return title.empty() ? text : title + " " + text; }
};

}  // namespace rr
