// A thin RAII layer over the HDF5 C API: files, typed datasets and attributes, nothing more.
// <hdf5.h> stays in the .cpp (the parallel build pulls in <mpi.h>); handles are plain int64 ids here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

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

enum class Storage { Float32, Float16 };

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

  // Whole-dataset writers (create; an existing dataset is replaced). Dims are given as rows x cols.
  void write_strings(const std::string& object, const std::vector<std::string>& values);
  void write_int64(const std::string& object, const std::vector<int64_t>& values, int64_t cols = 1);
  void write_int32(const std::string& object, const std::vector<int32_t>& values, int64_t cols = 1);
  void write_float(const std::string& object, const std::vector<float>& values, int64_t cols = 1);
  void write_double(const std::string& object, const std::vector<double>& values, int64_t cols = 1);

  std::vector<std::string> read_strings(const std::string& object) const;
  std::vector<int64_t> read_int64(const std::string& object) const;
  std::vector<int32_t> read_int32(const std::string& object) const;
  std::vector<float> read_float(const std::string& object) const;  // float16 datasets are widened
  std::vector<double> read_double(const std::string& object) const;
  // rows x cols of a 1-D (cols = 1) or 2-D dataset.
  std::pair<int64_t, int64_t> shape(const std::string& object) const;

  // A rows x cols float matrix in chunks of chunk_rows rows, written later by write_rows (possibly by
  // many ranks at once). Float16 stores IEEE half (h5py reads it as float16).
  void create_matrix(const std::string& object, int64_t rows, int64_t cols, Storage storage,
                     int64_t chunk_rows);
  // Writes rows [row0, row0 + n) from a float32 n x cols buffer (converted to the dataset's storage).
  // collective: every rank of an MPI-IO file calls it (n may be 0) and HDF5 does collective I/O.
  void write_rows(const std::string& object, int64_t row0, int64_t n, const float* data,
                  bool collective = false);
  // Overwrites elements [row0, row0 + values.size()) of a 1-D int32 dataset (independent I/O).
  void write_rows_int32(const std::string& object, int64_t row0, const std::vector<int32_t>& values);
  // Reads rows [row0, row0 + n) as float32 into out (n x cols).
  void read_rows(const std::string& object, int64_t row0, int64_t n, float* out) const;
  // Reads rows [row0, row0 + n) as raw storage (float32 or IEEE-half bits) into out; returns the storage.
  Storage read_rows_raw(const std::string& object, int64_t row0, int64_t n, std::vector<char>& out) const;
  Storage storage(const std::string& object) const;

  // Attributes on any object ("/" for the root).
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name, int64_t value);
  void set_attr(const std::string& object, const std::string& name, const std::vector<std::string>& values);
  bool has_attr(const std::string& object, const std::string& name) const;
  std::string attr_string(const std::string& object, const std::string& name) const;
  int64_t attr_int64(const std::string& object, const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& object, const std::string& name) const;

  // Copies `object` (a dataset or a whole group) of `from` to the same path here, replacing it.
  void copy_from(const File& from, const std::string& object);

  // Names of the members of a group, sorted.
  std::vector<std::string> members(const std::string& group) const;

 private:
  File(std::filesystem::path path, Handle file) : path_(std::move(path)), file_(std::move(file)) {}
  Handle create_dataset(const std::string& object, int64_t type, int64_t rows, int64_t cols);
  std::filesystem::path path_;
  Handle file_;
};

// Half <-> float conversions used for float16 storage (round to nearest even).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

}  // namespace rr::h5
