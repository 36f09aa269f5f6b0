#include "data/jsonl_reader.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <fstream>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "data/byte_source.h"

namespace rr {

namespace {

constexpr size_t kChunkBytes = size_t{16} << 20;

std::string describe(simdjson::error_code err) {
  if (err == simdjson::UTF8_ERROR) return "invalid UTF-8";
  return fmt::format("invalid JSON: {}", simdjson::error_message(err));
}

bool is_blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

}  // namespace

struct JsonLinesReader::Impl {
  std::filesystem::path path;
  JsonLinesOptions options;
  std::unique_ptr<ByteSource> in;
  std::vector<char> buf;  // [begin, end) holds unparsed bytes; padded for simdjson
  size_t begin = 0, end = 0;
  bool eof = false;
  int64_t line = 0;
  int64_t buf_offset = 0;     // file offset of buf[0]
  int64_t remaining = -1;     // bytes of the range not read yet (-1: to the end of the file)
  int64_t record_offset = 0;  // file offset of the last record's line
  simdjson::dom::parser parser;

  [[noreturn]] void fail(const std::string& what) const {
    RR_THROW(Input, "{}:{}: {}", path.string(), line, what);
  }

  // Ensures a full line is in the buffer; returns its length or npos at end of input.
  size_t fill_line() {
    for (;;) {
      const char* nl = static_cast<const char*>(std::memchr(buf.data() + begin, '\n', end - begin));
      if (nl) return static_cast<size_t>(nl - (buf.data() + begin));
      if (eof) return end > begin ? end - begin : std::string::npos;
      // Move the partial line to the front and read more (grow when one line exceeds the chunk).
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      buf_offset += static_cast<int64_t>(begin);
      end -= begin;
      begin = 0;
      if (buf.size() - simdjson::SIMDJSON_PADDING - end < std::min(kChunkBytes, buf.size()) / 2)
        buf.resize(buf.size() + std::min(kChunkBytes, buf.size()));
      size_t room = buf.size() - simdjson::SIMDJSON_PADDING - end;
      if (remaining >= 0) room = std::min(room, static_cast<size_t>(remaining));
      const size_t got = room ? in->read(buf.data() + end, room) : 0;
      end += got;
      if (remaining >= 0) remaining -= static_cast<int64_t>(got);
      if (got < room || remaining == 0) eof = true;
      skip_byte_order_mark();
    }
  }

  // A UTF-8 byte-order mark at the very start of the file (some editors write one): skipped, with a warning.
  bool bom_checked = false;
  void skip_byte_order_mark() {
    if (bom_checked || end - begin < 3) return;
    bom_checked = true;
    if (std::memcmp(buf.data() + begin, "\xEF\xBB\xBF", 3) != 0) return;
    begin += 3;
    spdlog::warn(
        "{}: starts with a UTF-8 byte-order mark; skipped (strip it with: sed -i '1s/^\\xEF\\xBB\\xBF//' {})",
        path.string(), path.string());
  }

  std::string string_field(simdjson::dom::element v, const char* field, bool integer_ok) {
    switch (v.type()) {
      case simdjson::dom::element_type::STRING:
        return std::string(v.get_string().value_unsafe());
      case simdjson::dom::element_type::INT64:
        if (integer_ok) return std::to_string(v.get_int64().value_unsafe());
        break;
      case simdjson::dom::element_type::UINT64:
        if (integer_ok) return std::to_string(v.get_uint64().value_unsafe());
        break;
      case simdjson::dom::element_type::NULL_VALUE:
        return {};
      default:
        break;
    }
    fail(fmt::format("field '{}' must be a string", field));
  }

  bool next(TextRecord& rec) {
    for (;;) {
      size_t len = fill_line();
      if (len == std::string::npos) return false;
      const char* p = buf.data() + begin;
      record_offset = buf_offset + static_cast<int64_t>(begin);
      begin += len + (begin + len < end ? 1 : 0);
      ++line;
      std::string_view text(p, len);
      if (is_blank(text)) continue;
      rec = TextRecord{};
      rec.line = line;
      // The buffer keeps SIMDJSON_PADDING readable bytes past its end, so no copy is needed.
      simdjson::dom::element doc;
      if (auto err = parser.parse(reinterpret_cast<const uint8_t*>(p), len, false).get(doc))
        fail(describe(err));
      simdjson::dom::object obj;
      if (doc.get_object().get(obj)) fail("expected a JSON object");
      bool has_id = false, has_text = false, has_underscore_id = false, has_extra = false;
      for (auto [key, value] : obj) {
        if (key == "_id" || (key == "id" && !has_underscore_id)) {
          rec.id = string_field(value, key == "_id" ? "_id" : "id", true);
          has_id = true;
          has_underscore_id = has_underscore_id || key == "_id";
        } else if (key == "text") {
          rec.text = string_field(value, "text", false);
          has_text = true;
        } else if (key == "title" && options.allow_title) {
          rec.title = string_field(value, "title", false);
        } else if (options.extra_field && key == options.extra_field) {
          rec.extra = string_field(value, options.extra_field, false);
          has_extra = true;
        }
      }
      if (!has_id) fail("missing field '_id' (or 'id')");
      if (rec.id.empty()) fail("field '_id' is empty");
      if (!has_text && options.require_text) fail("missing field 'text'");
      if (options.extra_field && !has_extra) fail(fmt::format("missing field '{}'", options.extra_field));
      return true;
    }
  }
};

JsonLinesReader::JsonLinesReader(std::filesystem::path path, JsonLinesOptions options, ByteRange range)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = std::move(path);
  impl_->options = options;
  impl_->in = std::make_unique<ByteSource>(impl_->path);
  if (range.begin > 0 || range.end >= 0) {
    RR_CHECK(!ByteSource::is_gzip(impl_->path), Runtime, "{}: byte ranges of a gzip file",
             impl_->path.string());
    impl_->in->skip(range.begin);
    impl_->buf_offset = range.begin;
    impl_->bom_checked = range.begin > 0;
    impl_->line = range.first_line - 1;
    if (range.end >= 0) impl_->remaining = range.end - range.begin;
  }
  // Small files get a small buffer (it grows as lines need).
  std::error_code ec;
  const auto size = std::filesystem::file_size(impl_->path, ec);
  impl_->buf.resize(std::min<size_t>(kChunkBytes, ec ? kChunkBytes : size + 1) + simdjson::SIMDJSON_PADDING);
}

JsonLinesReader::~JsonLinesReader() = default;

bool JsonLinesReader::next(TextRecord& record) {
  return impl_->next(record);
}

const std::filesystem::path& JsonLinesReader::path() const {
  return impl_->path;
}

int64_t JsonLinesReader::record_offset() const {
  return impl_->record_offset;
}

}  // namespace rr
