// report: the paper's Table 1 layout from results.h5 — rows: the routers in the order and with the labels
// `evaluate` recorded (/routers), columns: the datasets and their average, nDCG@10 x 100, with significance
// letters against the base and the multi-task model — the routing counts (dataset x chosen expert, queries on
// which every expert scores the same in their own column) of RouterRetriever and the InstanceOracle, and each
// trained model's chosen step and dev curve.
#include <ATen/ATen.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <iostream>
#include <map>
#include <numeric>

#include "common/atomic_output.h"
#include "common/error.h"
#include "eval/significance.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "mpi/stages/ledger.h"
#include "mpi/stages/stage.h"

namespace rr::stages {

namespace {

constexpr const char* kMeasure = "ndcg_cut_10";
constexpr double kAlpha = 0.05;
// More experts than this: the report folds the single experts' rows into best / median / worst and shows each
// dataset's kTopExperts most chosen experts; report-full.md (kFullReport) has the full tables.
constexpr size_t kFoldSingles = 10;
constexpr size_t kTopExperts = 3;
constexpr const char* kFullReport = "report-full.md";
// Baselines of the significance letters, in letter order (a, b, ...), where the table has them.
const std::vector<std::string> kBaselines = {"base", "multitask"};

// One (router, dataset) cell: absent when the router was not evaluated there (or lacks the measure).
struct Cell {
  bool present = false;
  double mean = 0;
  std::vector<double> per_query;
};

struct Table {
  std::vector<std::string> names, labels, datasets;
  std::vector<std::vector<Cell>> cells;  // [router][dataset]
  int row(const std::string& name) const {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : static_cast<int>(it - names.begin());
  }
};

Cell read_cell(const h5::File& f, const std::string& ds, const std::string& router) {
  Cell c;
  if (!f.exists(schema::metrics_mean(ds, router))) return c;
  const auto measures = f.attr_strings(schema::metrics(ds, router), schema::kAttrMeasures);
  const auto it = std::find(measures.begin(), measures.end(), kMeasure);
  if (it == measures.end()) return c;
  const int64_t m = it - measures.begin();
  c.present = true;
  c.mean = f.read(schema::metrics_mean(ds, router))[m].item<double>();
  if (f.exists(schema::metrics_per_query(ds, router))) {
    const at::Tensor column = f.read_matrix(schema::metrics_per_query(ds, router)).select(1, m).contiguous();
    const auto values = column.to(at::kDouble);
    c.per_query.assign(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
  }
  return c;
}

Table read_table(const Experiment& exp, const h5::File& f) {
  const auto found = f.members("/metrics");
  RR_CHECK(!found.empty() && f.exists(schema::kRouterNames), Input,
           "{}: no measures yet (run `evaluate` first)", exp.results_file().string());
  Table t;
  for (const auto& d : exp.datasets)  // configured order
    if (std::find(found.begin(), found.end(), d.name) != found.end()) t.datasets.push_back(d.name);
  t.names = f.read_strings(schema::kRouterNames);
  t.labels = f.read_strings(schema::kRouterLabels);
  for (const auto& name : t.names) {
    t.cells.emplace_back();
    for (const auto& ds : t.datasets) t.cells.back().push_back(read_cell(f, ds, name));
  }
  return t;
}

// {(router, dataset): letters}: letter i where the router beats kBaselines[i] on the dataset (paired t-test
// on the per-query values, Holm-corrected over every comparison of the table, p < kAlpha, mean above), and
// the legend. rr_analysis.py table --baseline base --baseline multitask marks the same cells.
std::pair<std::map<std::pair<int, int>, std::string>, std::string> significance_marks(const Table& t) {
  struct Comparison {
    int router, dataset;
    char letter;
    double p;
    bool above;
  };
  std::vector<Comparison> family;
  std::string legend;
  char letter = 'a';
  for (const auto& baseline : kBaselines) {
    const int b = t.row(baseline);
    if (b < 0) continue;
    legend +=
        fmt::format("{}{}: significantly better than {}", legend.empty() ? "" : "; ", letter, t.labels[b]);
    for (int r = 0; r < static_cast<int>(t.names.size()); ++r) {
      for (int d = 0; d < static_cast<int>(t.datasets.size()); ++d) {
        const Cell &x = t.cells[r][d], &y = t.cells[b][d];
        if (r == b || !x.present || !y.present || x.per_query.size() != y.per_query.size()) continue;
        family.push_back({r, d, letter, paired_t_test(x.per_query, y.per_query).p, x.mean > y.mean});
      }
    }
    ++letter;
  }
  std::vector<double> p;
  for (const auto& c : family) p.push_back(c.p);
  const auto corrected = holm(p);
  std::map<std::pair<int, int>, std::string> marks;
  for (size_t i = 0; i < family.size(); ++i)
    if (!std::isnan(corrected[i]) && corrected[i] < kAlpha && family[i].above)
      marks[{family[i].router, family[i].dataset}] += family[i].letter;
  if (!legend.empty())
    legend = fmt::format(
        "{} (paired t-test on per-query nDCG@10, Holm-corrected over the {} comparisons, "
        "p < {}).",
        legend, family.size(), kAlpha);
  return {marks, legend};
}

bool is_single(const std::string& router) {
  return router.rfind("single-", 0) == 0;
}

// A row's average over the datasets it has (NaN when none), and whether some dataset is missing.
std::pair<double, bool> row_average(const std::vector<Cell>& cells) {
  double sum = 0;
  int present = 0;
  for (const Cell& c : cells)
    if (c.present) sum += c.mean, ++present;
  return {present ? sum / present : std::nan(""), present < static_cast<int>(cells.size())};
}

// The single experts' rows folded into three: in each column (the datasets and the average), the best,
// median (the better middle one of an even count: as rr_analysis.py table) and worst single expert there;
// each column in its own order, so a row may mix experts.
struct FoldedRow {
  std::string label;
  std::vector<Cell> cells;
  double average = std::nan("");
  bool partial = false;  // some single expert's average leaves out a dataset
};
std::vector<FoldedRow> folded_singles(const Table& t) {
  std::vector<FoldedRow> rows = {
      {"Single expert: best", {}}, {"Single expert: median", {}}, {"Single expert: worst", {}}};
  const auto pick = [&](std::vector<double> values, auto&& set) {
    std::sort(values.begin(), values.end(), std::greater<double>());
    if (values.empty()) return;
    const double picks[] = {values.front(), values[(values.size() - 1) / 2], values.back()};
    for (size_t i = 0; i < 3; ++i) set(rows[i], picks[i]);
  };
  for (size_t d = 0; d < t.datasets.size(); ++d) {
    std::vector<double> means;
    for (size_t r = 0; r < t.names.size(); ++r)
      if (is_single(t.names[r]) && t.cells[r][d].present) means.push_back(t.cells[r][d].mean);
    for (auto& row : rows) row.cells.emplace_back();
    pick(means, [](FoldedRow& row, double v) { row.cells.back() = {true, v, {}}; });
  }
  std::vector<double> averages;
  bool partial = false;
  for (size_t r = 0; r < t.names.size(); ++r) {
    if (!is_single(t.names[r])) continue;
    const auto [average, missing] = row_average(t.cells[r]);
    if (!std::isnan(average)) averages.push_back(average);
    partial = partial || missing;
  }
  pick(averages, [&](FoldedRow& row, double v) { row.average = v, row.partial = partial; });
  return rows;
}

// nDCG@10 x 100: a missing cell is "–" and left out of its row's average (said under the table). With
// `fold_singles`, the single experts' rows are folded into best / median / worst (folded_singles).
std::string ndcg_table(const Experiment& exp, const Table& t, bool fold_singles) {
  const auto [marks, legend] = significance_marks(t);
  std::string md = fmt::format("## {}: nDCG@10 x 100 (test queries)\n\n| Model | {} | Avg |\n|---|", exp.name,
                               fmt::join(t.datasets, " | "));
  for (size_t i = 0; i <= t.datasets.size(); ++i) md += "---:|";
  md += "\n";
  bool any_missing = false;
  // One row: its label, cells and (for a row of the table) its index for the significance letters.
  // One row: its label, cells, index in the table (for the significance letters; -1: a folded row) and
  // average (that of its cells, or for a folded row the picked single expert's).
  const auto add_row = [&](const std::string& label, const std::vector<Cell>& cells, int r, double average,
                           bool partial) {
    md += "| " + label + " |";
    for (size_t d = 0; d < t.datasets.size(); ++d) {
      const Cell& c = cells[d];
      if (!c.present) {
        md += " – |";
        any_missing = true;
        continue;
      }
      const auto mark = marks.find({r, static_cast<int>(d)});
      md += fmt::format(" {:.1f}{} |", 100 * c.mean,
                        mark == marks.end() ? "" : "<sup>" + mark->second + "</sup>");
    }
    md += std::isnan(average) ? " – |\n" : fmt::format(" {:.1f}{} |\n", 100 * average, partial ? "*" : "");
  };
  bool folded = false;
  for (size_t r = 0; r < t.names.size(); ++r) {
    if (!fold_singles || !is_single(t.names[r])) {
      const auto [average, partial] = row_average(t.cells[r]);
      add_row(t.labels[r], t.cells[r], static_cast<int>(r), average, partial);
    } else if (!folded) {  // where the first single expert's row was
      for (const auto& row : folded_singles(t)) add_row(row.label, row.cells, -1, row.average, row.partial);
      folded = true;
    }
  }
  if (any_missing)
    md += "\n–: not evaluated on that dataset. *: the average over the datasets the model has.\n";
  if (!legend.empty()) md += "\n" + legend + "\n";
  return md;
}

// "cisi 61%, med 20%, cran 9%": the kTopExperts experts with the most queries (ties: the first expert).
std::string top_experts(const std::vector<std::string>& experts, const std::vector<int64_t>& counts,
                        int64_t queries) {
  std::vector<size_t> order(counts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return counts[a] > counts[b]; });
  std::vector<std::string> top;
  for (size_t i = 0; i < order.size() && i < kTopExperts && counts[order[i]] > 0; ++i)
    top.push_back(fmt::format(
        "{} {:.0f}%", experts[order[i]],
        100.0 * static_cast<double>(counts[order[i]]) / static_cast<double>(std::max<int64_t>(1, queries))));
  return top.empty() ? "–" : fmt::format("{}", fmt::join(top, ", "));
}

// Routing counts of one router: dataset x chosen expert, and the queries on which every single expert has the
// same nDCG@10 (the choice cannot matter there: the InstanceOracle credits them to the first expert).
std::string routing_counts(const Experiment& exp, const h5::File& f, const Table& t,
                           const std::string& router, const std::string& label, bool top_only) {
  const auto experts = exp.expert_names();
  std::vector<int> singles;
  for (const auto& e : experts) singles.push_back(t.row("single-" + e));
  const bool ties = std::find(singles.begin(), singles.end(), -1) == singles.end() && experts.size() > 1;
  std::string table =
      top_only ? fmt::format(
                     "\n### Routing: {} (per dataset, the {} experts chosen most, share of its queries)\n\n"
                     "| dataset | chosen most |{}\n|---|---|{}\n",
                     label, kTopExperts, ties ? " all experts equal |" : "", ties ? "---:|" : "")
               : fmt::format(
                     "\n### Routing counts: {} (rows: dataset, columns: chosen expert)\n\n| dataset | {}{} "
                     "|\n|---|",
                     label, fmt::join(experts, " | "), ties ? " | all experts equal" : "");
  if (!top_only) {
    for (size_t i = 0; i < experts.size() + (ties ? 1 : 0); ++i) table += "---:|";
    table += "\n";
  }
  bool any = false;
  for (size_t d = 0; d < t.datasets.size(); ++d) {
    const std::string& ds = t.datasets[d];
    if (!f.exists(schema::routing(ds, router))) continue;
    any = true;
    std::vector<int64_t> counts(experts.size() + 1, 0);
    const at::Tensor chosen = f.read(schema::routing(ds, router)).contiguous();
    for (int64_t q = 0; q < chosen.numel(); ++q) {
      bool tie = ties;
      for (size_t e = 1; tie && e < singles.size(); ++e) {
        const auto &a = t.cells[singles[0]][d].per_query, &b = t.cells[singles[e]][d].per_query;
        tie = q < static_cast<int64_t>(a.size()) && q < static_cast<int64_t>(b.size()) && a[q] == b[q];
      }
      const int32_t e = chosen.data_ptr<int32_t>()[q];
      if (tie)
        ++counts.back();
      else if (e >= 0 && e < static_cast<int32_t>(experts.size()))
        ++counts[e];
    }
    if (top_only) {
      const int64_t tied = ties ? counts.back() : 0;
      if (ties) counts.pop_back();
      table += fmt::format("| {} | {} |{}\n", ds, top_experts(experts, counts, chosen.numel()),
                           ties ? fmt::format(" {} |", tied) : "");
      continue;
    }
    if (!ties) counts.pop_back();
    table += fmt::format("| {} | {} |\n", ds, fmt::join(counts, " | "));
  }
  return any ? table : "";
}

// Each trained model's chosen step and dev curve; a model that kept its untrained start is flagged (an
// expert that did then equals the base).
std::string training_summary(const h5::File& f) {
  if (!f.exists("/training")) return "";
  std::string md =
      "\n### Training: the step each model kept (best dev nDCG@10)\n\n| model | kept step | dev nDCG@10 "
      "by step |\n|---|---:|---|\n";
  std::vector<std::string> untrained;
  for (const auto& model : f.members("/training")) {
    const std::string g = schema::training_curve(model);
    if (!f.exists(g + "/eval_steps")) continue;
    const at::Tensor steps = f.read(g + "/eval_steps").to(at::kDouble).contiguous();
    const at::Tensor dev = f.read(g + "/dev_ndcg10").to(at::kDouble).contiguous();
    const int64_t best = f.attr_int64(g, "best_step");
    std::vector<std::string> curve;
    for (int64_t i = 0; i < steps.numel() && i < dev.numel(); ++i)
      curve.push_back(fmt::format("{:.0f}: {:.4f}", steps.data_ptr<double>()[i], dev.data_ptr<double>()[i]));
    md += fmt::format("| {} | {} | {} |\n", model, best,
                      curve.empty() ? "(no dev data)" : fmt::format("{}", fmt::join(curve, ", ")));
    if (best == 0 && !curve.empty() && model != "base") untrained.push_back(model);
  }
  if (!untrained.empty()) {
    md += fmt::format(
        "\n**Warning**: {} kept the untrained start (no checkpoint beat it on dev): it equals the base "
        "encoder.\n",
        fmt::join(untrained, ", "));
    spdlog::warn("report: {} kept the untrained start (no dev gain); it equals the base",
                 fmt::join(untrained, ", "));
  }
  return md;
}

// Which single experts ran where (evaluation.singles), and so what the oracles chose among.
std::string singles_note(const Experiment& exp) {
  const std::string& s = exp.evaluation.singles;
  const std::string which = s == "all"   ? "every expert on every dataset"
                            : s == "own" ? "each expert on the datasets it was trained on"
                                         : "none";
  return fmt::format(
      "\nSingle experts (evaluation.singles \"{}\"): {}; the oracles choose among the single "
      "experts run on each dataset{}.\n",
      s, which, s == "none" ? ", so they are not computed" : "");
}

// The report (report.md), and with more than kFoldSingles experts the full tables it folds (report-full.md:
// every single expert's row, the routing counts of every expert), linked from it.
std::pair<std::string, std::string> make_report(const Context& ctx) {
  auto f = h5::File::open(ctx.exp.results_file(), false);
  const Table t = read_table(ctx.exp, f);
  const bool fold = ctx.exp.experts.size() > kFoldSingles;
  std::string md = ndcg_table(ctx.exp, t, fold), full;
  if (fold) {
    md += fmt::format("\nThe {} single experts' rows and every expert's routing counts: [{}]({}).\n",
                      ctx.exp.experts.size(), kFullReport, kFullReport);
    full = ndcg_table(ctx.exp, t, false);
  }
  md += singles_note(ctx.exp);
  for (size_t r = 0; r < t.names.size(); ++r)
    if (t.names[r] == "pilot-mean" || t.names[r] == "instance-oracle") {
      md += routing_counts(ctx.exp, f, t, t.names[r], t.labels[r], fold);
      if (fold) full += routing_counts(ctx.exp, f, t, t.names[r], t.labels[r], false);
    }
  return {md + training_summary(f), full};
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  AtomicFile out(path);
  out.stream() << text;
  out.commit();
}

void report(Context& ctx, const StageOptions&) {
  Ledger(ctx.exp).require_stage("evaluate", "report");
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    const auto [md, full] = make_report(ctx);
    if (full.empty())
      std::filesystem::remove(ctx.exp.output() / kFullReport);  // not a stale one from more experts
    else
      write_file(ctx.exp.output() / kFullReport, full);
    write_file(ctx.exp.output() / "report.md", md);
    std::cout << md << std::flush;
    spdlog::info("report: {} and {}", (ctx.exp.output() / "report.md").string(),
                 ctx.exp.results_file().string());
  });
}

}  // namespace

StageDefinition report_stage() {
  return {"print the Table 1 layout (nDCG@10 x 100, significance letters) and routing counts from results.h5",
          nullptr,
          report,
          UnitKind::Stage,
          "results.h5 (/metrics, /routing, /routers, /training)",
          "rank 0: results.h5's tables"};
}

}  // namespace rr::stages
