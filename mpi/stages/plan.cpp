#include "mpi/stages/plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "mpi/comm.h"
#include "router/router_names.h"

namespace rr::stages {

namespace {

std::string bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, ++u;
  return fmt::format("{:.1f} {}", b, units[u]);
}

// Resident bytes of a corpus held as text records (ids, titles, texts and their overhead).
double corpus_in_memory(const DatasetCounts& c) {
  return 1.3 * static_cast<double>(c.corpus_bytes) + 96.0 * static_cast<double>(c.documents);
}

int64_t recorded_routers(const Experiment& exp) {
  int64_t n = 0;
  for (const auto& name : exp.routing.routers)
    n += router_name(name).per_expert ? static_cast<int64_t>(exp.experts.size()) : 1;
  return n;
}

// How evenly P ranks share each corpus's search, with advice where ranks idle.
std::string balance_report(const Experiment& exp, const std::vector<DatasetCounts>& counts, int ranks) {
  const bool cpu = exp.device == "cpu";
  std::string out = "search balance (mean work per rank / the busiest rank's):";
  std::string advice;
  for (const auto& c : counts) {
    if (c.documents == 0) continue;
    const SearchLayout layout = search_layout(exp.evaluation, cpu, c.documents, ranks);
    const double balance = layout.balance(c.documents, ranks);
    out += fmt::format(" {} {:.0f}%{};", c.name, 100 * balance,
                       layout.groups > 1 ? fmt::format(" ({} search groups)", layout.groups) : "");
    if (balance >= 0.8 || !advice.empty()) continue;
    if (layout.align == kBalancedShardRows && exp.evaluation.bf16) {
      advice = fmt::format("\n  {}: {} bf16 search units of {} rows for {} ranks", c.name, layout.units,
                           kBalancedShardRows, ranks);
      continue;
    }
    int64_t block = 256;
    while (block * 2 <= c.documents / (8 * static_cast<int64_t>(ranks))) block *= 2;
    advice = fmt::format("\n  {}: fp32 shards are whole blocks of evaluation.corpus_block = {} rows; ",
                         c.name, layout.align);
    if (block < layout.align)
      advice += fmt::format(
          "on {} ranks set it to {} (about 8 blocks per rank; results then differ from this "
          "block size's in the last bits), or ",
          ranks, block);
    advice +=
        fmt::format("use precision \"bf16\" (shards balanced to {} rows, results independent of the block)",
                    kBalancedShardRows);
  }
  return out + advice + "\n";
}

}  // namespace

SearchLayout search_layout(const EvaluationConfig& evaluation, bool cpu, int64_t rows, int ranks) {
  SearchLayout l;
  l.align = evaluation.bf16 && cpu ? kBalancedShardRows : evaluation.corpus_block;
  l.units = (rows + l.align - 1) / l.align;
  l.groups = l.units == 0 ? 1 : static_cast<int>(std::max<int64_t>(1, ranks / l.units));
  return l;
}

double SearchLayout::balance(int64_t rows, int ranks) const {
  if (rows == 0) return 1.0;
  // The smallest group (ranks / groups, rounded down) holds the largest shards; each group searches
  // 1 / groups of the queries.
  const int smallest = ranks / groups;
  const auto largest = static_cast<double>(mpi::shard_of(rows, 0, smallest, align).size()) / groups;
  return static_cast<double>(rows) / ranks / largest;
}

Footprint estimate_footprint(const Experiment& exp, const std::vector<DatasetCounts>& counts, int64_t hidden,
                             int ranks) {
  const double d = static_cast<double>(hidden), P = ranks, T = static_cast<double>(exp.experts.size());
  const double vec = vector_type_size(exp.evaluation.index_type()), model = 4.0 * 110e6 * d / 768.0;
  const double k = static_cast<double>(exp.evaluation.k), R = static_cast<double>(recorded_routers(exp));
  double encode = 0, train = 0, score = 0, pilot = 0, evaluate = 0, index_disk = 0, results_disk = 0;
  for (const auto& c : counts) {
    const double N = static_cast<double>(c.documents), text = corpus_in_memory(c);
    const double Qtr = static_cast<double>(c.train), Qte = static_cast<double>(c.test);
    // The shard as stored (fp32 or fp16), and with bf16 precision its packed bf16 copy (Bf16Corpus).
    const double shard = N / P * d * (vec + (exp.evaluation.bf16 ? 2 : 0));
    // The formulas of docs/scaling.md. encode: one block's documents and embeddings (the corpus map, whose
    // build holds the N ids on rank 0, is made by prepare).
    const double block = std::min(N, static_cast<double>(exp.evaluation.corpus_block));
    encode = std::max(encode, text * block / std::max(N, 1.0) + block * d * 4);
    // train: the index rows it trains on (all rows up to dev_corpus_max; above, the judged and pseudo-query
    // documents, the dev-judged ones and a dev_corpus_max sample), the text of the pseudo-query sample only
    // (read through the corpus map), the judged ids, and one chunk of 2^20 ids of the pass over the map.
    const double pseudo = std::min(N, 20000.0);
    const double rows = std::min(N, c.train_pairs + exp.expert_training.dev_corpus_max + pseudo);
    if (c.has_expert)
      train = std::max(train, rows * d * 4 + text * pseudo / std::max(N, 1.0) +
                                  80.0 * static_cast<double>(c.train_pairs + c.dev) +
                                  50 * std::min(N, 1048576.0));
    // score: the shard and its tie keys, one round of query vectors (256 per rank) and its top-11 lists, and
    // the training queries' text and judgments every rank holds (about 190 B each, measured by scale_bench).
    if (c.has_expert) score = std::max(score, shard + 8 * N / P + 256 * P * (d * 4 + 11 * 20) + 190 * Qtr);
    // pilot (one rank): every training dataset's base embeddings, scores and query ids, and the classifier
    // routers' standardised copy of the labelled rows.
    if (c.has_expert) pilot += Qtr * (d * 4 * 2 + T * 8 + 50);
    // evaluate: the shard and its tie keys, the test queries' vectors (base, singles, routed), BM25 of the
    // shard (its text and about three times that in postings), and on rank 0 one router's top-(k+1) lists and
    // the singles' store_k hits (the oracles take them).
    if (c.evaluated)
      evaluate =
          std::max(evaluate, shard + 8 * N / P + (T + 4) * Qte * d * 4 + Qte * (k + 1) * 20 +
                                 T * Qte * static_cast<double>(exp.evaluation.store_k) * 20 + 4 * text / P);
    index_disk += N * d * vec;
    results_disk += 16.0 * N + (c.evaluated ? R * Qte * (exp.evaluation.store_k * 12.0 + 31 * 8) : 0) +
                    (c.has_expert ? Qtr * (T * 16 + d * 4) : 0);
  }
  Footprint f;
  f.stage_peak = {{"encode", model + encode},
                  {"train-expert", 3 * model + train},
                  {"score", model + score},
                  {"pilot", pilot},
                  {"evaluate", (T + 2) * model * 0.02 + model + evaluate}};
  f.index_disk = index_disk;
  f.results_disk = results_disk;
  return f;
}

std::string plan_report(const Experiment& exp, const std::vector<DatasetCounts>& counts, int64_t hidden,
                        int ranks) {
  std::string out = fmt::format("plan for {} ({} datasets, {} experts, {} ranks, hidden size {})\n\n",
                                exp.name, counts.size(), exp.experts.size(), ranks, hidden);
  out += fmt::format("{:<12} {:>10} {:>8} {:>9} {:>7} {:>7}  {:<7} {}\n", "dataset", "documents", "train",
                     "pairs", "dev", "test", "expert", "training queries / dev queries");
  int64_t docs = 0, pairs = 0, tests = 0;
  for (const auto& c : counts) {
    out += fmt::format("{:<12} {:>10} {:>8} {:>9} {:>7} {:>7}  {:<7} {}\n", c.name, c.documents, c.train,
                       c.train_pairs, c.dev, c.test, c.has_expert ? "yes" : "-",
                       c.note.empty() ? c.train_origin + " / " + c.dev_origin : c.note);
    docs += c.documents;
    pairs += c.has_expert ? c.train * static_cast<int64_t>(exp.experts.size()) : 0;
    tests += c.evaluated ? c.test : 0;
  }
  out += fmt::format(
      "\nwork: encode {} documents; score {} training query x expert pairs; route and search {} "
      "test queries x {} routers\n",
      docs, pairs, tests, recorded_routers(exp));
  const Footprint f = estimate_footprint(exp, counts, hidden, ranks);
  out += "peak memory per rank:";
  for (const auto& [stage, b] : f.stage_peak) out += fmt::format(" {} {};", stage, bytes(b));
  out += fmt::format("\ndisk: index.h5 {}, results.h5 {}\n", bytes(f.index_disk), bytes(f.results_disk));
  return out + balance_report(exp, counts, ranks);
}

}  // namespace rr::stages
