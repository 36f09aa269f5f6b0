// prepare: make each dataset's BEIR folder (convert a SMART source or copy a BEIR one) and split its judged
// queries into train/dev/test by a seeded hash of the query id.
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "common/atomic_output.h"
#include "common/error.h"
#include "data/dictd.h"
#include "data/smart.h"
#include "data/split.h"
#include "mpi/stages/stages.h"

namespace rr::stages {

namespace {

constexpr const char* kMarker = ".rr-prepared";

std::string dataset_fingerprint(const DatasetConfig& d, uint64_t seed) {
  nlohmann::json j = {{"format", d.source.format},
                      {"docs", file_identity(d.source.docs)},
                      {"queries", file_identity(d.source.queries)},
                      {"qrels", file_identity(d.source.qrels)},
                      {"dir", d.source.dir},
                      {"dict", file_identity(d.source.dict)},
                      {"max_entries", d.source.max_entries},
                      {"relevance", d.source.relevance},
                      {"split", {d.split.train, d.split.dev}},
                      {"split_queries", d.split_queries},
                      {"qrels_split", d.qrels},
                      {"seed", seed}};
  return fingerprint(j.dump());
}

// Moves a converter's output folder (tmp/converted) into tmp itself.
void adopt_converted(const std::filesystem::path& tmp) {
  for (const char* f : {"corpus.jsonl", "queries.jsonl"})
    std::filesystem::rename(tmp / "converted" / f, tmp / f);
  std::filesystem::create_directories(tmp / "qrels");
  std::filesystem::rename(tmp / "converted" / "qrels" / "all.tsv", tmp / "qrels" / "all.tsv");
  std::filesystem::remove_all(tmp / "converted");
}

void prepare_one(const DatasetConfig& d, uint64_t seed) {
  const std::filesystem::path out = d.path;
  const std::string fp = dataset_fingerprint(d, seed);
  {
    std::ifstream in(out / kMarker);
    std::string have;
    if (in >> have && have == fp) {
      spdlog::info("prepare: {} is up to date", d.name);
      return;
    }
  }
  AtomicDirectory dir(out);
  const auto tmp = dir.temp_path();
  std::string all_split = d.qrels;
  if (d.source.format == "smart") {
    SmartConvertOptions o;
    o.qrels_layout = parse_qrels_layout(d.source.qrels_format);
    o.query_numbering = parse_query_numbering(d.source.query_ids);
    o.relevance = parse_relevance_scale(d.source.relevance);
    o.split = all_split = "all";
    auto s = convert_smart(d.source.docs, d.source.queries, d.source.qrels, tmp / "converted", o);
    adopt_converted(tmp);
    spdlog::info("prepare: {}: {} documents, {} queries ({} judged), {} judgments", d.name, s.documents,
                 s.queries, s.judged_queries, s.judgments);
  } else if (d.source.format == "dictd") {
    DictdConvertOptions o;
    o.prefix = d.name;
    o.max_entries = d.source.max_entries;
    o.seed = seed;
    o.split = all_split = "all";
    auto s = convert_dictd(d.source.dict, d.source.index, tmp / "converted", o);
    adopt_converted(tmp);
    spdlog::info("prepare: {}: {} dictionary entries, {} usable, {} kept", d.name, s.entries, s.usable,
                 s.kept);
  } else if (d.source.format == "beir") {
    const std::filesystem::path src = d.source.dir;
    RR_CHECK(std::filesystem::is_directory(src), Input, "dataset '{}': source dir {} does not exist", d.name,
             src.string());
    for (const char* f : {"corpus.jsonl", "queries.jsonl"}) std::filesystem::copy_file(src / f, tmp / f);
    std::filesystem::copy(src / "qrels", tmp / "qrels", std::filesystem::copy_options::recursive);
  } else {
    RR_THROW(Usage, "dataset '{}': no source to prepare from (its folder {} is used as it is)", d.name,
             out.string());
  }
  if (d.split_queries) {
    Qrels all = read_qrels_tsv(tmp / "qrels" / (all_split + ".tsv"));
    Qrels parts[3];
    for (const auto& [qid, judged] : all) parts[static_cast<int>(split_of(qid, seed, d.split))][qid] = judged;
    const std::string names[3] = {d.train_split, d.dev_split, d.test_split};
    for (int i = 0; i < 3; ++i)
      if (!parts[i].empty()) write_qrels_tsv(tmp / "qrels" / (names[i] + ".tsv"), parts[i]);
    spdlog::info("prepare: {}: judged queries split {} train / {} dev / {} test (seed {})", d.name,
                 parts[0].size(), parts[1].size(), parts[2].size(), seed);
  }
  {
    AtomicFile marker(tmp / kMarker);
    marker.stream() << fp << "\n";
    marker.commit();
  }
  dir.commit();
}

}  // namespace

void prepare(Context& ctx, bool force) {
  std::string error;
  if (ctx.root()) {
    try {
      for (const auto& d : ctx.exp.datasets) {
        if (d.source.format.empty()) {
          RR_CHECK(std::filesystem::exists(std::filesystem::path(d.path) / "corpus.jsonl"), Input,
                   "dataset '{}': {} has no corpus.jsonl and no source to make it from", d.name, d.path);
          continue;
        }
        if (force) std::filesystem::remove(std::filesystem::path(d.path) / kMarker);
        prepare_one(d, ctx.exp.seed);
      }
    } catch (const Error& e) {
      error = e.what();
    }
  }
  error = ctx.world.bcast_string(error);
  if (!error.empty()) RR_THROW(Input, "{}", error);
}

}  // namespace rr::stages
