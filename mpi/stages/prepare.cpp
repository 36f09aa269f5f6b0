// prepare: make each dataset's BEIR folder (through its source format) and split its judged queries into
// train/dev/test by a seeded hash of the query id, then map each corpus (mpi/stages/datasets.h's
// open_corpus_map). Rank 0 works; every rank learns the outcome.
#include <spdlog/spdlog.h>

#include <unordered_set>

#include "common/atomic_output.h"
#include "common/error.h"
#include "data/beir.h"
#include "data/split.h"
#include "mpi/stages/datasets.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/ledger.h"

namespace rr::stages {

namespace {

// Moves a converter's output folder (tmp/converted) into tmp itself.
void adopt_converted(const std::filesystem::path& tmp) {
  for (const char* f : {"corpus.jsonl", "queries.jsonl", "qrels"})
    std::filesystem::rename(tmp / "converted" / f, tmp / f);
  std::filesystem::remove_all(tmp / "converted");
}

// Splits the judged queries of qrels/<all_split>.tsv into the dataset's train/dev/test files.
void split_queries(const DatasetConfig& d, const std::filesystem::path& dir, const std::string& all_split,
                   uint64_t seed) {
  Qrels all = read_qrels_tsv(dir / "qrels" / (all_split + ".tsv"));
  Qrels parts[3];
  for (const auto& [qid, judged] : all) parts[static_cast<int>(split_of(qid, seed, d.split))][qid] = judged;
  const std::string names[3] = {d.train_split, d.dev_split, d.test_split};
  for (int i = 0; i < 3; ++i)
    if (!parts[i].empty()) write_qrels_tsv(dir / "qrels" / (names[i] + ".tsv"), parts[i]);
  spdlog::info("prepare: {}: judged queries split {} train / {} dev / {} test (seed {})", d.name,
               parts[0].size(), parts[1].size(), parts[2].size(), seed);
}

// A source's query files parse (ids unique, texts present) and every query its judgments name is one of them:
// found here, naming the source file and line, not by the first stage that trains on them.
void check_source_queries(const DatasetConfig& d) {
  const auto files = d.source->files();
  for (const auto& q : files) {
    if (!q.name.ends_with("queries.jsonl")) continue;
    const std::string prefix = q.name.substr(0, q.name.size() - std::string("queries.jsonl").size());
    std::unordered_set<std::string> ids;
    for_each_query(q.path, [&](TextRecord&& r) { ids.insert(std::move(r.id)); });
    for (const auto& j : files)
      if (j.name.starts_with(prefix + "qrels/")) check_qrels_queries(j.path, ids, q.path);
  }
}

void prepare_one(const Experiment& exp, const DatasetConfig& d, bool force) {
  const std::filesystem::path out = d.path;
  const std::string fp = dataset_fingerprint(exp, d);
  const Ledger ledger(exp);
  if (!force && ledger.folder_done(out, fp)) {
    spdlog::info("prepare: {} is up to date", d.name);
    return;
  }
  check_source_queries(d);
  AtomicDirectory dir(out);
  const auto tmp = dir.temp_path();
  const SourceFormat::Written written = d.source->write_beir(tmp / "converted", d.name, exp.seed);
  spdlog::info("prepare: {}: {}", d.name, written.summary);
  const std::string all_split = written.split.empty() ? d.qrels : written.split;
  adopt_converted(tmp);
  if (d.split_queries) split_queries(d, tmp, all_split, exp.seed);
  ledger.record_folder(tmp, fp);
  dir.commit();
}

void prepare(Context& ctx, const StageOptions& options) {
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    for (const auto& d : ctx.exp.datasets) {
      if (!d.source) {
        RR_CHECK(std::filesystem::exists(std::filesystem::path(d.path) / "corpus.jsonl"), Input,
                 "dataset '{}': {} has no corpus.jsonl and no source to make it from", d.name, d.path);
        continue;
      }
      prepare_one(ctx.exp, d, options.force);
    }
  });
  // Each corpus's offset index (its ids held on rank 0 while it is built, 50 B per document): made here, in a
  // stage that runs on rank 0 anyway, so that encode's rank 0 holds no more than the other ranks.
  for (const auto& d : ctx.exp.datasets) open_corpus_map(ctx, d);
}

std::string prepare_fingerprint(const Experiment& exp) {
  return fingerprint_of({{"prepare", dataset_fingerprints(exp)}});
}

}  // namespace

StageDefinition prepare_stage() {
  return {"make each dataset's BEIR folder and split its judged queries (train/dev/test)",
          prepare_fingerprint,
          prepare,
          UnitKind::Dataset,
          "each dataset's source (a converter's files, or a BEIR folder)",
          "text(N) of one dataset (converter sources only); ids(N) while it maps a corpus"};
}

}  // namespace rr::stages
