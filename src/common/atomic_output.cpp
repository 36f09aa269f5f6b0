#include "common/atomic_output.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "common/error.h"

namespace fs = std::filesystem;

namespace rr {

std::string unique_suffix() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "host");
  std::random_device rd;
  return fmt::format("{}-{}-{:08x}", host, ::getpid(), rd());
}

fs::path temporary_sibling(const fs::path& path) {
  return fs::path(path.string() + ".tmp-" + unique_suffix());
}

void rename_replacing(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) RR_THROW(Runtime, "cannot rename {} to {}: {}", from.string(), to.string(), ec.message());
}

AtomicFile::AtomicFile(fs::path path, bool binary) : path_(std::move(path)), temp_(temporary_sibling(path_)) {
  if (path_.has_parent_path()) fs::create_directories(path_.parent_path());
  out_.open(temp_,
            binary ? std::ios::out | std::ios::binary | std::ios::trunc : std::ios::out | std::ios::trunc);
  if (!out_) RR_THROW(Runtime, "cannot create {}: {}", temp_.string(), std::strerror(errno));
}

void AtomicFile::commit() {
  out_.flush();
  bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok || out_.fail()) {
    std::error_code ec;
    fs::remove(temp_, ec);
    RR_THROW(Runtime, "writing {} failed (disk full or I/O error); nothing was written under that name",
             path_.string());
  }
  rename_replacing(temp_, path_);
  committed_ = true;
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  out_.close();
  std::error_code ec;
  fs::remove(temp_, ec);
}

AtomicDirectory::AtomicDirectory(fs::path path) : path_(std::move(path)), temp_(temporary_sibling(path_)) {
  std::error_code ec;
  fs::remove_all(temp_, ec);
  fs::create_directories(temp_, ec);
  if (ec) RR_THROW(Runtime, "cannot create directory {}: {}", temp_.string(), ec.message());
}

void AtomicDirectory::commit() {
  std::error_code ec;
  if (fs::exists(path_)) {
    // rename(2) cannot replace a non-empty directory: move the old one aside first.
    fs::path old = fs::path(path_.string() + ".old-" + unique_suffix());
    rename_replacing(path_, old);
    rename_replacing(temp_, path_);
    fs::remove_all(old, ec);
  } else {
    rename_replacing(temp_, path_);
  }
  committed_ = true;
}

AtomicDirectory::~AtomicDirectory() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(temp_, ec);
}

}  // namespace rr
