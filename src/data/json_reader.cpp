#include "data/json_reader.h"

#include <fmt/ranges.h>

#include "common/error.h"
#include "text/utf8.h"

namespace rr {

JsonObjectReader::JsonObjectReader(const nlohmann::json& object, std::string where, std::string path)
    : object_(object.is_null() ? nlohmann::json::object() : object),
      where_(std::move(where)),
      path_(std::move(path)) {
  if (!object_.is_object())
    RR_THROW(Usage, "{}: '{}' must be a JSON object", where_, path_.empty() ? "(root)" : path_);
}

std::string JsonObjectReader::key_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool JsonObjectReader::has(const std::string& key) const {
  return object_.contains(key);
}

const nlohmann::json& JsonObjectReader::at(const std::string& key) {
  known_.insert(key);
  return object_[key];
}

void JsonObjectReader::type_error(const std::string& key, const char* expected) const {
  RR_THROW(Usage, "{}: '{}' must be {}, got {}", where_, key_path(key), expected,
           object_.at(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

template <class T>
void JsonObjectReader::get_scalar(const std::string& key, T& dst,
                                  bool (nlohmann::json::*is_type)() const noexcept, const char* expected) {
  known_.insert(key);
  if (!has(key)) return;
  const auto& v = at(key);
  if (!(v.*is_type)()) type_error(key, expected);
  dst = v.get<T>();
}

void JsonObjectReader::get(const std::string& key, std::string& dst) {
  get_scalar(key, dst, &nlohmann::json::is_string, "a string");
}

void JsonObjectReader::get(const std::string& key, bool& dst) {
  get_scalar(key, dst, &nlohmann::json::is_boolean, "true or false");
}

void JsonObjectReader::get(const std::string& key, int64_t& dst) {
  get_scalar(key, dst, &nlohmann::json::is_number_integer, "an integer");
}

void JsonObjectReader::get(const std::string& key, double& dst) {
  get_scalar(key, dst, &nlohmann::json::is_number, "a number");
}

void JsonObjectReader::get(const std::string& key, std::vector<std::string>& dst) {
  known_.insert(key);
  if (!has(key)) return;
  const auto& v = at(key);
  if (!v.is_array()) type_error(key, "a list of strings");
  dst.clear();
  for (const auto& x : v) {
    if (!x.is_string()) type_error(key, "a list of strings");
    dst.push_back(x.get<std::string>());
  }
}

void JsonObjectReader::get(const std::string& key, std::map<std::string, std::string>& dst) {
  known_.insert(key);
  if (!has(key)) return;
  const auto& v = at(key);
  if (!v.is_object()) type_error(key, "an object of strings");
  dst.clear();
  for (const auto& [name, x] : v.items()) {
    if (!x.is_string()) type_error(key, "an object of strings");
    dst[name] = x.get<std::string>();
  }
}

template <class T>
void JsonObjectReader::get_in_range(const std::string& key, T& dst, T min, T max) {
  get(key, dst);
  RR_CHECK(dst >= min && dst <= max, Usage, "{}: '{}' = {} must be in [{}, {}]", where_, key_path(key), dst,
           min, max);
}

void JsonObjectReader::get(const std::string& key, int64_t& dst, int64_t min, int64_t max) {
  get_in_range(key, dst, min, max);
}

void JsonObjectReader::get(const std::string& key, double& dst, double min, double max) {
  get_in_range(key, dst, min, max);
}

void JsonObjectReader::get_path(const std::string& key, std::string& dst,
                                const std::function<void(std::string&)>& resolve) {
  if (!has(key)) {
    known_.insert(key);
    return;
  }
  get(key, dst);
  RR_CHECK(!dst.empty(), Usage, "{}: '{}' must be a non-empty path", where_, key_path(key));
  resolve(dst);
}

JsonObjectReader JsonObjectReader::object(const std::string& key) {
  known_.insert(key);
  if (!has(key)) return JsonObjectReader(nlohmann::json::object(), where_, key_path(key));
  return JsonObjectReader(at(key), where_, key_path(key));
}

std::vector<JsonObjectReader> JsonObjectReader::objects(const std::string& key) {
  known_.insert(key);
  std::vector<JsonObjectReader> out;
  if (!has(key)) return out;
  const auto& v = at(key);
  if (!v.is_array()) type_error(key, "a list of objects");
  for (size_t i = 0; i < v.size(); ++i)
    out.emplace_back(v[i], where_, key_path(key) + "[" + std::to_string(i) + "]");
  return out;
}

void JsonObjectReader::finish() const {
  for (const auto& [key, value] : object_.items())
    if (!known_.count(key))
      RR_THROW(Usage, "{}: unknown key '{}' (valid keys here: {})", where_, key_path(key),
               fmt::join(known_, ", "));
}

void apply_override(nlohmann::json& doc, const std::string& assignment) {
  size_t eq = assignment.find('=');
  RR_CHECK(is_valid_utf8(assignment), Usage, "--set: the assignment is not valid UTF-8");
  RR_CHECK(eq != std::string::npos && eq > 0, Usage, "--set '{}': expected key.path=value", assignment);
  std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const std::exception&) {
    value = text;
  }
  nlohmann::json* node = &doc;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    RR_CHECK(!key.empty(), Usage, "--set '{}': empty key in the path", assignment);
    if (node->is_array()) {
      size_t index = 0;
      try {
        index = std::stoul(key);
      } catch (const std::exception&) {
        RR_THROW(Usage, "--set '{}': '{}' indexes a list: use a number", assignment, key);
      }
      RR_CHECK(index < node->size(), Usage, "--set '{}': index {} past the list's {} entries", assignment,
               index, node->size());
      node = &(*node)[index];
    } else {
      if (!node->is_object()) *node = nlohmann::json::object();
      node = &(*node)[key];
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  *node = value;
}

}  // namespace rr
