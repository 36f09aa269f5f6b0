#include "config/slurm_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <regex>

#include "common/error.h"
#include "config/stage_names.h"
#include "data/json_reader.h"

namespace rr {

namespace {

// rr's own layers: every job, the light ones ("cpu"), and one task of an array stage.
const SlurmResources kDefault{"", "", "04:00:00", 2, 0, 1}, kCpu{"", "", "01:00:00", 1, 0, 1},
    kArrayTask{"", "", "08:00:00", 1, -1, 2};

// One-task stages and the jobs that assemble an array's output get the "cpu" layer.
bool light(const std::string& job) {
  for (const auto& s : stage_names())
    if ((s.name == job && s.klass == StageClass::OneTask) || s.assemble_job() == job) return true;
  return false;
}

bool array_task(const std::string& job) {
  for (const auto& s : stage_names())
    if (s.name == job) return s.array != StageArray::None;
  return false;
}

void overlay(SlurmResources& into, const SlurmResources& layer) {
  if (!layer.partition.empty()) into.partition = layer.partition;
  if (!layer.mem.empty()) into.mem = layer.mem;
  if (!layer.time.empty()) into.time = layer.time;
  if (layer.ntasks >= 0) into.ntasks = layer.ntasks;
  if (layer.gpus_per_task >= 0) into.gpus_per_task = layer.gpus_per_task;
  if (layer.cpus_per_task >= 0) into.cpus_per_task = layer.cpus_per_task;
}

void check_format(JsonObjectReader& r, const std::string& key, const std::string& value,
                  const std::regex& form, const char* example) {
  RR_CHECK(value.empty() || std::regex_match(value, form), Usage,
           "{}: '{}' = '{}' is not a Slurm {} (e.g. {})", r.where(), r.key_path(key), value, key, example);
}

SlurmResources read_resources(JsonObjectReader r) {
  SlurmResources s;
  r.get("partition", s.partition);
  r.get("mem", s.mem);
  r.get("time", s.time);
  const auto count = [&](const char* key, int64_t& dst, int64_t lo, int64_t hi) {  // absent: inherits (-1)
    int64_t v = lo;
    r.get(key, v, lo, hi);
    if (r.has(key)) dst = v;
  };
  count("ntasks", s.ntasks, 1, 1 << 20);
  count("gpus_per_task", s.gpus_per_task, 0, 64);
  count("cpus_per_task", s.cpus_per_task, 1, 4096);
  r.finish();
  static const std::regex partition("[A-Za-z0-9_.,-]+"), mem("[0-9]+[KMGT]?"),
      time("([0-9]+-)?[0-9]+(:[0-9]{2}){0,2}");
  check_format(r, "partition", s.partition, partition, "gpu");
  check_format(r, "mem", s.mem, mem, "64G");
  check_format(r, "time", s.time, time, "12:00:00 or 1-00:00:00");
  return s;
}

}  // namespace

const std::vector<std::string>& slurm_job_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out{"default", "cpu"};
    for (const auto& s : stage_names()) out.push_back(s.name);
    return out;
  }();
  return names;
}

void read_slurm(JsonObjectReader r, SlurmConfig& slurm) {
  r.get("requeue_limit", slurm.requeue_limit, 0, 1000);
  r.get("signal_seconds", slurm.signal_seconds, 0, 86400);
  for (const auto& name : slurm_job_names()) slurm.jobs[name] = read_resources(r.object(name));
  r.finish();
}

SlurmResources slurm_resources(const SlurmConfig& slurm, const std::string& job) {
  SlurmResources out;
  const auto layer = [&](const std::string& name, const SlurmResources* ours) {
    if (ours) overlay(out, *ours);
    if (auto it = slurm.jobs.find(name); it != slurm.jobs.end()) overlay(out, it->second);
  };
  layer("default", &kDefault);
  if (light(job)) layer("cpu", &kCpu);
  layer(job, array_task(job) ? &kArrayTask : nullptr);
  return out;
}

std::string sbatch_options(const SlurmConfig& slurm, const std::string& job) {
  std::vector<std::string> jobs;
  for (const auto& s : stage_names()) {
    jobs.push_back(s.name);
    if (!s.assemble_job().empty()) jobs.push_back(s.assemble_job());
  }
  RR_CHECK(std::find(jobs.begin(), jobs.end(), job) != jobs.end(), Usage, "no Slurm job '{}' (jobs: {})", job,
           fmt::join(jobs, ", "));
  const SlurmResources r = slurm_resources(slurm, job);
  std::string out =
      fmt::format("--ntasks={} --cpus-per-task={} --time={}", r.ntasks, r.cpus_per_task, r.time);
  if (!r.partition.empty()) out += " --partition=" + r.partition;
  if (!r.mem.empty()) out += " --mem=" + r.mem;
  if (r.gpus_per_task > 0) out += fmt::format(" --gpus-per-task={}", r.gpus_per_task);
  if (slurm.signal_seconds > 0) out += fmt::format(" --signal=B:USR1@{} --requeue", slurm.signal_seconds);
  return out;
}

}  // namespace rr
