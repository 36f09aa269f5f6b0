// Outputs that appear under their final name only when complete: write to a temporary sibling,
// then rename (atomic on POSIX within one file system). An output abandoned by an exception is removed.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace rr {

// host-pid-random: unique among the processes of a cluster job writing into one shared folder (two nodes
// can run the same PID; a requeued job can reuse one).
std::string unique_suffix();

// A text or binary file written through stream(); commit() flushes, checks for write errors
// (e.g. a full disk) and renames it to `path`.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path, bool binary = false);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return out_; }
  const std::filesystem::path& temp_path() const { return temp_; }
  void commit();

 private:
  std::filesystem::path path_, temp_;
  std::ofstream out_;
  bool committed_ = false;
};

// A directory filled under a temporary name; commit() replaces `path` with it.
class AtomicDirectory {
 public:
  explicit AtomicDirectory(std::filesystem::path path);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  // Where to write the contents until commit().
  const std::filesystem::path& temp_path() const { return temp_; }
  void commit();

 private:
  std::filesystem::path path_, temp_;
  bool committed_ = false;
};

// "<path>.tmp-<host>-<pid>-<random>": the temporary name used by the classes above (also for HDF5 files),
// different for every call, so concurrent writers on any nodes never share one.
std::filesystem::path temporary_sibling(const std::filesystem::path& path);

// Renames `from` to `to`, replacing `to`; throws Runtime naming both on failure.
void rename_replacing(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace rr
