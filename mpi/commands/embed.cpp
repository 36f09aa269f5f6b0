// routerretriever embed: HF-identical embeddings of JSON-lines texts by a base model and optional LoRA
// adapter.
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <ATen/core/Tensor.h>

#include <cstdio>
#include <optional>

#include "common/error.h"
#include "common/log.h"
#include "common/runtime_info.h"
#include "config/experiment.h"
#include "data/json_text.h"
#include "data/jsonl_reader.h"
#include "model/device.h"
#include "model/lora_expert.h"
#include "model/text_encoder.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"

namespace rr::commands {

namespace {

EncodeParams encode_params(const cli::po::variables_map& vm, const BertConfig& config,
                           const EmbeddingOptions& model_rule) {
  EncodeParams p;
  p.max_length = vm["max-length"].as<int64_t>();
  p.max_batch = vm["batch-size"].as<int64_t>();
  p.token_budget = vm["token-budget"].as<int64_t>();
  p.bf16 = parse_precision(vm["precision"].as<std::string>(), "--precision");
  const std::string pooling = vm["pooling"].as<std::string>();
  RR_CHECK(pooling == "model" || pooling == "mean" || pooling == "cls", Usage,
           "--pooling must be model, mean or cls, got '{}'", pooling);
  if (pooling != "model" || vm["normalize"].as<bool>()) {
    EmbeddingOptions rule = model_rule;
    if (pooling != "model") rule.pooling = pooling == "mean" ? Pooling::Mean : Pooling::Cls;
    rule.normalize = rule.normalize || vm["normalize"].as<bool>();
    p.embedding = rule;
  }
  RR_CHECK(p.max_length >= 2 && p.max_length <= config.max_position_embeddings, Usage,
           "--max-length must be in [2, {}] (the model's positions), got {}", config.max_position_embeddings,
           p.max_length);
  return p;
}

// Reads the texts in chunks, embeds each chunk and prints one JSON line per text, in input order.
void stream_embeddings(const std::filesystem::path& input, const BertTokenizer& tokenizer,
                       const BertEncoder& model, const std::vector<const QueryModel*>& models,
                       const EncodeParams& p) {
  JsonLinesReader reader(input);
  Progress progress("embed", -1, "texts");
  constexpr size_t kChunk = 16384;
  bool more = true;
  while (more) {
    std::vector<TextRecord> recs;
    TextRecord rec;
    while (recs.size() < kChunk && (more = reader.next(rec))) recs.push_back(std::move(rec));
    std::vector<std::string> texts;
    for (const auto& r : recs) texts.push_back(r.encoder_text());
    TokenIds ids;
    try {
      ids = tokenize_all(tokenizer, texts, p.max_length);
    } catch (const Error& e) {
      RR_THROW(Input, "{}: {}", reader.path().string(), e.what());
    }
    at::Tensor emb = encode_ids(model, ids, p, models, {}, &progress);
    const float* e = emb.data_ptr<float>();
    const int64_t H = emb.size(1);
    std::string out;
    for (size_t i = 0; i < recs.size(); ++i) {
      out.clear();
      out += "{\"id\": ";
      append_json_string(out, recs[i].id);
      fmt::format_to(std::back_inserter(out), ", \"input_ids\": [{}], \"embedding\": [{}]}}\n",
                     fmt::join(ids[i], ", "), fmt::join(e + i * H, e + (i + 1) * H, ", "));
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
  }
}

}  // namespace

int embed(const Args& args) {
  cli::po::options_description opt("embed options");
  opt.add_options()("model", cli::po::value<std::string>(),
                    "Hugging Face model directory (config.json, vocab.txt, weights)")(
      "adapter", cli::po::value<std::string>(),
      "PEFT LoRA adapter directory (adapter_config.json, adapter_model.*)")(
      "input", cli::po::value<std::string>(), "JSON lines with id (or _id), text and optional title")(
      "max-length", cli::po::value<int64_t>()->default_value(512), "ids per text, [CLS] and [SEP] included")(
      "batch-size", cli::po::value<int64_t>()->default_value(64), "texts per forward pass at most")(
      "token-budget", cli::po::value<int64_t>()->default_value(16384),
      "padded tokens per forward pass at most")(
      "pooling", cli::po::value<std::string>()->default_value("model"),
      "model (the directory's modules.json; none: mean, as Contriever), mean or cls")(
      "normalize", cli::po::bool_switch(), "L2-normalise the embeddings (also when modules.json says so)")(
      "precision", cli::po::value<std::string>()->default_value("fp32"),
      "fp32, or bf16: matrix products in bfloat16 (needs AVX512_BF16/AMX or CUDA)")(
      "device", cli::po::value<std::string>()->default_value("cpu"), "cpu, cuda or cuda:<index>");
  cli::po::variables_map vm;
  if (!cli::parse(
          {"embed", "--model DIR [--adapter DIR] --input F.jsonl [--max-length N] [--batch-size B]",
           "Prints one JSON line {\"id\", \"input_ids\", \"embedding\"} per input text, in input order.\n"
           "Texts are batched by length (least padding); the numbers do not depend on the batching."},
          opt, args, vm))
    return 0;
  log_runtime();
  const auto device = parse_device(vm["device"].as<std::string>());
  std::filesystem::path model_dir = cli::required<std::string>(vm, "model");
  BertTokenizer tokenizer = BertTokenizer::from_directory(model_dir);
  BertEncoder model = BertEncoder::load(model_dir);
  model.to(device);
  std::unique_ptr<QueryModel> adapter;
  if (vm.count("adapter"))
    adapter = std::make_unique<LoraExpert>(model, LoraAdapter::load(vm["adapter"].as<std::string>(), model));
  const EncodeParams p = encode_params(vm, model.config(), model.embedding_rule());
  std::vector<const QueryModel*> models;
  if (adapter) models.push_back(adapter.get());
  stream_embeddings(cli::required<std::string>(vm, "input"), tokenizer, model, models, p);
  return 0;
}

}  // namespace rr::commands
