// A thin RAII layer over the HDF5 C API: files, typed datasets and attributes, nothing more.
// <hdf5.h> stays in the .cpp (the parallel build pulls in <mpi.h>); handles are plain int64 ids here.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/vector_type.h"

namespace rr::h5 {

// Owns one HDF5 identifier (file, group, dataset, dataspace, type or property list) and closes it.
class Handle {
 public:
  Handle() = default;
  explicit Handle(int64_t id);
  ~Handle();
  Handle(Handle&& other) noexcept : id_(other.release()) {}
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  int64_t get() const { return id_; }
  int64_t release() {
    int64_t id = id_;
    id_ = -1;
    return id;
  }
  bool valid() const { return id_ >= 0; }

 private:
  int64_t id_ = -1;
};

// The HDF5 library's version ("1.10.8"), for the results' provenance.
std::string library_version();

class File {
 public:
  // `access`: a file-access property list (e.g. MPI-IO, made in mpi/); null for the default driver.
  // Every rank of the communicator must make the same create/open/dataset-creation calls when it is MPI-IO.
  static File create(const std::filesystem::path& path, const Handle* access = nullptr);
  static File open(const std::filesystem::path& path, bool writable, const Handle* access = nullptr);

  const std::filesystem::path& path() const { return path_; }
  bool exists(const std::string& object) const;  // also false when an intermediate group is missing
  void remove(const std::string& object);
  void create_group(const std::string& group);  // with intermediate groups; no-op when it exists
  void move(const std::string& from, const std::string& to);
  void flush();
  void close();
  // A link to `target_path` inside the file `target_file` (relative to this file's folder).
  void external_link(const std::string& object, const std::string& target_file,
                     const std::string& target_path);

  // Whole datasets (created; an existing one is replaced). Tensors: float32, float64, int32 or int64, 1-D or
  // 2-D (rows x cols), stored in their own type.
  void write_strings(const std::string& object, const std::vector<std::string>& values);
  void write(const std::string& object, const at::Tensor& values);
  std::vector<std::string> read_strings(const std::string& object) const;
  // The listed entries (ascending, unique) of a 1-D string dataset, in that order.
  std::vector<std::string> read_strings(const std::string& object, const std::vector<int64_t>& rows) const;
  // Entries [row0, row0 + n) of a 1-D numeric dataset, in its stored type.
  at::Tensor read_range(const std::string& object, int64_t row0, int64_t n) const;
  // A whole numeric dataset as a CPU tensor of its stored type (float16 and bfloat16 widened to float32),
  // 1-D or 2-D.
  at::Tensor read(const std::string& object) const;
  // The same as a rows x cols matrix: a 1-D dataset (what write() stores for an n x 1 matrix) is n x 1.
  at::Tensor read_matrix(const std::string& object) const;
  // rows x cols of a 1-D (cols = 1) or 2-D dataset.
  std::pair<int64_t, int64_t> shape(const std::string& object) const;

  // A rows x cols matrix of vectors in chunks of chunk_rows rows, written later by write_rows (possibly by
  // many ranks at once).
  void create_matrix(const std::string& object, int64_t rows, int64_t cols, VectorType storage,
                     int64_t chunk_rows);
  VectorType storage(const std::string& object) const;
  // Writes rows [row0, row0 + values.size(0)) of a 1-D or 2-D dataset from a CPU tensor (float32 values go
  // into float16 or bfloat16 storage rounded to nearest even). collective: every rank of an MPI-IO file calls
  // it (with zero rows if it has none) and HDF5 does collective I/O.
  void write_rows(const std::string& object, int64_t row0, const at::Tensor& values, bool collective = false);
  // Reads rows [row0, row0 + n) of a matrix of vectors in their stored type (at::kFloat, kHalf, kBFloat16).
  at::Tensor read_rows(const std::string& object, int64_t row0, int64_t n) const;
  // The listed rows (ascending, unique) of a matrix of vectors, in that order, as float32: reads only those
  // rows (a few hyperslab runs per call), never the whole matrix.
  at::Tensor read_row_list(const std::string& object, const std::vector<int64_t>& rows) const;

  // Attributes on any object ("/" for the root).
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name, int64_t value);
  void set_attr(const std::string& object, const std::string& name, const std::vector<std::string>& values);
  bool has_attr(const std::string& object, const std::string& name) const;
  std::string attr_string(const std::string& object, const std::string& name) const;
  int64_t attr_int64(const std::string& object, const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& object, const std::string& name) const;

  // Copies `object` (a dataset or a whole group) of `from` to `to` here (default: the same path), replacing
  // it.
  void copy_from(const File& from, const std::string& object, const std::string& to = "");

  // Names of the members of a group, sorted.
  std::vector<std::string> members(const std::string& group) const;
  // Where `object` links to when it is an external link: {target file, target path}; nullopt otherwise.
  std::optional<std::pair<std::string, std::string>> external_target(const std::string& object) const;
  // The target files of every external link in the file (at any depth, never followed), sorted, unique.
  std::vector<std::string> external_files() const;

 private:
  File(std::filesystem::path path, Handle file, std::shared_ptr<void> quiet, bool mpio)
      : path_(std::move(path)), quiet_(std::move(quiet)), file_(std::move(file)), mpio_(mpio) {}
  Handle create_dataset(const std::string& object, int64_t type, int64_t rows, int64_t cols);
  Handle open_dataset(const std::string& object) const;  // an error names a missing linked file
  std::filesystem::path path_;
  std::shared_ptr<void> quiet_;  // HDF5's error printing stays off while the file is open (outlives file_)
  Handle file_;
  bool mpio_ = false;  // opened through MPI-IO by every rank of a communicator
};

}  // namespace rr::h5
