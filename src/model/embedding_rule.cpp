#include "model/embedding_rule.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "common/atomic_output.h"
#include "common/error.h"

namespace rr {

namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  RR_CHECK(in.good(), Input, "{}: cannot be read", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    RR_THROW(Input, "{}: not valid JSON: {}", path.string(), e.what());
  }
}

constexpr const char* kModuleType = "sentence_transformers.models.";

// The one pooling mode a Pooling config turns on (mean or CLS tokens).
Pooling read_pooling(const std::filesystem::path& path) {
  const nlohmann::json j = read_json(path);
  RR_CHECK(j.is_object(), Input, "{}: expected a JSON object", path.string());
  bool mean = false, cls = false;
  for (const auto& [key, value] : j.items()) {
    if (key.rfind("pooling_mode_", 0) != 0) continue;
    RR_CHECK(value.is_boolean(), Input, "{}: '{}' is not true or false", path.string(), key);
    if (!value.get<bool>()) continue;
    if (key == "pooling_mode_mean_tokens")
      mean = true;
    else if (key == "pooling_mode_cls_token")
      cls = true;
    else
      RR_THROW(Input, "{}: '{}' is true; rr pools by mean or CLS token only", path.string(), key);
  }
  RR_CHECK(mean != cls, Input,
           "{}: exactly one of 'pooling_mode_mean_tokens' and 'pooling_mode_cls_token' must be true",
           path.string());
  return mean ? Pooling::Mean : Pooling::Cls;
}

}  // namespace

EmbeddingOptions read_embedding_rule(const std::filesystem::path& dir) {
  EmbeddingOptions rule;
  const auto modules_path = dir / "modules.json";
  if (!std::filesystem::exists(modules_path)) return rule;
  const nlohmann::json modules = read_json(modules_path);
  RR_CHECK(modules.is_array(), Input, "{}: expected a list of modules", modules_path.string());
  for (size_t i = 0; i < modules.size(); ++i) {
    const auto& m = modules[i];
    RR_CHECK(m.is_object() && m.contains("type") && m["type"].is_string(), Input,
             "{}: module {} has no 'type' string", modules_path.string(), i);
    const std::string type = m["type"].get<std::string>();
    const std::string kind =
        type.rfind(kModuleType, 0) == 0 ? type.substr(std::string(kModuleType).size()) : type;
    if (kind == "Transformer") continue;
    if (kind == "Normalize") {
      rule.normalize = true;
    } else if (kind == "Pooling") {
      RR_CHECK(m.contains("path") && m["path"].is_string(), Input, "{}: module {} (Pooling) has no 'path'",
               modules_path.string(), i);
      rule.pooling = read_pooling(dir / m["path"].get<std::string>() / "config.json");
    } else {
      RR_THROW(Input, "{}: module {} has type '{}'; rr applies Transformer, Pooling and Normalize only",
               modules_path.string(), i, type);
    }
  }
  return rule;
}

void write_embedding_rule(const std::filesystem::path& dir, const EmbeddingOptions& rule,
                          int64_t hidden_size) {
  nlohmann::json modules = nlohmann::json::array(
      {{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", std::string(kModuleType) + "Transformer"}},
       {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", std::string(kModuleType) + "Pooling"}}});
  if (rule.normalize)
    modules.push_back({{"idx", 2},
                       {"name", "2"},
                       {"path", "2_Normalize"},
                       {"type", std::string(kModuleType) + "Normalize"}});
  const nlohmann::json pooling = {{"word_embedding_dimension", hidden_size},
                                  {"pooling_mode_cls_token", rule.pooling == Pooling::Cls},
                                  {"pooling_mode_mean_tokens", rule.pooling == Pooling::Mean},
                                  {"pooling_mode_max_tokens", false},
                                  {"pooling_mode_mean_sqrt_len_tokens", false}};
  std::filesystem::create_directories(dir / "1_Pooling");
  if (rule.normalize) std::filesystem::create_directories(dir / "2_Normalize");
  AtomicFile p(dir / "1_Pooling" / "config.json");
  p.stream() << pooling.dump(2) << "\n";
  p.commit();
  AtomicFile m(dir / "modules.json");
  m.stream() << modules.dump(2) << "\n";
  m.commit();
}

}  // namespace rr
