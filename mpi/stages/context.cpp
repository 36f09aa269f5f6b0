#include "mpi/stages/context.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <unordered_set>

#include "common/error.h"
#include "common/fingerprint.h"
#include "common/log.h"
#include "common/threads.h"
#include "common/vector_dtype.h"
#include "data/split.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "model/device.h"
#include "mpi/distributed_topk.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/plan.h"
#include "mpi/tensor_comm.h"
#include "search/exact_search.h"

namespace rr::stages {

at::Tensor MpiCollectives::allgather_rows(const at::Tensor& local) const {
  at::Tensor host = local.to(at::kCPU, at::kFloat).contiguous();
  std::vector<float> mine(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
  std::vector<float> all = comm_.allgatherv(mine);
  const int64_t cols = host.dim() > 1 ? host.size(1) : 1;
  return at::from_blob(all.data(), {static_cast<int64_t>(all.size()) / cols, cols}, at::kFloat)
      .clone()
      .to(local.device());
}

void MpiCollectives::allreduce_sum(at::Tensor& t) const {
  mpi::allreduce_sum(comm_, t);
}

Context make_context(const std::filesystem::path& config, const std::vector<std::string>& overrides) {
  Experiment exp = Experiment::load(config, overrides);
  std::error_code ec;
  std::filesystem::create_directories(exp.output(), ec);
  RR_CHECK(!ec, Usage, "{}: 'output_dir' = '{}' cannot be created: {}", config.string(),
           exp.output().string(), ec.message());
  mpi::Comm world = mpi::Comm::world();
  c10::Device device = parse_device(exp.device, mpi::Environment::node_placement().rank);
  return Context{std::move(exp), std::move(world), device};
}

namespace {

// The queries of `queries_file` judged in `qrels_file` (file order), or an empty set when the qrels file is
// absent.
QuerySet read_query_set(const std::filesystem::path& queries_file, const std::filesystem::path& qrels_file,
                        const std::filesystem::path& dir) {
  QuerySet set;
  if (!std::filesystem::exists(qrels_file)) return set;
  set.qrels = read_qrels_tsv(qrels_file);
  // Streamed: only the judged queries are kept (never the whole file at once).
  set.queries.reserve(set.qrels.size());
  for_each_query(queries_file, [&](TextRecord&& q) {
    if (set.qrels.count(q.id)) set.queries.push_back(std::move(q));
  });
  if (set.queries.size() != set.qrels.size()) {
    std::unordered_set<std::string> known;
    for (const auto& q : set.queries) known.insert(q.id);
    check_qrels_queries(qrels_file, known, queries_file);  // names the first unknown query's line
  }
  set.origin = std::filesystem::relative(qrels_file, dir).string();
  return set;
}

QuerySet training_set(const DatasetConfig& c) {
  const std::filesystem::path dir = c.path;
  const auto from_prefix = [&](const std::string& prefix) {
    return read_query_set(beir_queries_path(dir, prefix), beir_qrels_path(dir, c.train_split, prefix), dir);
  };
  switch (c.train_source.kind) {
    case TrainSource::Kind::Qrels:
      return read_query_set(dir / "queries.jsonl", beir_qrels_path(dir, c.train_split), dir);
    case TrainSource::Kind::Prefix:
      RR_CHECK(std::filesystem::exists(beir_qrels_path(dir, c.train_split, c.train_source.prefix)), Input,
               "dataset '{}': train_source '{}' needs {} and {}", c.name, c.train_source.prefix,
               beir_queries_path(dir, c.train_source.prefix).string(),
               beir_qrels_path(dir, c.train_split, c.train_source.prefix).string());
      return from_prefix(c.train_source.prefix);
    case TrainSource::Kind::Auto:
      if (std::filesystem::exists(beir_qrels_path(dir, c.train_split)))
        return read_query_set(dir / "queries.jsonl", beir_qrels_path(dir, c.train_split), dir);
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

}  // namespace

void load_query_sets(const DatasetConfig& c, uint64_t seed, Dataset& d) {
  const std::filesystem::path dir = c.path;
  d.test = read_query_set(dir / "queries.jsonl", beir_qrels_path(dir, c.test_split), dir);
  d.train = training_set(c);
  const bool split_usable =
      c.dev_split != c.test_split && std::filesystem::exists(beir_qrels_path(dir, c.dev_split));
  if (c.dev_source == DevSource::Split || (c.dev_source == DevSource::Auto && split_usable))
    d.dev = read_query_set(dir / "queries.jsonl", beir_qrels_path(dir, c.dev_split), dir);
  else if (c.dev_source == DevSource::HoldOut || c.dev_source == DevSource::Auto)
    d.dev = hold_out(d.train, c.dev_holdout, seed);
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

Base load_base(const Context& ctx) {
  const auto dir = ctx.exp.base_path();
  RR_CHECK(std::filesystem::exists(dir / "config.json"), Input,
           "base model {} is missing (set base.path to a Hugging Face model, or base.train: true and run "
           "`train base`)",
           dir.string());
  Base b{BertEncoder::load(dir), BertTokenizer::from_directory(dir)};
  b.model.to(ctx.device);
  return b;
}

IndexShard read_index_shard(const Context& ctx, const std::string& dataset, const CorpusMap& map) {
  const int64_t rows = map.size();
  const SearchParams p = search_params(ctx.exp, ctx.device);
  const int P = ctx.world.size(), rank = ctx.world.rank();
  const SearchLayout layout = search_layout(ctx.exp.evaluation, ctx.device.is_cpu(), rows, P);
  IndexShard shard;
  shard.group.count = layout.groups;
  shard.group.index = static_cast<int>(static_cast<int64_t>(rank) * shard.group.count / P);
  shard.group.comm = std::make_shared<const mpi::Comm>(ctx.world.split(shard.group.index, rank));
  shard.group.first_rank = rank - shard.group.comm->rank();
  if (shard.group.count > 1)
    spdlog::log(leader_level(ctx.root()),
                "{}: {} rows in {} search units: {} groups of ranks each hold it all", dataset, rows,
                layout.units, shard.group.count);
  const mpi::Shard s = mpi::shard_of(rows, shard.group.comm->rank(), shard.group.comm->size(), layout.align);
  auto f = h5::File::open(ctx.exp.index_file(), false);
  const int64_t n = f.shape(schema::index(dataset)).first;
  RR_CHECK(n == rows, Input, "{}: index of '{}' has {} rows, the corpus {} (re-run encode)",
           ctx.exp.index_file().string(), dataset, n, rows);
  shard.begin = s.begin;
  // As stored: a float16 or bfloat16 index stays so in memory (half the RAM); the search widens one block at
  // a time.
  shard.vectors = f.read_rows(schema::index(dataset), s.begin, s.size()).contiguous();
  shard.tie = map.tie_keys(s.begin, s.size());
  if (p.bf16 && shard.rows() > 0)
    shard.packed = std::make_shared<const Bf16Corpus>(vector_view(shard), p.corpus_block, p.query_block);
  if (!ctx.device.is_cpu())
    shard.resident = std::make_shared<const DeviceCorpus>(vector_view(shard), shard.tie.data(), p.device);
  return shard;
}

TopK search_shard(const float* queries, int64_t nq, const IndexShard& shard, const SearchParams& params) {
  if (shard.resident) return shard.resident->search(queries, nq, shard.begin, params);
  return exact_search(queries, nq, vector_view(shard), shard.begin, shard.tie.data(), params,
                      shard.packed.get());
}

MatrixView vector_view(const IndexShard& shard) {
  const at::Tensor& v = shard.vectors;
  return {v.defined() ? v.data_ptr() : nullptr, shard.rows(), v.dim() > 1 ? v.size(1) : 0,
          v.defined() ? vector_type_of(v.scalar_type()) : VectorType::Float32};
}

SearchParams search_params(const Experiment& exp, const c10::Device& device) {
  SearchParams p;
  p.corpus_block = exp.evaluation.corpus_block;
  p.device = device.str();
  p.bf16 = exp.evaluation.bf16 && device.is_cpu();  // bf16 search is oneDNN's: on CUDA the search is fp32
  return p;
}

EncodeParams query_params(const Experiment& exp) {
  EncodeParams p;
  p.max_length = exp.evaluation.max_query_length;
  p.max_batch = exp.evaluation.batch_size;
  p.token_budget = exp.evaluation.token_budget;
  p.bf16 = exp.evaluation.bf16;
  return p;
}

EncodeParams doc_params(const Experiment& exp) {
  EncodeParams p = query_params(exp);
  p.max_length = exp.evaluation.max_doc_length;
  return p;
}

at::Tensor gather_query_blocks(const mpi::Comm& comm, const at::Tensor& local, int64_t Q, bool all) {
  const at::Tensor mine = local.contiguous();
  const int64_t width = mine.dim() > 1 ? mine.size(1) : 1, row_bytes = width * mine.element_size();
  std::vector<int64_t> counts;
  const std::vector<char> bytes =
      comm.gatherv_bytes(mine.data_ptr(), mine.numel() * mine.element_size(), counts, all);
  if (!all && !comm.is_root()) return {};
  // Blocks were dealt round-robin: reassemble them in query order.
  at::Tensor out = at::empty({Q, width}, mine.options());
  std::vector<int64_t> offset(static_cast<size_t>(comm.size()), 0);
  for (int r = 1; r < comm.size(); ++r) offset[r] = offset[r - 1] + counts[r - 1];
  auto* o = static_cast<char*>(out.data_ptr());
  for (int64_t b = 0; b * kQueryBlock < Q; ++b) {
    const int r = static_cast<int>(b % comm.size());
    const int64_t lo = b * kQueryBlock, n = (std::min(Q, lo + kQueryBlock) - lo) * row_bytes;
    std::memcpy(o + lo * row_bytes, bytes.data() + offset[r], static_cast<size_t>(n));
    offset[r] += n;
  }
  return out;
}

at::Tensor embed_queries(const Context& ctx, const BertEncoder& base, const TokenIds& queries,
                         const std::vector<const QueryModel*>& models,
                         const std::vector<int32_t>& row_model) {
  const int64_t Q = static_cast<int64_t>(queries.size()), H = base.config().hidden_size;
  // One model for every row: its inference encoder once for all blocks (LoRA merged, and in bf16 packed,
  // once).
  const bool one_model = row_model.empty() && models.size() == 1;
  const BertEncoder encoder = one_model ? models[0]->inference_encoder() : base;
  const std::vector<const QueryModel*> block_models = one_model ? std::vector<const QueryModel*>{} : models;
  std::vector<at::Tensor> mine{at::empty({0, H}, at::kFloat)};
  for (int64_t lo = ctx.world.rank() * kQueryBlock; lo < Q; lo += ctx.world.size() * kQueryBlock) {
    const int64_t hi = std::min(Q, lo + kQueryBlock);
    TokenIds block(queries.begin() + lo, queries.begin() + hi);
    std::vector<int32_t> choice;
    if (!row_model.empty()) choice.assign(row_model.begin() + lo, row_model.begin() + hi);
    mine.push_back(
        encode_ids(encoder, block, query_params(ctx.exp), block_models, choice).to(at::kCPU, at::kFloat));
  }
  return gather_query_blocks(ctx.world, at::cat(mine), Q, true);
}

std::vector<int64_t> group_query_rows(const SearchGroup& group, int64_t Q) {
  std::vector<int64_t> rows;
  for (int64_t b = 0; b * kQueryBlock < Q; ++b)
    if (group.searches(b))
      for (int64_t i = b * kQueryBlock; i < std::min(Q, (b + 1) * kQueryBlock); ++i) rows.push_back(i);
  return rows;
}

TopK spread_rows(const TopK& local, const std::vector<int64_t>& rows, int64_t Q) {
  TopK all(Q, local.k);
  const auto k = static_cast<std::ptrdiff_t>(local.k);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto from = static_cast<std::ptrdiff_t>(i) * k, to = rows[i] * k;
    std::copy_n(local.doc.begin() + from, k, all.doc.begin() + to);
    std::copy_n(local.score.begin() + from, k, all.score.begin() + to);
    std::copy_n(local.tie.begin() + from, k, all.tie.begin() + to);
  }
  return all;
}

TopK search_index(const Context& ctx, const at::Tensor& queries, const IndexShard& shard, int64_t k) {
  at::Tensor q = queries.to(at::kCPU, at::kFloat).contiguous();
  SearchParams p = search_params(ctx.exp, ctx.device);
  p.k = k;
  p.query_block = kQueryBlock;
  const int64_t Q = q.size(0);
  if (shard.group.count == 1)
    return mpi::gather_topk(ctx.world, search_shard(q.data_ptr<float>(), Q, shard, p));
  // My group's query blocks, searched as one matrix of whole blocks (the same products as one search of all).
  const std::vector<int64_t> rows = group_query_rows(shard.group, Q);
  const at::Tensor mine = q.index_select(0, at::tensor(rows, at::kLong)).contiguous();
  return mpi::gather_topk(ctx.world,
                          spread_rows(search_shard(mine.data_ptr<float>(), mine.size(0), shard, p), rows, Q));
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

TopK with_corpus_rows(TopK local, const std::vector<int64_t>& rows) {
  for (int64_t& d : local.doc)
    if (d >= 0) d = rows[static_cast<size_t>(d)];
  return local;
}

}  // namespace rr::stages
