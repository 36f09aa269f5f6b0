#include "mpi/stages/plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "mpi/stages/methods.h"
#include "mpi/stages/stage.h"
#include "router/router_names.h"
#include "search/search_layout.h"

namespace rr::stages {

namespace {

std::string bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, ++u;
  return fmt::format("{:.1f} {}", b, units[u]);
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
    const SearchLayout layout =
        search_layout(exp.evaluation.corpus_block, exp.evaluation.bf16 && cpu, c.documents, ranks);
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

// evaluate's searches: one per (dataset, method) that searches (the oracles take the singles' results), with
// its dense products' FLOPs (2 Q' N d; BM25 searches counted apart) and a time at a nominal rate per rank.
std::string search_report(const Experiment& exp, const std::vector<DatasetCounts>& counts, int64_t hidden,
                          int ranks) {
  const std::vector<Method> methods = make_methods(exp);
  int64_t dense = 0, lexical = 0, singles = 0;
  double flops = 0;
  for (const auto& c : counts) {
    if (!c.evaluated || c.test == 0) continue;
    for (const auto& m : methods) {
      if (!runs_on(exp, m, c.name) || m.router->source() == RouterSource::FromSingles) continue;
      if (m.router->source() == RouterSource::Lexical) {
        ++lexical;
        continue;
      }
      ++dense;
      singles += m.expert >= 0;
      flops +=
          2.0 * static_cast<double>(c.test) * static_cast<double>(c.documents) * static_cast<double>(hidden);
    }
  }
  // Exact search ran at ~85 GFLOP/s per core in fp32 and ~2x that in bf16 (BENCHMARKS.md, Zen 4).
  const double rate = (exp.evaluation.bf16 ? 170e9 : 85e9) * ranks;
  return fmt::format(
      "evaluate's searches: {} dense ({} of them single experts, evaluation.singles \"{}\"), {} BM25; "
      "{:.3g} TFLOP of products, ~{:.0f} s on {} CPU rank(s) at {:.0f} GFLOP/s each ({})\n",
      dense, singles, exp.evaluation.singles, lexical, flops / 1e12, flops / rate, ranks, rate / ranks / 1e9,
      exp.evaluation.bf16 ? "bf16" : "fp32");
}

}  // namespace

double PlanInputs::model_bytes() const {
  return 4.0 * 110e6 * d / 768.0;
}

double PlanInputs::vector_bytes() const {
  return vector_type_size(exp.evaluation.index_type());
}

double PlanInputs::shard_bytes(const DatasetCounts& c) const {
  // The shard as stored (fp32 or fp16), and with bf16 precision its packed bf16 copy (Bf16Index).
  return static_cast<double>(c.documents) / P * d * (vector_bytes() + (exp.evaluation.bf16 ? 2 : 0));
}

double PlanInputs::text_bytes(const DatasetCounts& c) {
  // Resident bytes of a corpus held as text records (ids, titles, texts and their overhead).
  return 1.3 * static_cast<double>(c.corpus_bytes) + 96.0 * static_cast<double>(c.documents);
}

double PlanInputs::adapter_bytes() const {
  return 16.0 * static_cast<double>(exp.expert_training.lora.r) * d * 12;
}

double PlanInputs::loaded_experts() const {
  return std::min(T(), static_cast<double>(exp.max_loaded_experts));
}

double PlanInputs::search_buffer_bytes(const DatasetCounts& c) const {
  return 256.0 *
         std::min(static_cast<double>(exp.evaluation.corpus_block), static_cast<double>(c.documents) / P) * 4;
}

bool PlanInputs::has_router(const std::string& name) const {
  const auto& r = exp.routing.routers;
  return std::find(r.begin(), r.end(), name) != r.end();
}

Footprint estimate_footprint(const Experiment& exp, const std::vector<DatasetCounts>& counts, int64_t hidden,
                             int ranks) {
  const PlanInputs in{exp, counts, static_cast<double>(hidden), static_cast<double>(ranks)};
  Footprint f;
  for (const auto& s : stage_table())
    if (s.peak_bytes) f.stage_peak.push_back({s.name, s.peak_bytes(in)});
  const double d = in.d, T = in.T(), vec = in.vector_bytes(), R = static_cast<double>(recorded_routers(exp));
  for (const auto& c : counts) {
    const double N = static_cast<double>(c.documents);
    f.index_disk += N * d * vec;
    f.results_disk +=
        16.0 * N +
        (c.evaluated ? R * static_cast<double>(c.test) * (exp.evaluation.store_k * 12.0 + 31 * 8) : 0) +
        (c.has_expert ? static_cast<double>(c.train) * (T * 16 + d * 4) : 0);
  }
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
  out += search_report(exp, counts, hidden, ranks);
  out += "stages (class; unit of commit, at most one lost to a kill or a stop request):\n";
  for (const auto& st : stage_table())
    out += fmt::format("  {:<16} {:<15} {}\n", st.name, stage_class_name(st.klass),
                       st.fingerprint ? unit_kind_name(st.unit) : "runs each time");
  const Footprint f = estimate_footprint(exp, counts, hidden, ranks);
  out += "peak memory per rank:";
  for (const auto& [stage, b] : f.stage_peak) out += fmt::format(" {} {};", stage, bytes(b));
  out += fmt::format("\ndisk: index.h5 {}, results.h5 {}\n", bytes(f.index_disk), bytes(f.results_disk));
  return out + balance_report(exp, counts, ranks);
}

}  // namespace rr::stages
