#include "model/bert_config.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include "common/atomic_output.h"
#include "common/error.h"

namespace rr {

BertConfig BertConfig::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) RR_THROW(Input, "{}: cannot open model config", path.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    RR_THROW(Input, "{}: invalid JSON: {}", path.string(), e.what());
  }
  BertConfig c;
  auto get_int = [&](const char* key, int64_t& dst, bool required) {
    if (!j.contains(key)) {
      if (required) RR_THROW(Input, "{}: missing key '{}'", path.string(), key);
      return;
    }
    if (!j[key].is_number_integer()) RR_THROW(Input, "{}: key '{}' must be an integer", path.string(), key);
    dst = j[key].get<int64_t>();
  };
  auto get_double = [&](const char* key, double& dst) {
    if (!j.contains(key) || j[key].is_null()) return;
    if (!j[key].is_number()) RR_THROW(Input, "{}: key '{}' must be a number", path.string(), key);
    dst = j[key].get<double>();
  };
  get_int("vocab_size", c.vocab_size, true);
  get_int("hidden_size", c.hidden_size, true);
  get_int("num_hidden_layers", c.num_hidden_layers, true);
  get_int("num_attention_heads", c.num_attention_heads, true);
  get_int("intermediate_size", c.intermediate_size, true);
  get_int("max_position_embeddings", c.max_position_embeddings, false);
  get_int("type_vocab_size", c.type_vocab_size, false);
  get_int("pad_token_id", c.pad_token_id, false);
  get_double("hidden_dropout_prob", c.hidden_dropout_prob);
  get_double("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  get_double("layer_norm_eps", c.layer_norm_eps);
  get_double("initializer_range", c.initializer_range);
  if (j.contains("hidden_act")) {
    if (!j["hidden_act"].is_string()) RR_THROW(Input, "{}: key 'hidden_act' must be a string", path.string());
    c.hidden_act = j["hidden_act"].get<std::string>();
  }
  if (j.contains("position_embedding_type") && j["position_embedding_type"].is_string() &&
      j["position_embedding_type"].get<std::string>() != "absolute")
    RR_THROW(Input, "{}: position_embedding_type '{}' is not supported (only 'absolute')", path.string(),
             j["position_embedding_type"].get<std::string>());
  if (j.contains("model_type") && j["model_type"].is_string() && j["model_type"].get<std::string>() != "bert")
    RR_THROW(Input, "{}: model_type '{}' is not a BERT model", path.string(),
             j["model_type"].get<std::string>());
  c.validate(path.string());
  return c;
}

void BertConfig::validate(const std::string& where) const {
  RR_CHECK(vocab_size > 0 && hidden_size > 0 && num_hidden_layers > 0 && num_attention_heads > 0 &&
               intermediate_size > 0 && max_position_embeddings > 0 && type_vocab_size > 0,
           Input, "{}: sizes must be positive", where);
  RR_CHECK(hidden_size % num_attention_heads == 0, Input,
           "{}: hidden_size {} is not a multiple of num_attention_heads {}", where, hidden_size,
           num_attention_heads);
  RR_CHECK(hidden_act == "gelu" || hidden_act == "gelu_new" || hidden_act == "gelu_pytorch_tanh" ||
               hidden_act == "relu",
           Input, "{}: hidden_act '{}' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)", where,
           hidden_act);
}

void BertConfig::save(const std::filesystem::path& path) const {
  nlohmann::ordered_json j;
  j["architectures"] = {"BertModel"};
  j["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
  j["hidden_act"] = hidden_act;
  j["hidden_dropout_prob"] = hidden_dropout_prob;
  j["hidden_size"] = hidden_size;
  j["initializer_range"] = initializer_range;
  j["intermediate_size"] = intermediate_size;
  j["layer_norm_eps"] = layer_norm_eps;
  j["max_position_embeddings"] = max_position_embeddings;
  j["model_type"] = "bert";
  j["num_attention_heads"] = num_attention_heads;
  j["num_hidden_layers"] = num_hidden_layers;
  j["pad_token_id"] = pad_token_id;
  j["position_embedding_type"] = "absolute";
  j["type_vocab_size"] = type_vocab_size;
  j["vocab_size"] = vocab_size;
  AtomicFile f(path);
  f.stream() << j.dump(2) << "\n";
  f.commit();
}

}  // namespace rr
