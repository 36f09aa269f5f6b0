#include "mpi/stages/datasets.h"

#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "common/fingerprint.h"
#include "common/stable_hash.h"
#include "mpi/stages/fingerprints.h"
#include "search/search_layout.h"

namespace rr::stages {

namespace {

// The queries of `queries_file` judged in `qrels_file` (file order), or an empty set when the qrels file is
// absent. Without `texts`, the queries keep their ids only.
QuerySet read_query_set(const std::filesystem::path& queries_file, const std::filesystem::path& qrels_file,
                        const std::filesystem::path& dir, bool texts = true) {
  QuerySet set;
  if (!std::filesystem::exists(qrels_file)) return set;
  set.qrels = read_qrels_tsv(qrels_file);
  set.queries_file = queries_file;
  // Streamed: only the judged queries are kept (never the whole file at once).
  set.queries.reserve(set.qrels.size());
  for_each_query(queries_file, [&](TextRecord&& q) {
    if (!set.qrels.count(q.id)) return;
    if (!texts) q = TextRecord{.id = std::move(q.id), .title = {}, .text = {}, .line = q.line, .extra = {}};
    set.queries.push_back(std::move(q));
  });
  if (set.queries.size() != set.qrels.size()) {
    std::unordered_set<std::string> known;
    for (const auto& q : set.queries) known.insert(q.id);
    check_qrels_queries(qrels_file, known, queries_file);  // names the first unknown query's line
  }
  set.origin = std::filesystem::relative(qrels_file, dir).string();
  return set;
}

QuerySet training_set(const DatasetConfig& c, bool texts = true) {
  const std::filesystem::path dir = c.path;
  const auto from_prefix = [&](const std::string& prefix) {
    return read_query_set(beir_queries_path(dir, prefix), beir_qrels_path(dir, c.train_split, prefix), dir,
                          texts);
  };
  switch (c.train_source.kind) {
    case TrainSource::Kind::Qrels:
      return read_query_set(dir / "queries.jsonl", beir_qrels_path(dir, c.train_split), dir, texts);
    case TrainSource::Kind::Prefix:
      RR_CHECK(std::filesystem::exists(beir_qrels_path(dir, c.train_split, c.train_source.prefix)), Input,
               "dataset '{}': train_source '{}' needs {} and {}", c.name, c.train_source.prefix,
               beir_queries_path(dir, c.train_source.prefix).string(),
               beir_qrels_path(dir, c.train_split, c.train_source.prefix).string());
      return from_prefix(c.train_source.prefix);
    case TrainSource::Kind::Auto:
      if (std::filesystem::exists(beir_qrels_path(dir, c.train_split)))
        return read_query_set(dir / "queries.jsonl", beir_qrels_path(dir, c.train_split), dir, texts);
      return from_prefix("gen");
    case TrainSource::Kind::None:
      break;
  }
  return {};
}

// Moves a seeded sample of `n` training queries (at most a tenth) into a dev set.
QuerySet hold_out(QuerySet& train, int64_t n, uint64_t seed) {
  n = std::min<int64_t>(n, static_cast<int64_t>(train.queries.size()) / 10);
  QuerySet dev;
  if (n <= 0) return dev;
  std::vector<std::pair<uint64_t, std::string>> order;
  for (const auto& q : train.queries) order.push_back({stable_hash(q.id, seed ^ 0xde7), q.id});
  std::nth_element(order.begin(), order.begin() + (n - 1), order.end());
  std::unordered_set<std::string> chosen;
  for (int64_t i = 0; i < n; ++i) chosen.insert(order[i].second);
  std::vector<TextRecord> kept;
  kept.reserve(train.queries.size() - static_cast<size_t>(n));
  for (auto& q : train.queries) {
    if (!chosen.count(q.id)) {
      kept.push_back(std::move(q));
      continue;
    }
    dev.qrels[q.id] = train.qrels.at(q.id);
    train.qrels.erase(q.id);
    dev.queries.push_back(std::move(q));
  }
  train.queries = std::move(kept);
  dev.origin = fmt::format("hold-out of {} of the training queries ({})", n, train.origin);
  return dev;
}

// Whether the dev queries are a hold-out of the training queries (else a split of their own, or none).
bool dev_is_hold_out(const DatasetConfig& c) {
  const std::filesystem::path dir = c.path;
  const bool split_usable =
      c.dev_split != c.test_split && std::filesystem::exists(beir_qrels_path(dir, c.dev_split));
  if (c.dev_source == DevSource::Split || (c.dev_source == DevSource::Auto && split_usable)) return false;
  return c.dev_source == DevSource::HoldOut || c.dev_source == DevSource::Auto;
}

}  // namespace

void load_query_sets(const DatasetConfig& c, uint64_t seed, Dataset& d) {
  const std::filesystem::path dir = c.path;
  d.test = read_query_set(dir / "queries.jsonl", beir_qrels_path(dir, c.test_split), dir);
  d.train = training_set(c);
  if (dev_is_hold_out(c))
    d.dev = hold_out(d.train, c.dev_holdout, seed);
  else if (c.dev_source != DevSource::None)
    d.dev = read_query_set(dir / "queries.jsonl", beir_qrels_path(dir, c.dev_split), dir);
}

TrainingBlocks load_training_blocks(const DatasetConfig& c, uint64_t seed,
                                    const std::function<bool(int64_t)>& mine, bool all_ids) {
  QuerySet train = training_set(c, /*texts=*/false);  // ids only: the training set's order
  if (dev_is_hold_out(c)) hold_out(train, c.dev_holdout, seed);
  TrainingBlocks out;
  out.size = static_cast<int64_t>(train.queries.size());
  out.origin = train.origin;
  std::unordered_map<std::string, int64_t> wanted;
  for (int64_t row = 0; row < out.size; ++row) {
    const std::string& id = train.queries[static_cast<size_t>(row)].id;
    if (all_ids) out.ids.push_back(id);
    if (!mine(row / kQueryBlock)) continue;
    wanted.emplace(id, row);
    out.qrels[id] = std::move(train.qrels.at(id));
  }
  const std::filesystem::path queries_file = train.queries_file;
  train = QuerySet{};
  if (wanted.empty()) return out;
  for_each_query(queries_file, [&](TextRecord&& q) {  // the second pass: my blocks' texts
    if (const auto it = wanted.find(q.id); it != wanted.end()) out.queries.emplace(it->second, std::move(q));
  });
  return out;
}

std::string no_training_data_message(const DatasetConfig& c) {
  const std::filesystem::path dir = c.path;
  return fmt::format(
      "dataset '{}' has an expert but no training queries (train_source '{}'): give it (1) judged training "
      "queries in {}, or (2) generated queries {} + {} (`routerretriever convert beir-generated` writes them "
      "from "
      "BeIR/<name>-generated-queries), or (3) the released code's train.json (`routerretriever convert "
      "released`, "
      "then train_source \"released\")",
      c.name, c.train_source.kind == TrainSource::Kind::Prefix ? c.train_source.prefix : "auto",
      beir_qrels_path(dir, c.train_split).string(), beir_queries_path(dir, "gen").string(),
      beir_qrels_path(dir, c.train_split, "gen").string());
}

Dataset load_corpus(const DatasetConfig& config) {
  Dataset d;
  d.config = &config;
  const std::filesystem::path dir = config.path;
  RR_CHECK(std::filesystem::is_directory(dir), Input, "dataset '{}': {} does not exist (run `prepare` first)",
           config.name, dir.string());
  d.corpus = read_corpus(dir / "corpus.jsonl");
  for (const auto& doc : d.corpus) d.corpus_ids.push_back(doc.id);
  return d;
}

CorpusMap open_corpus_map(const Context& ctx, const DatasetConfig& config) {
  const std::filesystem::path corpus = std::filesystem::path(config.path) / "corpus.jsonl";
  const std::filesystem::path map = ctx.exp.output() / "corpora" / (config.name + ".h5");
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    RR_CHECK(std::filesystem::exists(corpus), Input, "dataset '{}': {} does not exist (run `prepare` first)",
             config.name, corpus.string());
    const std::string fp = fingerprint(dataset_fingerprint(ctx.exp, config) + "|" + file_identity(corpus));
    if (CorpusMap::recorded_fingerprint(map) == fp) return;
    spdlog::info("{}: mapping its corpus (one pass over {})", config.name, corpus.string());
    CorpusMap::build(corpus, map, fp);
  });
  return CorpusMap(map, corpus);
}

HitIds hit_ids(const TopK& top, const CorpusMap& map) {
  HitIds h{top, {}, {}};
  for (int64_t d : top.doc)
    if (d >= 0) h.rows.push_back(d);
  std::sort(h.rows.begin(), h.rows.end());
  h.rows.erase(std::unique(h.rows.begin(), h.rows.end()), h.rows.end());
  for (int64_t& d : h.top.doc)
    if (d >= 0) d = std::lower_bound(h.rows.begin(), h.rows.end(), d) - h.rows.begin();
  h.ids = map.ids(h.rows);
  return h;
}

}  // namespace rr::stages
