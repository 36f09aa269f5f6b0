#include "model/bert_encoder.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "common/error.h"
#include "model/autocast.h"
#include "model/bf16_attention.h"
#include "model/bf16_dense.h"
#include "model/invariant_ops.h"
#include "model/pytorch_bin.h"

namespace rr {

namespace {

std::string layer_prefix(int64_t i) {
  return "encoder.layer." + std::to_string(i) + ".";
}

// Every parameter BertModel (without pooler) has, with its shape.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_params(const BertConfig& c) {
  const int64_t h = c.hidden_size, f = c.intermediate_size;
  std::vector<std::pair<std::string, std::vector<int64_t>>> p = {
      {"embeddings.word_embeddings.weight", {c.vocab_size, h}},
      {"embeddings.position_embeddings.weight", {c.max_position_embeddings, h}},
      {"embeddings.token_type_embeddings.weight", {c.type_vocab_size, h}},
      {"embeddings.LayerNorm.weight", {h}},
      {"embeddings.LayerNorm.bias", {h}},
  };
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string l = layer_prefix(i);
    for (const char* m :
         {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
      p.push_back({l + m + ".weight", {h, h}});
      p.push_back({l + m + ".bias", {h}});
    }
    p.push_back({l + "attention.output.LayerNorm.weight", {h}});
    p.push_back({l + "attention.output.LayerNorm.bias", {h}});
    p.push_back({l + "intermediate.dense.weight", {f, h}});
    p.push_back({l + "intermediate.dense.bias", {f}});
    p.push_back({l + "output.dense.weight", {h, f}});
    p.push_back({l + "output.dense.bias", {h}});
    p.push_back({l + "output.LayerNorm.weight", {h}});
    p.push_back({l + "output.LayerNorm.bias", {h}});
  }
  return p;
}

at::Tensor activation(const at::Tensor& x, const std::string& act) {
  if (act == "gelu") return at::gelu(x);
  if (act == "relu") return at::relu(x);
  return at::gelu(x, "tanh");
}

// `activation` as a fused epilogue of the bf16 product.
Bf16Dense::Epilogue activation_epilogue(const std::string& act) {
  if (act == "gelu") return Bf16Dense::Epilogue::GeluErf;
  if (act == "relu") return Bf16Dense::Epilogue::Relu;
  return Bf16Dense::Epilogue::GeluTanh;
}

// Calls add(segment, c) for each delta's contribution c to the Linear at `module` for its input x (B x ...),
// segment giving the batch rows c belongs to (count -1: every row). A delta that leaves the module alone, or
// has no rows in the batch, costs one lookup.
template <typename Add>
void for_each_contribution(const at::Tensor& x, const std::string& module, const DeltaBatch& deltas,
                           const ForwardMode& mode, Add&& add) {
  for (size_t e = 0; e < deltas.deltas.size(); ++e) {
    if (!deltas.deltas[e]->adapts(module)) continue;
    if (deltas.segments.empty()) {
      add(RowSegment{0, -1}, deltas.deltas[e]->contribution(module, x, mode));
      continue;
    }
    const RowSegment s = deltas.segments[e];
    if (s.count > 0) add(s, deltas.deltas[e]->contribution(module, x.narrow(0, s.first, s.count), mode));
  }
}

// Whether any delta of the batch adds to `module` for some row.
bool adapts_any_row(const std::string& module, const DeltaBatch& deltas) {
  for (size_t e = 0; e < deltas.deltas.size(); ++e)
    if ((deltas.segments.empty() || deltas.segments[e].count > 0) && deltas.deltas[e]->adapts(module))
      return true;
  return false;
}

}  // namespace

at::Tensor dropout(const at::Tensor& x, double p, const ForwardMode& mode) {
  if (!mode.training || p <= 0) return x;
  RR_CHECK(mode.rng.defined(), Runtime, "dropout in training needs a generator (ForwardMode::rng)");
  at::Tensor noise = at::empty_like(x, at::MemoryFormat::Contiguous).bernoulli_(1 - p, mode.rng);
  noise.div_(1 - p);
  return x * noise;
}

GroupedRows group_rows_by_delta(std::vector<const LinearDelta*> deltas,
                                const std::vector<int64_t>& row_delta) {
  const int64_t n_deltas = static_cast<int64_t>(deltas.size());
  std::vector<std::vector<int64_t>> rows(deltas.size() + 1);  // rows[e + 1]: delta e's rows
  for (size_t i = 0; i < row_delta.size(); ++i) {
    const int64_t e = row_delta[i];
    RR_CHECK(e >= -1 && e < n_deltas, Runtime, "batch row {} names delta {} of {}", i, e, n_deltas);
    rows[static_cast<size_t>(e + 1)].push_back(static_cast<int64_t>(i));
  }
  GroupedRows out{{}, {std::move(deltas), std::vector<RowSegment>(static_cast<size_t>(n_deltas))}};
  for (size_t g = 0; g < rows.size(); ++g) {
    if (g > 0)
      out.batch.segments[g - 1] = {static_cast<int64_t>(out.order.size()),
                                   static_cast<int64_t>(rows[g].size())};
    out.order.insert(out.order.end(), rows[g].begin(), rows[g].end());
  }
  return out;
}

at::Generator make_generator(const c10::Device& device, uint64_t seed) {
  at::Generator g = at::globalContext().defaultGenerator(device).clone();
  g.set_current_seed(seed);
  return g;
}

at::Tensor mean_pool(const at::Tensor& hidden, const at::Tensor& attention_mask) {
  at::Tensor m = attention_mask.unsqueeze(-1).to(hidden.scalar_type());
  return (hidden * m).sum(1) / m.sum(1);
}

std::vector<std::string> bert_tensor_problems(const BertConfig& config,
                                              const std::map<std::string, std::vector<int64_t>>& shapes) {
  std::vector<std::string> problems;
  for (const auto& [name, shape] : expected_params(config)) {
    auto it = shapes.find(name);
    if (it == shapes.end())
      problems.push_back("missing " + name);
    else if (it->second != shape)
      problems.push_back(fmt::format("{} has shape [{}], config needs [{}]", name,
                                     fmt::join(it->second, ", "), fmt::join(shape, ", ")));
  }
  return problems;
}

BertEncoder::BertEncoder(BertConfig config, TensorMap params, const std::string& where)
    : config_(std::move(config)) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, t] : params) shapes[name] = t.sizes().vec();
  const auto problems = bert_tensor_problems(config_, shapes);
  if (!problems.empty())
    RR_THROW(Input, "{}: {} tensor problem(s): {}", where, problems.size(), fmt::join(problems, "; "));
  for (const auto& [name, shape] : expected_params(config_))
    params_.emplace(name, params.at(name).to(at::kFloat).contiguous());
}

BertEncoder BertEncoder::load(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) RR_THROW(Input, "{}: no such model directory", dir.string());
  BertConfig config = BertConfig::load(dir / "config.json");
  TensorMap raw;
  std::filesystem::path weights;
  if (std::filesystem::exists(dir / "model.safetensors")) {
    weights = dir / "model.safetensors";
    raw = read_safetensors(weights);
  } else if (std::filesystem::exists(dir / "pytorch_model.bin")) {
    weights = dir / "pytorch_model.bin";
    raw = read_pytorch_bin(weights);
  } else {
    RR_THROW(Input, "{}: no model.safetensors or pytorch_model.bin", dir.string());
  }
  // Accept BertModel names, or "bert."-prefixed ones (BertForMaskedLM, BertForSequenceClassification, ...).
  TensorMap params;
  std::vector<std::string> ignored;
  for (auto& [name, t] : raw) {
    std::string n = name.rfind("bert.", 0) == 0 ? name.substr(5) : name;
    if (n.rfind("embeddings.", 0) == 0 || n.rfind("encoder.", 0) == 0) {
      if (n == "embeddings.position_ids") continue;  // a buffer, not a weight
      params.emplace(n, t);
    } else {
      ignored.push_back(name);
    }
  }
  if (!ignored.empty())
    spdlog::info("{}: ignoring {} tensors that mean pooling does not use (pooler, heads): {}{}",
                 weights.string(), ignored.size(),
                 fmt::join(ignored.begin(), ignored.begin() + std::min<size_t>(4, ignored.size()), ", "),
                 ignored.size() > 4 ? ", ..." : "");
  BertEncoder model(config, std::move(params), weights.string());
  model.rule_ = read_embedding_rule(dir);
  return model;
}

BertEncoder BertEncoder::random(const BertConfig& config, uint64_t seed) {
  config.validate("random model config");
  auto gen = at::detail::createCPUGenerator(seed);
  TensorMap params;
  for (const auto& [name, shape] : expected_params(config)) {
    at::Tensor t;
    if (name.find("LayerNorm.weight") != std::string::npos)
      t = at::ones(shape);
    else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
      t = at::zeros(shape);
    else
      t = at::normal(0.0, config.initializer_range, shape, gen);
    params.emplace(name, t);
  }
  params["embeddings.word_embeddings.weight"][config.pad_token_id].zero_();
  return BertEncoder(config, std::move(params), "random model");
}

void BertEncoder::save(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  config_.save(dir / "config.json");
  write_safetensors(dir / "model.safetensors", params_);
  write_embedding_rule(dir, rule_, config_.hidden_size);
}

const at::Tensor& BertEncoder::param(const std::string& name) const {
  auto it = params_.find(name);
  if (it == params_.end()) RR_THROW(Runtime, "no parameter {}", name);
  return it->second;
}

void BertEncoder::to(const at::Device& device) {
  for (auto& [n, t] : params_) t = t.to(device);
}

at::Device BertEncoder::device() const {
  return params_.begin()->second.device();
}

void BertEncoder::set_requires_grad(bool requires_grad) {
  for (auto& [n, t] : params_) t.set_requires_grad(requires_grad);
}

std::vector<std::string> BertEncoder::linear_modules() const {
  std::vector<std::string> out;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i)
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense", "intermediate.dense", "output.dense"})
      out.push_back(layer_prefix(i) + m);
  return out;
}

std::pair<int64_t, int64_t> BertEncoder::linear_shape(const std::string& module_path) const {
  const at::Tensor& w = param(module_path + ".weight");
  return {w.size(0), w.size(1)};
}

BertEncoder BertEncoder::with_params(const TensorMap& replaced) const {
  BertEncoder m = *this;
  m.packed_slot_ = std::make_shared<PackedSlot>();
  for (const auto& [name, t] : replaced) {
    at::Tensor& w = m.params_.at(name);
    RR_CHECK(w.sizes() == t.sizes(), Runtime, "with_params: {} has shape [{}], the model [{}]", name,
             fmt::join(t.sizes(), ", "), fmt::join(w.sizes(), ", "));
    w = t;
  }
  return m;
}

at::Tensor BertEncoder::matmul_weight(const std::string& module) const {
  const at::Tensor& w = param(module + ".weight");
  const bool bf16_autocast =
      w.is_cuda() ? at::autocast::is_enabled() && at::autocast::get_autocast_gpu_dtype() == at::kBFloat16
                  : at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
  if (!bf16_autocast || w.scalar_type() != at::kFloat || w.requires_grad()) return w;
  // Inference tensors (made under InferenceMode, as loaded models are) keep no version counter; rr never
  // updates them in place.
  const uint32_t version = w.is_inference() ? 0 : w._version();
  Bf16Weight& cached = bf16_weights_[module];
  if (!cached.rounded.defined() || cached.source != w.data_ptr() || cached.version != version) {
    // The same rounding (to nearest even) as autocast's own cast, so results are bit-identical.
    cached = {w.to(at::kBFloat16), w.data_ptr(), version};
  }
  return cached.rounded;
}

at::Tensor BertEncoder::linear(const at::Tensor& x, const std::string& module, const DeltaBatch* deltas,
                               const ForwardMode& mode) const {
  at::Tensor y = invariant_linear(x, matmul_weight(module), param(module + ".bias"));
  if (!deltas) return y;
  for_each_contribution(x, module, *deltas, mode, [&](RowSegment rows, const at::Tensor& c) {
    if (rows.count < 0)
      y = y + c;
    else
      y.narrow(0, rows.first, rows.count).add_(c);  // y is this call's own output: in place is safe
  });
  return y;
}

struct BertEncoder::PackedBf16 {
  struct Layer {
    Bf16Dense qkv, attention_output, intermediate, output;
  };
  std::vector<Layer> layers;
  Bf16Attention attention;
  // Every packed weight and bias, and its version when packed (0 for inference tensors).
  std::vector<at::Tensor> sources;
  std::vector<uint32_t> versions;
};

namespace {

const char* const kPackedModules[] = {"attention.self.query",   "attention.self.key", "attention.self.value",
                                      "attention.output.dense", "intermediate.dense", "output.dense"};

}  // namespace

bool BertEncoder::runs_packed_bf16(const ForwardMode& mode) const {
  return !mode.training && !at::GradMode::is_enabled() && device().is_cpu() &&
         at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == at::kBFloat16 &&
         has_fast_bf16(device());
}

const BertEncoder::PackedBf16& BertEncoder::packed_bf16() const {
  std::vector<at::Tensor> sources;
  std::vector<uint32_t> versions;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i)
    for (const char* m : kPackedModules)
      for (const char* part : {".weight", ".bias"}) {
        sources.push_back(param(layer_prefix(i) + m + part));
        versions.push_back(sources.back().is_inference() ? 0 : sources.back()._version());
      }
  const std::shared_ptr<const PackedBf16>& cached = packed_slot_->packed;
  if (cached && cached->versions == versions &&
      std::equal(sources.begin(), sources.end(), cached->sources.begin(), cached->sources.end(),
                 [](const at::Tensor& a, const at::Tensor& b) { return a.is_same(b); }))
    return *cached;
  const auto& c = config_;
  auto packed = std::make_shared<PackedBf16>(
      PackedBf16{{},
                 Bf16Attention(c.hidden_size, c.num_attention_heads,
                               1.0 / std::sqrt(static_cast<double>(c.hidden_size / c.num_attention_heads))),
                 std::move(sources),
                 std::move(versions)});
  auto dense = [&](const std::string& l, std::initializer_list<const char*> modules) {
    std::vector<at::Tensor> weights, biases;
    for (const char* m : modules) {
      weights.push_back(param(l + m + ".weight"));
      biases.push_back(param(l + m + ".bias"));
    }
    return Bf16Dense(weights, biases);
  };
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string l = layer_prefix(i);
    packed->layers.push_back({dense(l, {kPackedModules[0], kPackedModules[1], kPackedModules[2]}),
                              dense(l, {kPackedModules[3]}), dense(l, {kPackedModules[4]}),
                              dense(l, {kPackedModules[5]})});
  }
  packed_slot_->packed = std::move(packed);
  return *packed_slot_->packed;
}

at::Tensor BertEncoder::packed_bf16_layers(at::Tensor h, const at::Tensor& mask, const DeltaBatch* deltas,
                                           const ForwardMode& mode) const {
  const PackedBf16& packed = packed_bf16();
  const auto& c = config_;
  const int64_t B = h.size(0), T = h.size(1), H = c.hidden_size, M = B * T;
  const auto bf16 = h.options().dtype(at::kBFloat16);
  const at::Tensor mask_bias =
      (1.0 - mask.to(at::kFloat)).mul(std::numeric_limits<float>::lowest()).contiguous();
  // Adds the deltas' contributions for input x (M x in) to y (M x out, a view is fine), in place.
  auto add_deltas = [&](const at::Tensor& y, const at::Tensor& x, const std::string& module) {
    const at::Tensor y3 = y.view({B, T, y.size(1)});
    for_each_contribution(x.view({B, T, x.size(1)}), module, *deltas, mode,
                          [&](RowSegment rows, const at::Tensor& d) {
                            if (rows.count < 0)
                              y3.add_(d);
                            else
                              y3.narrow(0, rows.first, rows.count).add_(d.to(y.scalar_type()));
                          });
  };
  h = h.reshape({M, H}).contiguous();  // the fp32 residual stream
  at::Tensor x = h.to(at::kBFloat16);  // its bf16 rounding, the products' input
  at::Tensor qkv = at::empty({M, 3 * H}, bf16), ctx = at::empty({M, H}, bf16);
  at::Tensor f = at::empty({M, c.intermediate_size}, bf16);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string l = layer_prefix(i);
    const PackedBf16::Layer& layer = packed.layers[static_cast<size_t>(i)];
    layer.qkv.forward(x, Bf16Dense::Epilogue::None, qkv);
    if (deltas)
      for (int64_t j = 0; j < 3; ++j) add_deltas(qkv.narrow(1, j * H, H), x, l + kPackedModules[j]);
    packed.attention.forward(qkv, mask_bias, ctx);
    layer.attention_output.forward(ctx, Bf16Dense::Epilogue::Accumulate, h);  // h += ctx W^T + b
    if (deltas) add_deltas(h, ctx, l + kPackedModules[3]);
    h = invariant_layer_norm(h, param(l + "attention.output.LayerNorm.weight"),
                             param(l + "attention.output.LayerNorm.bias"), c.layer_norm_eps);
    x = h.to(at::kBFloat16);
    if (!deltas || !adapts_any_row(l + kPackedModules[4], *deltas)) {
      layer.intermediate.forward(x, activation_epilogue(c.hidden_act), f);
    } else {  // the deltas come before the activation: not fused
      at::Tensor pre = at::empty({M, c.intermediate_size}, h.options());
      layer.intermediate.forward(x, Bf16Dense::Epilogue::None, pre);
      add_deltas(pre, x, l + kPackedModules[4]);
      f = activation(pre, c.hidden_act).to(at::kBFloat16);
    }
    layer.output.forward(f, Bf16Dense::Epilogue::Accumulate, h);  // h += f W^T + b
    if (deltas) add_deltas(h, f, l + kPackedModules[5]);
    h = invariant_layer_norm(h, param(l + "output.LayerNorm.weight"), param(l + "output.LayerNorm.bias"),
                             c.layer_norm_eps);
    if (i + 1 < c.num_hidden_layers) x = h.to(at::kBFloat16);
  }
  return h.view({B, T, H});
}

at::Tensor BertEncoder::forward(const at::Tensor& ids, const at::Tensor& mask, const DeltaBatch* deltas,
                                const ForwardMode& mode) const {
  const auto& c = config_;
  RR_CHECK(ids.dim() == 2 && mask.sizes() == ids.sizes(), Runtime,
           "forward: input_ids and attention_mask must be B x T");
  const int64_t B = ids.size(0), T = ids.size(1), H = c.hidden_size, nh = c.num_attention_heads, dh = H / nh;
  RR_CHECK(T <= c.max_position_embeddings, Input, "sequence of {} tokens exceeds max_position_embeddings {}",
           T, c.max_position_embeddings);
  const double hp = mode.training ? c.hidden_dropout_prob : 0.0,
               ap = mode.training ? c.attention_probs_dropout_prob : 0.0;
  at::Tensor positions = at::arange(T, ids.options());
  at::Tensor h = at::embedding(param("embeddings.word_embeddings.weight"), ids) +
                 at::embedding(param("embeddings.position_embeddings.weight"), positions).unsqueeze(0) +
                 param("embeddings.token_type_embeddings.weight")[0];
  h = invariant_layer_norm(h, param("embeddings.LayerNorm.weight"), param("embeddings.LayerNorm.bias"),
                           c.layer_norm_eps);
  if (hp > 0) h = dropout(h, hp, mode);
  if (runs_packed_bf16(mode)) return packed_bf16_layers(h, mask, deltas, mode);
  // HF's extended attention mask: 0 where attended, the float minimum where padded.
  at::Tensor bias =
      (1.0 - mask.to(h.scalar_type())).mul(std::numeric_limits<float>::lowest()).view({B, 1, 1, T});
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string l = layer_prefix(i);
    auto heads = [&](const at::Tensor& t) { return t.view({B, T, nh, dh}).permute({0, 2, 1, 3}); };
    at::Tensor q = heads(linear(h, l + "attention.self.query", deltas, mode));
    at::Tensor k = heads(linear(h, l + "attention.self.key", deltas, mode));
    at::Tensor v = heads(linear(h, l + "attention.self.value", deltas, mode));
    at::Tensor probs = at::softmax(invariant_matmul(q, k.transpose(-1, -2)).mul(scale) + bias, -1);
    if (ap > 0) probs = dropout(probs, ap, mode);
    at::Tensor ctx = invariant_matmul(probs, v).permute({0, 2, 1, 3}).reshape({B, T, H});
    at::Tensor a = linear(ctx, l + "attention.output.dense", deltas, mode);
    if (hp > 0) a = dropout(a, hp, mode);
    h = invariant_layer_norm(a + h, param(l + "attention.output.LayerNorm.weight"),
                             param(l + "attention.output.LayerNorm.bias"), c.layer_norm_eps);
    at::Tensor f = activation(linear(h, l + "intermediate.dense", deltas, mode), c.hidden_act);
    at::Tensor o = linear(f, l + "output.dense", deltas, mode);
    if (hp > 0) o = dropout(o, hp, mode);
    h = invariant_layer_norm(o + h, param(l + "output.LayerNorm.weight"), param(l + "output.LayerNorm.bias"),
                             c.layer_norm_eps);
  }
  return h;
}

at::Tensor BertEncoder::embed(const at::Tensor& ids, const at::Tensor& mask, const DeltaBatch* deltas,
                              const ForwardMode& mode, const EmbeddingOptions* rule) const {
  const EmbeddingOptions& r = rule ? *rule : rule_;
  at::Tensor h = forward(ids, mask, deltas, mode);
  at::Tensor e = r.pooling == Pooling::Mean ? mean_pool(h, mask) : h.select(1, 0);
  if (r.normalize) e = e / e.norm(2, -1, true).clamp_min(1e-12);
  return e;
}

}  // namespace rr
