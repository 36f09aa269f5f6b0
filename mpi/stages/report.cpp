// report: the paper's Table 1 layout from results.h5 (rows: routers and baselines; columns: datasets and the
// average; nDCG@10 x 100, one decimal), plus routing counts (dataset x chosen expert). And pipeline.
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>

#include "common/atomic_output.h"
#include "common/error.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "mpi/stages/stages.h"

namespace rr::stages {

namespace {

// Table 1's row order: baselines, routers, then the bounds.
int row_rank(const std::string& r) {
  static const std::vector<std::string> order = {"bm25",
                                                 "base",
                                                 "single-",
                                                 "multitask",
                                                 "dataset",
                                                 "expert-classifier",
                                                 "classification-head",
                                                 "pilot-mean",
                                                 "pilot-max",
                                                 "top-k-mix",
                                                 "dataset-oracle",
                                                 "instance-oracle"};
  for (size_t i = 0; i < order.size(); ++i)
    if (r == order[i] || (order[i].back() == '-' && r.rfind(order[i], 0) == 0)) return static_cast<int>(i);
  return static_cast<int>(order.size());
}

std::string label(const std::string& r) {
  static const std::map<std::string, std::string> names = {
      {"bm25", "BM25"},
      {"base", "Base encoder (no expert)"},
      {"multitask", "Multi-task"},
      {"dataset", "DatasetRouter"},
      {"expert-classifier", "ExpertClassifierRouter"},
      {"classification-head", "ClassificationHeadRouter"},
      {"pilot-mean", "**RouterRetriever** (pilot mean)"},
      {"pilot-max", "RouterRetriever (pilot max, released code)"},
      {"top-k-mix", "Top-k soft mixture"},
      {"dataset-oracle", "DatasetOracle"},
      {"instance-oracle", "InstanceOracle"}};
  auto it = names.find(r);
  if (it != names.end()) return it->second;
  if (r.rfind("single-", 0) == 0) return "Single expert: " + r.substr(7);
  return r;
}

}  // namespace

std::string report(Context& ctx) {
  std::string md;
  if (ctx.root()) {
    auto f = h5::File::open(ctx.exp.results_file(), false);
    auto datasets = f.members("/metrics");
    RR_CHECK(!datasets.empty(), Input, "{}: no measures yet (run `evaluate` first)",
             ctx.exp.results_file().string());
    // Keep the configured dataset order.
    std::vector<std::string> ordered;
    for (const auto& d : ctx.exp.datasets)
      if (std::find(datasets.begin(), datasets.end(), d.name) != datasets.end()) ordered.push_back(d.name);
    std::map<std::string, std::map<std::string, double>> value;  // router -> dataset -> nDCG@10
    std::vector<std::string> routers;
    for (const auto& ds : ordered)
      for (const auto& r : f.members("/metrics/" + ds)) {
        auto names = f.attr_strings(schema::metrics(ds, r), schema::kAttrMeasures);
        auto mean = f.read_double(schema::metrics_mean(ds, r));
        auto it = std::find(names.begin(), names.end(), "ndcg_cut_10");
        if (it == names.end()) continue;
        value[r][ds] = mean[it - names.begin()];
        if (std::find(routers.begin(), routers.end(), r) == routers.end()) routers.push_back(r);
      }
    std::stable_sort(routers.begin(), routers.end(),
                     [](const auto& a, const auto& b) { return row_rank(a) < row_rank(b); });
    md += fmt::format("## {}: nDCG@10 x 100 ({} split)\n\n", ctx.exp.name, ctx.exp.evaluation.split);
    md += "| Model | " + fmt::format("{}", fmt::join(ordered, " | ")) + " | Avg |\n";
    md += "|---|" + std::string() + [&] {
      std::string s;
      for (size_t i = 0; i <= ordered.size(); ++i) s += "---:|";
      return s;
    }() + "\n";
    for (const auto& r : routers) {
      md += "| " + label(r) + " |";
      double sum = 0;
      for (const auto& ds : ordered) {
        double v = value[r].count(ds) ? value[r][ds] : 0.0;
        sum += v;
        md += fmt::format(" {:.1f} |", 100 * v);
      }
      md += fmt::format(" {:.1f} |\n", 100 * sum / static_cast<double>(ordered.size()));
    }
    // Routing counts of RouterRetriever: dataset x chosen expert.
    auto experts = ctx.exp.expert_names();
    for (const char* router : {"pilot-mean", "instance-oracle"}) {
      bool any = false;
      std::string t = fmt::format(
          "\n### Routing counts: {} (rows: dataset, columns: chosen expert)\n\n| dataset | {} |\n|---|",
          label(router), fmt::join(experts, " | "));
      for (size_t i = 0; i < experts.size(); ++i) t += "---:|";
      t += "\n";
      for (const auto& ds : ordered) {
        if (!f.exists(schema::routing(ds, router))) continue;
        any = true;
        std::vector<int64_t> counts(experts.size(), 0);
        for (int32_t e : f.read_int32(schema::routing(ds, router)))
          if (e >= 0 && e < static_cast<int32_t>(experts.size())) ++counts[e];
        t += fmt::format("| {} | {} |\n", ds, fmt::join(counts, " | "));
      }
      if (any) md += t;
    }
    AtomicFile out(ctx.exp.output() / "report.md");
    out.stream() << md;
    out.commit();
    std::cout << md << std::flush;
    spdlog::info("report: {} and {}", (ctx.exp.output() / "report.md").string(),
                 ctx.exp.results_file().string());
  }
  ctx.world.barrier();
  return md;
}

void pipeline(Context& ctx, bool force) {
  struct Step {
    const char* name;
    std::function<void()> run;
  };
  const Step steps[] = {
      {"prepare", [&] { prepare(ctx, force); }},
      {"train base", [&] { train_base_model(ctx, force); }},
      {"encode", [&] { encode(ctx, force); }},
      {"train expert", [&] { train_experts(ctx, "", force); }},
      {"train multitask", [&] { train_multitask(ctx, force); }},
      {"score", [&] { score(ctx, force); }},
      {"pilot", [&] { pilot(ctx, force); }},
      {"evaluate", [&] { evaluate(ctx, force); }},
      {"report", [&] { report(ctx); }},
  };
  for (const auto& s : steps) {
    auto t0 = std::chrono::steady_clock::now();
    if (ctx.root()) spdlog::info("pipeline: == {} ==", s.name);
    s.run();
    if (ctx.root())
      spdlog::info("pipeline: {} took {:.1f} s", s.name,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
}

}  // namespace rr::stages
