#include "data/source_format.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include "common/error.h"
#include "data/format_list.h"
#include "data/json_reader.h"

namespace rr {

#define RR_DECLARE_FORMAT(id) FormatInfo id##_format();
RR_FORMATS(RR_DECLARE_FORMAT)
#undef RR_DECLARE_FORMAT

std::string command_line_option(const std::string& key) {
  std::string out = "--" + key;
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

const std::string& FormatValues::text(const std::string& key) const {
  const auto it = values_.find(key);
  RR_CHECK(it != values_.end(), Runtime, "{}: no option '{}'", where_, key);
  return it->second;
}

int64_t FormatValues::integer(const std::string& key) const {
  const std::string& v = text(key);
  int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  RR_CHECK(ec == std::errc() && end == v.data() + v.size() && !v.empty(), Usage,
           "{} = '{}' is not a whole number", name(key), v);
  return out;
}

std::string FormatValues::name(const std::string& key) const {
  return fmt::format("{}: '{}'", where_, command_line_ ? command_line_option(key) : key_prefix_ + key);
}

const std::vector<FormatInfo>& source_formats() {
#define RR_FORMAT_INFO(id) id##_format(),
  static const std::vector<FormatInfo> formats = {RR_FORMATS(RR_FORMAT_INFO)};
#undef RR_FORMAT_INFO
  return formats;
}

std::vector<std::string> source_format_names(FormatKind kind) {
  std::vector<std::string> names;
  for (const auto& f : source_formats())
    if (f.kind == kind) names.push_back(f.name);
  return names;
}

const FormatInfo& source_format(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& f : source_formats()) {
    if (f.name == name) return f;
    names.push_back(f.name);
  }
  RR_THROW(Usage, "unknown format '{}' (formats: {})", name, fmt::join(names, ", "));
}

namespace {

// One option's value from the source object (as text), or its default.
std::string read_option(JsonObjectReader& r, const FormatOption& o, const std::string& format,
                        const PathResolver& resolve) {
  if (!o.config) return o.config_value.empty() ? o.default_value : o.config_value;
  std::string value = o.default_value;
  if (o.integer) {
    int64_t n = 0;
    r.get(o.key, n);
    if (r.has(o.key)) value = std::to_string(n);
  } else {
    r.get(o.key, value);
  }
  RR_CHECK(!o.required || (r.has(o.key) && !value.empty()), Usage, "{}: '{}' is required for format {}",
           r.where(), r.key_path(o.key), format);
  if (o.path && r.has(o.key)) resolve(value);
  return value;
}

}  // namespace

std::shared_ptr<const SourceFormat> parse_source(JsonObjectReader& r, const PathResolver& resolve) {
  std::string name;
  r.get("format", name);
  if (name.empty()) return nullptr;
  const auto collections = source_format_names(FormatKind::Collection);
  const FormatInfo* info = nullptr;
  for (const auto& f : source_formats())
    if (f.name == name && f.kind == FormatKind::Collection) info = &f;
  RR_CHECK(info, Usage, "{}: {}: unknown format '{}' ({})", r.where(), r.key_path("format"), name,
           fmt::join(collections, ", "));
  std::map<std::string, std::string> values;
  for (const auto& o : info->options) values[o.key] = read_option(r, o, name, resolve);
  r.finish();
  const std::string prefix = r.key_path("format").substr(0, r.key_path("format").size() - 6);
  return info->make(FormatValues(r.where(), prefix, false, std::move(values)));
}

}  // namespace rr
