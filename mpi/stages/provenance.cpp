#include "mpi/stages/provenance.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/tensor.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>

#include "common/error.h"
#include "common/runtime_info.h"
#include "common/sha256.h"
#include "common/version.h"
#include "data/beir.h"
#include "h5data/h5_file.h"
#include "h5data/schema.h"
#include "mpi/comm.h"
#include "mpi/stages/context.h"

namespace rr::stages {

namespace fs = std::filesystem;

namespace {

// The files of a model directory rr reads (a Hugging Face model, a sentence-transformers folder or a PEFT
// adapter), those present.
constexpr const char* kModelFiles[] = {
    "config.json",           "model.safetensors",     "pytorch_model.bin",         "vocab.txt",
    "tokenizer.json",        "tokenizer_config.json", "special_tokens_map.json",   "modules.json",
    "1_Pooling/config.json", "adapter_config.json",   "adapter_model.safetensors", "adapter_model.bin"};

void add_file(std::vector<InputFile>& out, const std::string& owner, const std::string& name,
              const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return;
  const auto size = fs::file_size(path, ec);
  const auto mtime = fs::last_write_time(path, ec);
  if (ec) return;
  out.push_back({.owner = owner,
                 .name = name,
                 .path = path.string(),
                 .size = static_cast<int64_t>(size),
                 .mtime = static_cast<int64_t>(mtime.time_since_epoch().count()),
                 .sha256 = ""});
}

void add_model(std::vector<InputFile>& out, const std::string& owner, const fs::path& dir) {
  for (const char* f : kModelFiles) add_file(out, owner, f, dir / f);
}

std::string key(const InputFile& f) {
  return f.owner + "\n" + f.name;
}

std::string short_sum(const std::string& sha) {
  return sha.substr(0, 12);
}

std::string utc_now() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

}  // namespace

std::vector<InputFile> list_inputs(const Experiment& exp) {
  std::vector<InputFile> out;
  for (const auto& d : exp.datasets) {
    const auto files = d.source ? d.source->files() : beir_folder_files(d.path);
    for (const auto& f : files) add_file(out, "dataset " + d.name, f.name, f.path);
  }
  add_model(out, "base", exp.base_path());
  for (const auto& x : exp.experts) add_model(out, "expert " + x.name, x.adapter);
  add_model(out, "multitask", exp.multitask_path());
  return out;
}

void checksum_inputs(std::vector<InputFile>& files, const std::vector<InputFile>& known,
                     const mpi::Comm* comm) {
  std::map<std::string, const InputFile*> by_path;
  for (const auto& k : known) by_path[k.path] = &k;
  std::vector<size_t> todo;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto it = by_path.find(files[i].path);
    if (it != by_path.end() && it->second->size == files[i].size && it->second->mtime == files[i].mtime &&
        !it->second->sha256.empty())
      files[i].sha256 = it->second->sha256;
    else
      todo.push_back(i);
  }
  const int ranks = comm ? comm->size() : 1, rank = comm ? comm->rank() : 0;
  std::vector<std::string> mine;  // "index sha256" of this rank's share
  const auto hash_share = [&] {
    for (size_t j = static_cast<size_t>(rank); j < todo.size(); j += static_cast<size_t>(ranks))
      mine.push_back(fmt::format("{} {}", todo[j], sha256_file(files[todo[j]].path)));
  };
  if (!comm) {
    hash_share();
  } else {
    mpi::collective_try(*comm, hash_share);
    mine = comm->allgather_strings(mine);
  }
  for (const auto& line : mine) {
    const size_t space = line.find(' ');
    files[std::stoul(line.substr(0, space))].sha256 = line.substr(space + 1);
  }
}

std::vector<InputFile> recorded_inputs(const fs::path& results) {
  std::vector<InputFile> out;
  if (!fs::exists(results)) return out;
  try {
    const auto f = h5::File::open(results, false);
    const std::string g = schema::kProvenanceInputs;
    if (!f.exists(g + "/path")) return out;
    const auto owner = f.read_strings(g + "/owner"), name = f.read_strings(g + "/name"),
               path = f.read_strings(g + "/path"), sha = f.read_strings(g + "/sha256");
    const auto size = f.read(g + "/size").contiguous(), mtime = f.read(g + "/mtime").contiguous();
    for (size_t i = 0; i < path.size(); ++i)
      out.push_back({.owner = owner[i],
                     .name = name[i],
                     .path = path[i],
                     .size = size.data_ptr<int64_t>()[i],
                     .mtime = mtime.data_ptr<int64_t>()[i],
                     .sha256 = sha[i]});
  } catch (const std::exception& e) {
    spdlog::warn("{}: its /provenance cannot be read ({}); every input is checksummed again",
                 results.string(), e.what());
    out.clear();
  }
  return out;
}

std::vector<std::string> input_changes(const std::vector<InputFile>& recorded,
                                       const std::vector<InputFile>& now) {
  std::map<std::string, const InputFile*> before;
  for (const auto& f : recorded) before[key(f)] = &f;
  std::vector<std::string> lines;
  for (const auto& f : now) {
    const auto it = before.find(key(f));
    if (it == before.end()) {
      lines.push_back(fmt::format("{}: {} new ({})", f.owner, f.name, f.path));
      continue;
    }
    const InputFile& old = *it->second;
    if (old.sha256 != f.sha256)
      lines.push_back(fmt::format("{}: {} changed ({}; SHA-256 {}… -> {}…, {} -> {} bytes)", f.owner, f.name,
                                  f.path, short_sum(old.sha256), short_sum(f.sha256), old.size, f.size));
    else if (old.mtime != f.mtime || old.path != f.path)
      lines.push_back(fmt::format("{}: {} touched or moved, same content ({})", f.owner, f.name, f.path));
    before.erase(it);
  }
  for (const auto& [k, f] : before)
    lines.push_back(fmt::format("{}: {} missing ({})", f->owner, f->name, f->path));
  return lines;
}

void verify_checksums(const Experiment& exp, const std::vector<InputFile>& now) {
  for (const auto& d : exp.datasets) {
    const std::string owner = "dataset " + d.name;
    for (const auto& [name, expected] : d.checksums) {
      const auto it = std::find_if(now.begin(), now.end(),
                                   [&](const InputFile& f) { return f.owner == owner && f.name == name; });
      RR_CHECK(
          it != now.end(), Input,
          "{}: dataset '{}': checksums names '{}', which is not one of its input files (run `rr_analysis.py "
          "provenance` on a results file for their names)",
          exp.file.string(), d.name, name);
      RR_CHECK(
          it->sha256 == expected, Input,
          "{}: dataset '{}': {} ({}) has SHA-256 {}, but its checksums expect {}: the file is not the one "
          "the experiment was written for",
          exp.file.string(), d.name, name, it->path, it->sha256, expected);
    }
  }
}

std::vector<InputFile> current_inputs(const Context& ctx, const std::string& stage) {
  std::vector<InputFile> recorded;
  if (ctx.root()) recorded = recorded_inputs(ctx.exp.results_file());
  // Every rank reuses the root's checksums (a file on a shared file system has one size and mtime).
  std::vector<std::string> packed;
  for (const auto& f : recorded)
    packed.push_back(fmt::format("{}\t{}\t{}\t{}", f.path, f.size, f.mtime, f.sha256));
  packed = ctx.world.allgather_strings(ctx.root() ? packed : std::vector<std::string>{});
  std::vector<InputFile> known;
  for (const auto& line : packed) {
    InputFile f;
    const size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
    f.path = line.substr(0, a);
    f.size = std::stoll(line.substr(a + 1, b - a - 1));
    f.mtime = std::stoll(line.substr(b + 1, c - b - 1));
    f.sha256 = line.substr(c + 1);
    known.push_back(std::move(f));
  }
  auto now = list_inputs(ctx.exp);
  checksum_inputs(now, known, &ctx.world);
  if (ctx.root() && !recorded.empty()) {
    const auto changes = input_changes(recorded, now);
    if (!changes.empty())
      spdlog::warn("{}: {} input file(s) differ from those {} recorded:\n  {}", stage, changes.size(),
                   ctx.exp.results_file().string(), fmt::join(changes, "\n  "));
  }
  mpi::collective_try(ctx.world, [&] { verify_checksums(ctx.exp, now); });
  return now;
}

RunPlace run_place(const Context& ctx) {
  const auto names = ctx.world.gather_strings({mpi::Environment::processor_name()});
  std::map<std::string, int> per_host;
  for (const auto& n : names) ++per_host[n];
  RunPlace place;
  for (const auto& [host, n] : per_host) place.hosts.push_back(fmt::format("{} x{}", host, n));
  place.ranks = ctx.world.size();
  place.threads = runtime_info().threads;
  return place;
}

void write_provenance(h5::File& file, const Context& ctx, const std::string& stage, const RunPlace& place,
                      const std::map<std::string, std::string>& facts, const std::vector<InputFile>& inputs) {
  const std::string g = schema::kProvenance;
  if (file.exists(g)) file.remove(g);
  file.create_group(schema::kProvenanceInputs);
  const std::string config = ctx.config_json();
  const std::map<std::string, std::string> text = {{"version", version()},
                                                   {"git_commit", git_commit()},
                                                   {"config", config},
                                                   {"config_sha256", sha256_text(config)},
                                                   {"stage", stage},
                                                   {"recorded_utc", utc_now()},
                                                   {"libtorch", TORCH_VERSION},
                                                   {"mpi", mpi::Environment::library_version()},
                                                   {"hdf5", h5::library_version()}};
  for (const auto& [name, value] : text) file.set_attr(g, name, value);
  for (const auto& [name, value] : facts) file.set_attr(g, name, value);
  file.set_attr(g, "git_dirty", static_cast<int64_t>(git_dirty()));
  file.set_attr(g, "ranks", static_cast<int64_t>(place.ranks));
  file.set_attr(g, "threads", static_cast<int64_t>(place.threads));
  file.set_attr(g, "hosts", place.hosts);
  if (inputs.empty()) return;
  std::vector<std::string> owner, name, path, sha;
  std::vector<int64_t> size, mtime;
  for (const auto& f : inputs) {
    owner.push_back(f.owner);
    name.push_back(f.name);
    path.push_back(f.path);
    sha.push_back(f.sha256);
    size.push_back(f.size);
    mtime.push_back(f.mtime);
  }
  const std::string in = schema::kProvenanceInputs;
  file.write_strings(in + "/owner", owner);
  file.write_strings(in + "/name", name);
  file.write_strings(in + "/path", path);
  file.write_strings(in + "/sha256", sha);
  file.write(in + "/size", at::tensor(size, at::kLong));
  file.write(in + "/mtime", at::tensor(mtime, at::kLong));
}

}  // namespace rr::stages
