// report: the paper's Table 1 layout from results.h5 — rows: the routers in the order and with the labels
// `evaluate` recorded (/routers), columns: the datasets and their average, nDCG@10 x 100 — and the routing
// counts (dataset x chosen expert) of RouterRetriever and the InstanceOracle.
#include <ATen/ATen.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>

#include "common/atomic_output.h"
#include "common/error.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "mpi/stages/stage.h"

namespace rr::stages {

namespace {

// nDCG@10 x 100 of every recorded router (rows, in recorded order) on every dataset (configured order).
std::string ndcg_table(const Experiment& exp, const h5::File& f, const std::vector<std::string>& datasets) {
  const auto names = f.read_strings(schema::kRouterNames), labels = f.read_strings(schema::kRouterLabels);
  std::string md = fmt::format("## {}: nDCG@10 x 100 (test queries)\n\n| Model | {} | Avg |\n|---|", exp.name,
                               fmt::join(datasets, " | "));
  for (size_t i = 0; i <= datasets.size(); ++i) md += "---:|";
  md += "\n";
  for (size_t r = 0; r < names.size(); ++r) {
    md += "| " + labels[r] + " |";
    double sum = 0;
    for (const auto& ds : datasets) {
      double v = 0;
      if (f.exists(schema::metrics_mean(ds, names[r]))) {
        const auto measures = f.attr_strings(schema::metrics(ds, names[r]), schema::kAttrMeasures);
        const auto it = std::find(measures.begin(), measures.end(), "ndcg_cut_10");
        if (it != measures.end())
          v = f.read(schema::metrics_mean(ds, names[r]))[it - measures.begin()].item<double>();
      }
      sum += v;
      md += fmt::format(" {:.1f} |", 100 * v);
    }
    md += fmt::format(" {:.1f} |\n", 100 * sum / static_cast<double>(datasets.size()));
  }
  return md;
}

// Routing counts of one router: dataset x chosen expert ("" when the router has no routing).
std::string routing_counts(const Experiment& exp, const h5::File& f, const std::vector<std::string>& datasets,
                           const std::string& router, const std::string& label) {
  const auto experts = exp.expert_names();
  std::string t = fmt::format(
      "\n### Routing counts: {} (rows: dataset, columns: chosen expert)\n\n| dataset | {} |\n|---|", label,
      fmt::join(experts, " | "));
  for (size_t i = 0; i < experts.size(); ++i) t += "---:|";
  t += "\n";
  bool any = false;
  for (const auto& ds : datasets) {
    if (!f.exists(schema::routing(ds, router))) continue;
    any = true;
    std::vector<int64_t> counts(experts.size(), 0);
    const at::Tensor chosen = f.read(schema::routing(ds, router)).contiguous();
    for (int64_t i = 0; i < chosen.numel(); ++i) {
      const int32_t e = chosen.data_ptr<int32_t>()[i];
      if (e >= 0 && e < static_cast<int32_t>(experts.size())) ++counts[e];
    }
    t += fmt::format("| {} | {} |\n", ds, fmt::join(counts, " | "));
  }
  return any ? t : "";
}

std::string make_report(const Context& ctx) {
  auto f = h5::File::open(ctx.exp.results_file(), false);
  const auto found = f.members("/metrics");
  RR_CHECK(!found.empty() && f.exists(schema::kRouterNames), Input,
           "{}: no measures yet (run `evaluate` first)", ctx.exp.results_file().string());
  std::vector<std::string> datasets;  // configured order
  for (const auto& d : ctx.exp.datasets)
    if (std::find(found.begin(), found.end(), d.name) != found.end()) datasets.push_back(d.name);
  std::string md = ndcg_table(ctx.exp, f, datasets);
  const auto names = f.read_strings(schema::kRouterNames), labels = f.read_strings(schema::kRouterLabels);
  for (size_t r = 0; r < names.size(); ++r)
    if (names[r] == "pilot-mean" || names[r] == "instance-oracle")
      md += routing_counts(ctx.exp, f, datasets, names[r], labels[r]);
  return md;
}

void report(Context& ctx, const StageOptions&) {
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    const std::string md = make_report(ctx);
    AtomicFile out(ctx.exp.output() / "report.md");
    out.stream() << md;
    out.commit();
    std::cout << md << std::flush;
    spdlog::info("report: {} and {}", (ctx.exp.output() / "report.md").string(),
                 ctx.exp.results_file().string());
  });
}

}  // namespace

StageDefinition report_stage() {
  return {"print the Table 1 layout (nDCG@10 x 100) and routing counts from results.h5",
          nullptr,
          report,
          UnitKind::Stage,
          "results.h5 (/metrics, /routing, /routers)",
          "rank 0: results.h5's tables"};
}

}  // namespace rr::stages
