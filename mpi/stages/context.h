// What every stage program shares: the experiment, the communicator, the device, and the distributed
// building blocks (datasets, the sharded corpus index, query embedding in blocks, search with a global
// top-k). Every function here is collective: all ranks call it in the same order.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "data/beir.h"
#include "h5data/corpus_map.h"
#include "model/bert_encoder.h"
#include "model/text_encoder.h"
#include "mpi/comm.h"
#include "search/bf16_corpus.h"
#include "search/device_corpus.h"
#include "search/topk.h"
#include "text/bert_tokenizer.h"
#include "train/collectives.h"

namespace rr::stages {

// Query blocks and index blocks are global units of work: their contents never depend on the rank count,
// so neither do the numbers computed in them (DESIGN.md, "Results must not depend on the number of ranks").
inline constexpr int64_t kQueryBlock = 256;

class MpiCollectives final : public Collectives {
 public:
  explicit MpiCollectives(const mpi::Comm& comm) : comm_(comm) {}
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  at::Tensor allgather_rows(const at::Tensor& local) const override;
  void allreduce_sum(at::Tensor& t) const override;
  double broadcast(double x) const override { return comm_.bcast_value(x, 0); }

 private:
  const mpi::Comm& comm_;
};

struct Context {
  Experiment exp;
  mpi::Comm world;
  c10::Device device;
  bool root() const { return world.is_root(); }
  std::string config_json() const { return exp.json.dump(); }
};

Context make_context(const std::filesystem::path& config, const std::vector<std::string>& overrides);

// Judged queries and their judgments, from one source.
struct QuerySet {
  std::vector<TextRecord> queries;  // the judged queries, in their queries file's order
  Qrels qrels;
  std::string origin;  // where they come from ("qrels/train.tsv", "gen-qrels/train.tsv", "hold-out of ...")
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

// The base model and its tokenizer on the context's device.
struct Base {
  BertEncoder model;
  BertTokenizer tokenizer;
};
Base load_base(const Context& ctx);

// The ranks that hold one copy of a corpus's index between them: all ranks when the corpus has at least P
// search units (plan.h's SearchLayout), else groups of consecutive ranks, each holding the whole
// corpus (about one unit per rank) and searching its own share of the query blocks (block b: group b %
// count), so a small corpus keeps every rank searching instead of leaving P - units ranks idle. Results are
// unchanged: the same products per (query block x corpus block), merged over one copy of the corpus.
struct SearchGroup {
  std::shared_ptr<const mpi::Comm> comm;  // this rank's group
  int index = 0, count = 1;               // which group, of how many
  int first_rank = 0;                     // the group's first world rank
  bool searches(int64_t query_block) const { return query_block % count == index; }
};

// This rank's rows of the dataset's index (whole SearchLayout units, sharded over its search group), the
// global row offset and the rows' tie keys.
struct IndexShard {
  SearchGroup group;
  at::Tensor vectors;  // rows x H as stored: float32, float16 or bfloat16 (CPU)
  int64_t begin = 0;
  std::vector<int64_t> tie;  // rows
  // With evaluation.precision "bf16": the shard packed once for bf16 search (rows x H x 2 bytes more).
  std::shared_ptr<const Bf16Corpus> packed;
  // On a GPU: the shard resident there, searched without uploading it again (DeviceCorpus).
  std::shared_ptr<const DeviceCorpus> resident;
  int64_t rows() const { return vectors.defined() ? vectors.size(0) : 0; }
};
IndexShard read_index_shard(const Context& ctx, const std::string& dataset, const CorpusMap& map);
// The shard's vectors as exact_search reads them.
MatrixView vector_view(const IndexShard& shard);
// Search settings of the experiment (corpus block, device, precision: bf16 search on the CPU only); k and
// query_block left default.
SearchParams search_params(const Experiment& exp, const c10::Device& device);
// This rank's search of nq x H float32 queries (host, row-major) in its shard: the resident copy on a GPU,
// else exact_search (bf16 with the packed shard). Local top-k, global row numbers.
TopK search_shard(const float* queries, int64_t nq, const IndexShard& shard, const SearchParams& params);

// Rows of Q queries computed in kQueryBlock blocks dealt round-robin (block b on rank b % P; `local` is this
// rank's blocks in order, rows x width), in query order: Q x width on every rank (all) or on rank 0 only.
at::Tensor gather_query_blocks(const mpi::Comm& comm, const at::Tensor& local, int64_t Q, bool all);

// Embeds token-id queries in kQueryBlock blocks spread over the ranks; all ranks get Q x H. models/row_model
// as encode_ids (row_model: one entry per query, or empty).
at::Tensor embed_queries(const Context& ctx, const BertEncoder& base, const TokenIds& queries,
                         const std::vector<const QueryModel*>& models = {},
                         const std::vector<int32_t>& row_model = {});

// The rows of Q queries that `group` searches: its query blocks, in order.
std::vector<int64_t> group_query_rows(const SearchGroup& group, int64_t Q);
// Q-row lists holding local's lists (one per entry of `rows`) at those rows, the others empty.
TopK spread_rows(const TopK& local, const std::vector<int64_t>& rows, int64_t Q);

// Exact search of Q x H queries (every rank has them) against the sharded index; the global top-k on root.
TopK search_index(const Context& ctx, const at::Tensor& queries, const IndexShard& shard, int64_t k);

// The offset index of a dataset's corpus (<output_dir>/corpora/<name>.h5; see h5data/corpus_map.h): rank 0
// builds it when it is missing or was made from other files. Collective.
CorpusMap open_corpus_map(const Context& ctx, const DatasetConfig& config);

// Hits whose documents are indexes into `ids`, the ids of their distinct rows `rows` (ascending) read from
// the map: what topk_to_run and drop_identical_ids need, without an id table of the whole corpus.
struct HitIds {
  TopK top;
  std::vector<int64_t> rows;
  std::vector<std::string> ids;
};
HitIds hit_ids(const TopK& top, const CorpusMap& map);
// The hits of `local` (documents as indexes into rows) with their corpus rows again.
TopK with_corpus_rows(TopK local, const std::vector<int64_t>& rows);

EncodeParams query_params(const Experiment& exp);
EncodeParams doc_params(const Experiment& exp);

}  // namespace rr::stages
