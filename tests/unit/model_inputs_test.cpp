// Bad model inputs: each refused with an input error (exit status 2) whose message names the file and the key
// or tensor, never a crash or a silently wrong model.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "model/bert_encoder.h"
#include "model/lora.h"
#include "model/safetensors.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using test::TempDir;

BertConfig tiny_config() {
  BertConfig c;
  c.vocab_size = 40, c.hidden_size = 16, c.num_hidden_layers = 1, c.num_attention_heads = 2,
  c.intermediate_size = 32;
  c.max_position_embeddings = 24;
  return c;
}

// The message of the input error `fn` throws ("" and a test failure when it throws none or another kind).
template <typename Fn>
std::string input_error(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

void expect_has(const std::string& message, const std::string& part) {
  EXPECT_NE(message.find(part), std::string::npos) << "'" << message << "' lacks '" << part << "'";
}

void edit_json(const std::filesystem::path& path, const std::function<void(nlohmann::json&)>& edit) {
  auto j = nlohmann::json::parse(test::read_file(path));
  edit(j);
  test::write_file(path, j.dump());
}

TEST(ModelInputs, AdapterConfigRefusals) {
  TempDir t;
  const BertEncoder base = BertEncoder::random(tiny_config(), 3);
  LoraAdapter::create(base, LoraConfig{}, 5).save(t / "good");
  const auto config = [&](const std::function<void(nlohmann::json&)>& edit) {
    std::filesystem::remove_all(t / "bad");
    std::filesystem::copy(t / "good", t / "bad");
    edit_json(t / "bad" / "adapter_config.json", edit);
    return input_error([&] { LoraAdapter::load(t / "bad", base); });
  };
  EXPECT_EQ(LoraAdapter::load(t / "good", base).config.r, 8);
  const std::string file = (t / "bad" / "adapter_config.json").string();
  std::string m = config([](auto& j) { j["peft_type"] = "PREFIX_TUNING"; });
  expect_has(m, file);
  expect_has(m, "key 'peft_type': must be \"LORA\"");
  expect_has(config([](auto& j) { j["r"] = 0; }), "key 'r': must be a positive integer");
  expect_has(config([](auto& j) { j.erase("r"); }), "key 'r'");
  expect_has(config([](auto& j) { j["lora_alpha"] = "big"; }), "key 'lora_alpha': must be a number");
  expect_has(config([](auto& j) { j["target_modules"] = {"query", 3}; }), "key 'target_modules'");
  expect_has(config([](auto& j) { j["bias"] = "all"; }), "key 'bias': only \"none\" is supported");
  test::write_file(t / "bad" / "adapter_config.json", "{not json");
  expect_has(input_error([&] { LoraAdapter::load(t / "bad", base); }), "invalid JSON");
  std::filesystem::remove(t / "bad" / "adapter_config.json");
  expect_has(input_error([&] { LoraAdapter::load(t / "bad", base); }), "adapter_config.json");
}

TEST(ModelInputs, ModelConfigRefusals) {
  TempDir t;
  BertEncoder::random(tiny_config(), 3).save(t / "good");
  const auto config = [&](const std::function<void(nlohmann::json&)>& edit) {
    std::filesystem::remove_all(t / "bad");
    std::filesystem::copy(t / "good", t / "bad", std::filesystem::copy_options::recursive);
    edit_json(t / "bad" / "config.json", edit);
    return input_error([&] { BertEncoder::load(t / "bad"); });
  };
  EXPECT_EQ(BertEncoder::load(t / "good").config().hidden_size, 16);
  std::string m = config([](auto& j) { j["model_type"] = "gpt2"; });
  expect_has(m, (t / "bad" / "config.json").string());
  expect_has(m, "model_type 'gpt2' is not a BERT model");
  expect_has(config([](auto& j) { j["num_attention_heads"] = 3; }), "num_attention_heads");
  expect_has(config([](auto& j) { j.erase("hidden_size"); }), "missing key 'hidden_size'");
  expect_has(config([](auto& j) { j["hidden_size"] = "16"; }), "key 'hidden_size' must be an integer");
  expect_has(config([](auto& j) { j["position_embedding_type"] = "relative_key"; }),
             "position_embedding_type 'relative_key' is not supported");
  expect_has(config([](auto& j) { j["hidden_act"] = "swish"; }), "swish");
}

TEST(ModelInputs, NonFiniteWeightsAreRefused) {
  TempDir t;
  const BertEncoder base = BertEncoder::random(tiny_config(), 3);
  base.save(t / "model");
  auto weights = read_safetensors(t / "model" / "model.safetensors");
  const std::string name = weights.begin()->first;
  weights.begin()->second.view(-1)[1] = std::numeric_limits<float>::quiet_NaN();
  weights.begin()->second.view(-1)[2] = std::numeric_limits<float>::infinity();
  write_safetensors(t / "model" / "model.safetensors", weights);
  std::string m = input_error([&] { BertEncoder::load(t / "model"); });
  expect_has(m, (t / "model" / "model.safetensors").string());
  expect_has(m, "tensor '" + name + "' holds 2 NaN or Inf value(s)");
  // An adapter's weights too.
  LoraAdapter::create(base, LoraConfig{}, 5).save(t / "adapter");
  auto a = read_safetensors(t / "adapter" / "adapter_model.safetensors");
  a.begin()->second.view(-1)[0] = -std::numeric_limits<float>::infinity();
  write_safetensors(t / "adapter" / "adapter_model.safetensors", a);
  BertEncoder again = BertEncoder::random(tiny_config(), 3);
  expect_has(input_error([&] { LoraAdapter::load(t / "adapter", again); }), "holds 1 NaN or Inf value(s)");
}

}  // namespace
}  // namespace rr
