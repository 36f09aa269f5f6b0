// BERT hyper-parameters as Hugging Face's config.json names them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rr {

struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";  // gelu (erf), gelu_new / gelu_pytorch_tanh (tanh approximation), relu
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  double initializer_range = 0.02;

  // Reads config.json; throws Input naming the file and the key on a missing or invalid value, and on
  // settings rr does not implement (relative position embeddings, other activations).
  static BertConfig load(const std::filesystem::path& path);
  // Writes config.json that transformers' BertModel loads.
  void save(const std::filesystem::path& path) const;
  void validate(const std::string& where) const;
};

}  // namespace rr
