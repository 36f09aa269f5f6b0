// train-base: rr's own base encoder, trained from scratch when base.train is set: a WordPiece vocabulary
// learned from every corpus (rank 0), then crop-contrastive training over all ranks; saved in Hugging Face's
// format at base.path.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

#include "common/atomic_output.h"
#include "common/error.h"
#include "common/stable_hash.h"
#include "eval/dense_eval.h"
#include "mpi/mpi_collectives.h"
#include "mpi/stages/datasets.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/ledger.h"
#include "mpi/stages/models.h"
#include "mpi/stages/train_record.h"
#include "search/bm25.h"
#include "search/flat_index.h"
#include "text/wordpiece_trainer.h"
#include "train/base_trainer.h"

namespace rr::stages {

namespace {

// The trained base must beat its untrained initial weights on the held-back slices by this much nDCG@10.
constexpr double kMinGainOverUntrained = 0.01;

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

// nDCG@10 of `top` (rows of `corpus`) against the judgments, BEIR's way.
double ndcg10(const TopK& top, const std::vector<std::string>& qids, const std::vector<std::string>& doc_ids,
              const Qrels& qrels, bool ignore_identical_ids) {
  static const MeasureSet kNdcg10({"ndcg_cut.10"});
  return evaluate_run(kNdcg10, topk_to_run(top, qids, doc_ids, 10, ignore_identical_ids), qrels).mean[0];
}

// nDCG@10 means over the datasets that have dev queries: the trained base, an untrained one, BM25.
struct HeldBack {
  double base = 0, untrained = 0, bm25 = 0;
  int datasets = 0;
};

// How good the new base is, at once (rank 0): on each dataset's dev queries (at most 200; never the test
// split) over a slice of its corpus (their judged documents plus a seeded sample, at most 5,000), the base's
// nDCG@10 beside an untrained encoder's (the same initial weights and embedding rule) and unstemmed BM25's.
HeldBack held_back_check(const Context& ctx, const BertEncoder& model, const BertEncoder& untrained,
                         const BertTokenizer& tok, std::vector<Dataset>& loaded) {
  constexpr size_t kQueries = 200, kDocs = 5000;
  const bool drop_own = ctx.exp.evaluation.ignore_identical_ids;
  HeldBack sum;
  for (auto& d : loaded) {
    try {
      load_query_sets(*d.config, ctx.exp.seed, d);
    } catch (const Error& e) {
      spdlog::warn("train base: no held-back check on {}: {}", d.config->name, e.what());
      continue;
    }
    if (d.dev.empty()) continue;
    std::vector<std::string> qids, qtexts;
    Qrels qrels;
    std::unordered_set<std::string> judged;
    for (size_t i = 0; i < std::min(kQueries, d.dev.queries.size()); ++i) {
      const auto& q = d.dev.queries[i];
      qids.push_back(q.id);
      qtexts.push_back(q.text);
      qrels[q.id] = d.dev.qrels.at(q.id);
      for (const auto& [doc, rel] : qrels[q.id]) judged.insert(doc);
    }
    std::vector<std::pair<uint64_t, size_t>> order;  // judged documents first, then a seeded sample
    for (size_t i = 0; i < d.corpus.size(); ++i)
      order.push_back(
          {judged.count(d.corpus[i].id) ? 0 : 1 + stable_hash(d.corpus[i].id, ctx.exp.seed) / 2, i});
    const size_t keep = std::min(kDocs, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<int64_t>(keep), order.end());
    order.resize(keep);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    std::vector<std::string> doc_ids, texts;
    for (const auto& [key, i] : order)
      doc_ids.push_back(d.corpus[i].id), texts.push_back(d.corpus[i].encoder_text());
    const std::vector<int64_t> tie = tie_keys(doc_ids);
    const TokenIds doc_tokens = tokenize_all(tok, texts, ctx.exp.evaluation.max_doc_length);
    const TokenIds query_tokens = tokenize_all(tok, qtexts, ctx.exp.evaluation.max_query_length);
    auto dense = [&](const BertEncoder& m) {
      const FlatIndex docs(encode_ids(m, doc_tokens, doc_params(ctx.exp)).contiguous(), tie, 0, {});
      const at::Tensor queries = encode_ids(m, query_tokens, query_params(ctx.exp)).contiguous();
      const SearchQueries q{queries.data_ptr<float>(), queries.size(1), nullptr, queries.size(0)};
      return ndcg10(docs.search(q, 11), qids, doc_ids, qrels, drop_own);
    };
    const Bm25Index bm25(texts, tie, {ctx.exp.evaluation.bm25_k1, ctx.exp.evaluation.bm25_b});
    const double base = dense(model), random = dense(untrained);
    const SearchQueries texts_only{nullptr, 0, qtexts.data(), static_cast<int64_t>(qtexts.size())};
    const double lexical = ndcg10(bm25.search(texts_only, 11), qids, doc_ids, qrels, drop_own);
    spdlog::info(
        "train base: held-back check on {} ({} dev queries, {} documents): nDCG@10 base {:.1f}, untrained "
        "{:.1f}, "
        "BM25 {:.1f}",
        d.config->name, qids.size(), doc_ids.size(), 100 * base, 100 * random, 100 * lexical);
    sum.base += base, sum.untrained += random, sum.bm25 += lexical, ++sum.datasets;
  }
  if (sum.datasets > 0) {
    sum.base /= sum.datasets, sum.untrained /= sum.datasets, sum.bm25 /= sum.datasets;
    spdlog::info("train base: held-back mean nDCG@10 base {:.1f} ({:.0f}% of BM25 {:.1f}), untrained {:.1f}",
                 100 * sum.base, sum.bm25 > 0 ? 100 * sum.base / sum.bm25 : 0.0, 100 * sum.bm25,
                 100 * sum.untrained);
  }
  return sum;
}

void train_base(Context& ctx, const StageOptions& options) {
  if (!ctx.exp.base.train) {
    if (ctx.root()) spdlog::info("train base: base.train is false; using {}", ctx.exp.base_path().string());
    return;
  }
  const auto& cfg = ctx.exp.base.training;
  const std::string fp = base_fingerprint(ctx.exp);
  const auto out = ctx.exp.base_path();
  if (!options.force && Ledger(ctx.exp).model_done(out, fp)) {
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
  BertEncoder untrained = BertEncoder::random(model_config(cfg, tok), ctx.exp.seed);
  BaseTrainerOptions o;
  o.config = cfg;
  o.seed = ctx.exp.seed;
  o.checkpoint_dir = work / "state";
  o.inputs = fp;
  o.cls_id = tok.cls_id();
  o.sep_id = tok.sep_id();
  o.pad_id = tok.pad_id();
  for (const char* mark : {".", "?", "!"})
    if (const int32_t id = tok.token_id(mark); id >= 0) o.sentence_ends.push_back(id);
  mpi::MpiCollectives coll(ctx.world);
  if (ctx.root())
    spdlog::info("train base: {} documents, {} layers x {} hidden, batch {}, {} steps", docs.size(),
                 cfg.layers, cfg.hidden_size, cfg.batch_size, cfg.steps);
  TrainCurve curve;  // every rank stops at the same step on request: agreed, so the job ends normally
  mpi::collective_try(ctx.world, [&] { curve = rr::train_base(model, docs, titles, o, coll); });
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    untrained.set_embedding_rule(model.embedding_rule());
    untrained.to(ctx.device);
    const HeldBack held = held_back_check(ctx, model, untrained, tok, loaded);
    // A collapsed base (loss at chance is caught earlier) can still rank no better than its own initial
    // weights: every expert, router and table downstream would be computed on it.
    RR_CHECK(
        held.datasets == 0 || held.base >= held.untrained + kMinGainOverUntrained, Runtime,
        "train base: on the held-back dev queries the trained base's mean nDCG@10 is {:.1f}, the untrained "
        "encoder's {:.1f} (BM25 {:.1f}): training made nothing usable and no model was written. Try cosine "
        "similarity (normalize: true), a lower lr, lexical_pairs or title_pairs (experiments/README.md)",
        100 * held.base, 100 * held.untrained, 100 * held.bm25);
    save_base(model, work, out, fp, curve);
    store_curves(ctx, {{"base", out}});
  });
}

}  // namespace

StageDefinition train_base_stage() {
  return {"train rr's own base encoder from scratch (when base.train is set)",
          base_fingerprint,
          train_base,
          UnitKind::Checkpoint,
          "every corpus (base.train), or the given model's files",
          "M × 4 (weights, gradients, AdamW) + the corpora's text"};
}

}  // namespace rr::stages
