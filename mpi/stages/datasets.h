// A dataset as the stages read it: its query sets (streamed from the BEIR folder, only the judged queries
// kept) and its corpus behind an offset index (h5data/corpus_map.h), so that a rank reads only its shard's
// documents and maps only hit rows to ids.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "data/beir.h"
#include "h5data/corpus_map.h"
#include "mpi/stages/context.h"
#include "search/topk.h"

namespace rr::stages {

// Judged queries and their judgments, from one source.
struct QuerySet {
  std::vector<TextRecord> queries;  // the judged queries, in their queries file's order
  Qrels qrels;
  std::string origin;  // where they come from ("qrels/train.tsv", "gen-qrels/train.tsv", "hold-out of ...")
  std::filesystem::path queries_file;
  bool empty() const { return queries.empty(); }
};

// A prepared dataset: corpus, and the query sets of training (train_source), checkpoint selection
// (dev_source) and evaluation (test_split). Judgments naming a query its queries file lacks are an error
// (BEIR's KeyError), naming the qrels file and line.
struct Dataset {
  const DatasetConfig* config = nullptr;
  std::vector<TextRecord> corpus;
  std::vector<std::string> corpus_ids;
  QuerySet train, dev, test;
};
// "dataset 'x' has no training queries" and the three ways to give it some.
std::string no_training_data_message(const DatasetConfig& config);
// The corpus alone (query sets empty).
Dataset load_corpus(const DatasetConfig& config);
// The query sets alone (no corpus).
void load_query_sets(const DatasetConfig& config, uint64_t seed, Dataset& d);

// The training queries a scoring rank works on: those of the query blocks (kQueryBlock rows of the training
// set, in its order) for which mine(block) holds, with their judgments; the others' texts and judgments are
// never kept (docs/scaling.md: score holds Q/P queries per rank). Two streaming passes over the queries file:
// the judged ids (the set's order, less a dev hold-out), then the texts of the rank's own rows. `all_ids`:
// also every training query's id, in order (rank 0 stores them).
struct TrainingBlocks {
  int64_t size = 0;                       // Q: every training query
  std::map<int64_t, TextRecord> queries;  // the rank's own, by row
  Qrels qrels;                            // the rank's own queries' judgments
  std::vector<std::string> ids;           // all_ids: every row's id
  std::string origin;
};
TrainingBlocks load_training_blocks(const DatasetConfig& config, uint64_t seed,
                                    const std::function<bool(int64_t)>& mine, bool all_ids);

// The offset index of a dataset's corpus (<output_dir>/corpora/<name>.h5; see h5data/corpus_map.h): rank 0
// builds it when it is missing or was made from other files. Collective.
CorpusMap open_corpus_map(const Context& ctx, const DatasetConfig& config);

// Hits whose documents are indexes into `ids`, the ids of their distinct rows `rows` (ascending) read from
// the map: what topk_to_run and drop_identical_ids need, without an id table of the whole corpus.
struct HitIds {
  TopK top;
  std::vector<int64_t> rows;
  std::vector<std::string> ids;
  // The hits with their corpus rows again.
  TopK with_corpus_rows() const {
    TopK out = top;
    for (int64_t& d : out.doc)
      if (d >= 0) d = rows[static_cast<size_t>(d)];
    return out;
  }
};
HitIds hit_ids(const TopK& top, const CorpusMap& map);

}  // namespace rr::stages
