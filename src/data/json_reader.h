// Strict reading of JSON configuration objects: every key is either known or an error that lists the valid
// keys; every type mismatch names the key's full path ("training.expert.lr").
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace rr {

class JsonObjectReader {
 public:
  // `where`: file name for messages; `path`: dotted path of this object ("" for the root).
  JsonObjectReader(const nlohmann::json& object, std::string where, std::string path);

  // Reads key into dst when present (dst keeps its default otherwise). Throws Usage on a type mismatch.
  void get(const std::string& key, std::string& dst);
  void get(const std::string& key, bool& dst);
  void get(const std::string& key, int64_t& dst);
  void get(const std::string& key, double& dst);
  void get(const std::string& key, std::vector<std::string>& dst);
  void get(const std::string& key, std::map<std::string, std::string>& dst);  // an object of strings
  // Numbers that must lie in [min, max] (checked whether present or defaulted): Usage error naming the key.
  void get(const std::string& key, int64_t& dst, int64_t min, int64_t max);
  void get(const std::string& key, double& dst, double min, double max);
  // A path: a non-empty string when present; relative paths resolved by `resolve` (absent: dst unchanged).
  void get_path(const std::string& key, std::string& dst, const std::function<void(std::string&)>& resolve);
  // The sub-object at key (an empty object when absent).
  JsonObjectReader object(const std::string& key);
  // The array of objects at key (empty when absent).
  std::vector<JsonObjectReader> objects(const std::string& key);
  bool has(const std::string& key) const;
  // Throws Usage when a key was present but never read, listing the valid ones.
  void finish() const;
  std::string key_path(const std::string& key) const;
  const std::string& where() const { return where_; }

 private:
  const nlohmann::json& at(const std::string& key);
  [[noreturn]] void type_error(const std::string& key, const char* expected) const;
  // Reads key into dst when present and (json.*is_type)() holds; else a type error naming `expected`.
  template <class T>
  void get_scalar(const std::string& key, T& dst, bool (nlohmann::json::*is_type)() const noexcept,
                  const char* expected);
  template <class T>
  void get_in_range(const std::string& key, T& dst, T min, T max);
  nlohmann::json object_;
  std::string where_, path_;
  std::set<std::string> known_;
};

// Applies "a.b.c=value" to a JSON document (value parsed as JSON when it is valid JSON, else a string).
void apply_override(nlohmann::json& doc, const std::string& assignment);

}  // namespace rr
