// train-base: rr's own base encoder, trained from scratch when base.train is set: a WordPiece vocabulary
// learned from every corpus (rank 0), then crop-contrastive training over all ranks; saved in Hugging Face's
// format at base.path.
#include <spdlog/spdlog.h>

#include "common/atomic_output.h"
#include "common/error.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/stage.h"
#include "mpi/stages/train_record.h"
#include "text/wordpiece_trainer.h"
#include "train/base_trainer.h"

namespace rr::stages {

namespace {

std::vector<int32_t> body_tokens(const BertTokenizer& tok, const std::string& text, int64_t max_length) {
  auto ids = tok.encode(text, max_length);
  return std::vector<int32_t>(ids.begin() + 1, ids.end() - 1);
}

void learn_vocabulary(const std::vector<Dataset>& corpora, int64_t size, const std::filesystem::path& out) {
  WordPieceTrainerParams wp;
  wp.vocab_size = size;
  WordPieceTrainer trainer(wp);
  for (const auto& d : corpora)
    for (const auto& doc : d.corpus) trainer.add_text(doc.encoder_text());
  const auto vocab = trainer.train();
  AtomicFile f(out);
  for (const auto& v : vocab) f.stream() << v << "\n";
  f.commit();
  spdlog::info("train base: vocabulary of {} pieces", vocab.size());
}

BertConfig model_config(const BaseTrainingConfig& cfg, const BertTokenizer& tok) {
  BertConfig bc;
  bc.vocab_size = tok.vocab_size();
  bc.hidden_size = cfg.hidden_size;
  bc.num_hidden_layers = cfg.layers;
  bc.num_attention_heads = cfg.heads;
  bc.intermediate_size = cfg.intermediate_size;
  bc.max_position_embeddings = cfg.max_positions;
  bc.pad_token_id = tok.pad_id();
  return bc;
}

void save_base(const BertEncoder& model, const std::filesystem::path& work, const std::filesystem::path& out,
               const std::string& fp, const TrainCurve& curve) {
  AtomicDirectory dir(out);
  model.save(dir.temp_path());
  std::filesystem::copy_file(work / "vocab.txt", dir.temp_path() / "vocab.txt");
  {
    AtomicFile f(dir.temp_path() / "tokenizer_config.json");
    f.stream() << "{\"do_lower_case\": true, \"tokenizer_class\": \"BertTokenizer\"}\n";
    f.commit();
  }
  write_train_record(dir.temp_path(), fp, curve);
  dir.commit();
  spdlog::info("train base: saved {} (Hugging Face format)", out.string());
}

}  // namespace

void train_base(Context& ctx, const StageOptions& options) {
  if (!ctx.exp.base.train) {
    if (ctx.root()) spdlog::info("train base: base.train is false; using {}", ctx.exp.base_path().string());
    return;
  }
  const auto& cfg = ctx.exp.base.training;
  const std::string fp = base_fingerprint(ctx.exp);
  const auto out = ctx.exp.base_path();
  if (!options.force && recorded_fingerprint(out) == fp) {
    if (ctx.root()) spdlog::info("train base: {} is up to date", out.string());
    return;
  }
  const auto work = ctx.exp.output() / "checkpoints" / "base";
  std::vector<Dataset> loaded;
  for (const auto& d : ctx.exp.datasets) loaded.push_back(load_corpus(d));
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    std::filesystem::create_directories(work);
    learn_vocabulary(loaded, cfg.vocab_size, work / "vocab.txt");
  });
  BertTokenizer tok(work / "vocab.txt");
  std::vector<std::vector<int32_t>> docs, titles;
  for (const auto& d : loaded)
    for (const auto& doc : d.corpus) {
      docs.push_back(body_tokens(tok, doc.encoder_text(), 512));
      // The title's tokens begin encoder_text() (title, then text), so a title pair crops only the text.
      if (cfg.title_pairs > 0) titles.push_back(body_tokens(tok, doc.title, 512));
    }
  BertEncoder model = BertEncoder::random(model_config(cfg, tok), ctx.exp.seed);
  model.to(ctx.device);
  BaseTrainerOptions o;
  o.config = cfg;
  o.seed = ctx.exp.seed;
  o.checkpoint_dir = work / "state";
  o.inputs = fp;
  o.cls_id = tok.cls_id();
  o.sep_id = tok.sep_id();
  o.pad_id = tok.pad_id();
  MpiCollectives coll(ctx.world);
  if (ctx.root())
    spdlog::info("train base: {} documents, {} layers x {} hidden, batch {}, {} steps", docs.size(),
                 cfg.layers, cfg.hidden_size, cfg.batch_size, cfg.steps);
  TrainCurve curve;  // every rank stops at the same step on request: agreed, so the job ends normally
  mpi::collective_try(ctx.world, [&] { curve = rr::train_base(model, docs, titles, o, coll); });
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    save_base(model, work, out, fp, curve);
    store_curves(ctx, {{"base", out}});
  });
}

}  // namespace rr::stages
