#include "h5data/h5_file.h"

#include <ATen/ATen.h>
#include <hdf5.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "common/vector_dtype.h"

static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t must be 64-bit (HDF5 >= 1.10)");

namespace rr::h5 {

namespace {

// The innermost message of HDF5's error stack, for our own error text.
std::string hdf5_message() {
  std::string msg;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        if (n == 0 && e->desc) *static_cast<std::string*>(out) = e->desc;
        return 0;
      },
      &msg);
  return msg;
}

// Every message of HDF5's error stack, innermost last.
std::string hdf5_stack() {
  std::string msg;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
        auto& m = *static_cast<std::string*>(out);
        if (e->desc) m += (m.empty() ? "" : "; ") + std::string(e->desc);
        return 0;
      },
      &msg);
  return msg;
}

// Silences HDF5's own error printing while any File is open (rr reports HDF5 errors itself, with the file and
// object), and restores the previous handler when the last one closes.
std::shared_ptr<void> silence_hdf5_errors() {
  static std::weak_ptr<void> current;
  if (auto s = current.lock()) return s;
  H5E_auto2_t func = nullptr;
  void* data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &func, &data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::shared_ptr<void> s(nullptr, [func, data](void*) { H5Eset_auto2(H5E_DEFAULT, func, data); });
  current = s;
  return s;
}

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& object,
                       const std::string& what) {
  std::string detail = hdf5_message();
  RR_THROW(Runtime, "HDF5 {} {}: {}{}{}", file.string(), object, what, detail.empty() ? "" : ": ", detail);
}

// A file that could not be opened or created: HDF5's file lock is named as such (it was reported as a damaged
// file), with the two reasons it fails and what to do about each.
[[noreturn]] void fail_open(const std::filesystem::path& file, const std::string& what) {
  const std::string stack = hdf5_stack();
  if (stack.find("lock") != std::string::npos)
    RR_THROW(Runtime,
             "HDF5 {}: {}: HDF5 could not lock the file ({}): another process has it open (one run at a time "
             "per output folder: is another stage of this experiment running?), or this file system does not "
             "support the locks HDF5 takes (Lustre or GPFS without flock, some NFS): there, set "
             "HDF5_USE_FILE_LOCKING=FALSE in the environment (jobs/stage.sbatch passes it on)",
             file.string(), what, stack);
  fail(file, "", what);
}

int64_t check(hid_t id, const std::filesystem::path& file, const std::string& object, const char* what) {
  if (id < 0) fail(file, object, what);
  return id;
}

void check(herr_t status, const std::filesystem::path& file, const std::string& object, const char* what,
           int /*tag*/) {
  if (status < 0) fail(file, object, what);
}

// A dataset must store what it declares before anything is allocated for reading it whole: a file cut short,
// never fully written or forged cannot make a reader allocate more than the file holds (a compressed dataset:
// at most 1024 times). element_bytes: 1 for variable-length strings (what each element costs at least).
void check_stored(const std::filesystem::path& file, const std::string& object, hsize_t count,
                  hsize_t element_bytes, hsize_t stored, hsize_t ratio = 1) {
  if (element_bytes > 0 && count > stored * ratio / element_bytes)
    fail(file, object,
         fmt::format("declares {} elements of {} bytes but the file stores {} bytes (cut short, never "
                     "written, or damaged)",
                     count, element_bytes, stored));
}

void check_stored(hid_t ds, const std::filesystem::path& file, const std::string& object, hsize_t count,
                  hsize_t element_bytes) {
  Handle dcpl(H5Dget_create_plist(ds));
  const bool filtered = dcpl.valid() && H5Pget_nfilters(dcpl.get()) > 0;
  check_stored(file, object, count, element_bytes, H5Dget_storage_size(ds), filtered ? 1024 : 1);
}

Handle string_type() {
  Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

// A 16-bit float type: sign at bit 15, then the exponent, then the mantissa.
Handle float16_bits(size_t exponent_bits, size_t mantissa_bits, size_t bias) {
  Handle t(H5Tcopy(H5T_IEEE_F32LE));
  H5Tset_fields(t.get(), 15, mantissa_bits, exponent_bits, 0, mantissa_bits);
  H5Tset_size(t.get(), 2);
  H5Tset_ebias(t.get(), bias);
  H5Tset_precision(t.get(), 16);
  return t;
}

// IEEE binary16, which h5py maps to numpy float16.
Handle half_type() {
  return float16_bits(5, 10, 15);
}

// bfloat16: float32's sign and 8-bit exponent, 7 mantissa bits.
Handle bfloat16_type() {
  return float16_bits(8, 7, 127);
}

// The HDF5 type of stored vectors, in the file and in memory alike (rr converts, HDF5 copies bytes).
Handle vector_hdf5_type(VectorType t) {
  switch (t) {
    case VectorType::Float16:
      return half_type();
    case VectorType::BFloat16:
      return bfloat16_type();
    case VectorType::Float32:
      break;
  }
  return Handle(H5Tcopy(H5T_IEEE_F32LE));
}

Handle link_create_props() {
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  H5Pset_char_encoding(lcpl.get(), H5T_CSET_UTF8);
  return lcpl;
}

Handle dataspace(int64_t rows, int64_t cols) {
  if (cols == 1) {
    hsize_t d[1] = {static_cast<hsize_t>(rows)};
    return Handle(H5Screate_simple(1, d, nullptr));
  }
  hsize_t d[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  return Handle(H5Screate_simple(2, d, nullptr));
}

}  // namespace

Handle::Handle(int64_t id) : id_(id) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Handle dying(id_);
    id_ = other.release();
  }
  return *this;
}

Handle::~Handle() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE:
      H5Fclose(id_);
      break;
    case H5I_GROUP:
      H5Gclose(id_);
      break;
    case H5I_DATASET:
      H5Dclose(id_);
      break;
    case H5I_DATASPACE:
      H5Sclose(id_);
      break;
    case H5I_DATATYPE:
      H5Tclose(id_);
      break;
    case H5I_ATTR:
      H5Aclose(id_);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id_);
      break;
    default:
      break;
  }
}

std::string library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return fmt::format("{}.{}.{}", major, minor, release);
}

File File::create(const std::filesystem::path& path, const Handle* access) {
  auto quiet = silence_hdf5_errors();
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access ? access->get() : H5P_DEFAULT);
  if (id < 0) fail_open(path, "cannot create file");
  return File(path, Handle(id), std::move(quiet), access && H5Pget_driver(access->get()) == H5FD_MPIO);
}

File File::open(const std::filesystem::path& path, bool writable, const Handle* access) {
  if (!std::filesystem::exists(path)) RR_THROW(Input, "{}: no such results file", path.string());
  auto quiet = silence_hdf5_errors();
  hid_t id =
      H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, access ? access->get() : H5P_DEFAULT);
  if (id < 0) fail_open(path, "cannot open (not an HDF5 file, truncated or corrupt?)");
  return File(path, Handle(id), std::move(quiet), access && H5Pget_driver(access->get()) == H5FD_MPIO);
}

bool File::exists(const std::string& object) const {
  if (object == "/") return true;
  size_t pos = 0;
  while ((pos = object.find('/', pos + 1)) != std::string::npos) {
    if (H5Lexists(file_.get(), object.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return H5Lexists(file_.get(), object.c_str(), H5P_DEFAULT) > 0;
}

void File::remove(const std::string& object) {
  if (exists(object))
    check(H5Ldelete(file_.get(), object.c_str(), H5P_DEFAULT), path_, object, "cannot remove", 0);
}

void File::create_group(const std::string& group) {
  if (exists(group)) return;
  Handle lcpl = link_create_props();
  Handle g(check(H5Gcreate2(file_.get(), group.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), path_, group,
                 "cannot create group"));
}

void File::move(const std::string& from, const std::string& to) {
  remove(to);
  Handle lcpl = link_create_props();
  check(H5Lmove(file_.get(), from.c_str(), file_.get(), to.c_str(), lcpl.get(), H5P_DEFAULT), path_, from,
        "cannot rename", 0);
}

void File::flush() {
  check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), path_, "", "flush failed (disk full?)", 0);
}

void File::close() {
  if (!file_.valid()) return;
  hid_t id = file_.release();
  check(H5Fclose(id), path_, "", "close failed (disk full?)", 0);
}

void File::external_link(const std::string& object, const std::string& target_file,
                         const std::string& target_path) {
  remove(object);
  Handle lcpl = link_create_props();
  check(H5Lcreate_external(target_file.c_str(), target_path.c_str(), file_.get(), object.c_str(), lcpl.get(),
                           H5P_DEFAULT),
        path_, object, "cannot create external link", 0);
}

Handle File::create_dataset(const std::string& object, int64_t type, int64_t rows, int64_t cols) {
  remove(object);
  Handle space = dataspace(rows, cols);
  Handle lcpl = link_create_props();
  return Handle(
      check(H5Dcreate2(file_.get(), object.c_str(), type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
            path_, object, "cannot create dataset"));
}

void File::write_strings(const std::string& object, const std::vector<std::string>& values) {
  Handle type = string_type();
  Handle ds = create_dataset(object, type.get(), static_cast<int64_t>(values.size()), 1);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (!values.empty())
    check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), path_, object,
          "write failed", 0);
}

namespace {

// The file and memory types of a numeric tensor.
std::pair<hid_t, hid_t> hdf5_types(at::ScalarType t, const std::filesystem::path& path,
                                   const std::string& object) {
  switch (t) {
    case at::kFloat:
      return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT};
    case at::kDouble:
      return {H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE};
    case at::kInt:
      return {H5T_STD_I32LE, H5T_NATIVE_INT32};
    case at::kLong:
      return {H5T_STD_I64LE, H5T_NATIVE_INT64};
    default:
      RR_THROW(Runtime, "HDF5 {} {}: cannot store tensors of type {}", path.string(), object,
               std::string(c10::toString(t)));
  }
}

// The tensor type that holds a stored numeric type (float16 and other floats: float32).
at::ScalarType tensor_type(hid_t stored) {
  const size_t size = H5Tget_size(stored);
  if (H5Tget_class(stored) == H5T_INTEGER) return size <= 4 ? at::kInt : at::kLong;
  return size == 8 ? at::kDouble : at::kFloat;
}

}  // namespace

void File::write(const std::string& object, const at::Tensor& values) {
  RR_CHECK(values.dim() == 1 || values.dim() == 2, Runtime, "HDF5 {} {}: tensors must be 1-D or 2-D",
           path_.string(), object);
  const at::Tensor v = values.to(at::kCPU).contiguous();
  const auto [file_type, mem_type] = hdf5_types(v.scalar_type(), path_, object);
  Handle ds = create_dataset(object, file_type, v.size(0), v.dim() == 2 ? v.size(1) : 1);
  if (v.numel() > 0)
    check(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data_ptr()), path_, object,
          "write failed (disk full?)", 0);
}

Handle File::open_dataset(const std::string& object) const {
  const hid_t id = H5Dopen2(file_.get(), object.c_str(), H5P_DEFAULT);
  if (id >= 0) return Handle(id);
  // Through a link to a file that is missing (a results part moved away or deleted): name that file.
  for (size_t end = object.find('/', 1);; end = object.find('/', end + 1)) {
    if (const auto target = external_target(object.substr(0, end))) {
      const auto file = path_.parent_path() / target->first;
      if (!std::filesystem::exists(file))
        fail(path_, object, "no such dataset: it lies in " + file.string() + ", which is missing");
    }
    if (end == std::string::npos) break;
  }
  fail(path_, object, "no such dataset");
}

at::Tensor File::read(const std::string& object) const {
  const auto [rows, cols] = shape(object);
  Handle ds = open_dataset(object);
  Handle stored(H5Dget_type(ds.get()));
  if (H5Tget_class(stored.get()) != H5T_INTEGER && H5Tget_class(stored.get()) != H5T_FLOAT)
    fail(path_, object, "not a numeric dataset");
  Handle space(H5Dget_space(ds.get()));
  const int dims = H5Sget_simple_extent_ndims(space.get());
  const at::ScalarType type = tensor_type(stored.get());
  hsize_t count = 0;
  if (__builtin_mul_overflow(static_cast<hsize_t>(rows), static_cast<hsize_t>(cols), &count))
    fail(path_, object, "impossible dimensions");
  check_stored(ds.get(), path_, object, count, H5Tget_size(stored.get()));
  at::Tensor out = dims == 2 ? at::empty({rows, cols}, at::TensorOptions().dtype(type))
                             : at::empty({rows}, at::TensorOptions().dtype(type));
  if (out.numel() > 0)
    check(H5Dread(ds.get(), hdf5_types(type, path_, object).second, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                  out.data_ptr()),
          path_, object, "read failed", 0);
  return out;
}

at::Tensor File::read_matrix(const std::string& object) const {
  const at::Tensor t = read(object);
  return t.dim() == 1 ? t.unsqueeze(1) : t;
}

std::vector<std::string> File::read_strings(const std::string& object) const {
  Handle ds = open_dataset(object);
  Handle space(H5Dget_space(ds.get()));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail(path_, object, "unreadable dataspace");
  check_stored(ds.get(), path_, object, static_cast<hsize_t>(n), 1);
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  Handle type = string_type();
  if (n > 0)
    check(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), path_, object,
          "read failed", 0);
  std::vector<std::string> out;
  out.reserve(ptrs.size());
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  if (n > 0) H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
  return out;
}

namespace {

// Selects the listed rows (ascending, unique) [lo, hi) of a 1-D or 2-D dataspace: the elements of a 1-D one
// (one call: HDF5 builds a union of hyperslabs in quadratic time, ~10 us a row for thousands of scattered
// rows), one hyperslab per run of consecutive rows of a 2-D one.
void select_row_list(hid_t space, const std::vector<int64_t>& rows, size_t lo, size_t hi, hsize_t cols,
                     const std::filesystem::path& path, const std::string& object) {
  hsize_t dims[2] = {0, 1};
  const int rank = H5Sget_simple_extent_dims(space, dims, nullptr);
  for (size_t i = lo; i < hi; ++i)
    if (rows[i] < 0 || rows[i] >= static_cast<int64_t>(dims[0]) || (i > lo && rows[i] <= rows[i - 1]))
      RR_THROW(Runtime, "HDF5 {} {}: row list not ascending within [0, {})", path.string(), object, dims[0]);
  if (rank == 1) {
    const std::vector<hsize_t> points(rows.begin() + static_cast<std::ptrdiff_t>(lo),
                                      rows.begin() + static_cast<std::ptrdiff_t>(hi));
    H5Sselect_elements(space, H5S_SELECT_SET, hi - lo, points.data());
    return;
  }
  H5Sselect_none(space);
  for (size_t i = lo; i < hi;) {
    size_t j = i + 1;
    while (j < hi && rows[j] == rows[j - 1] + 1) ++j;
    hsize_t start[2] = {static_cast<hsize_t>(rows[i]), 0}, count[2] = {j - i, cols};
    H5Sselect_hyperslab(space, H5S_SELECT_OR, start, nullptr, count, nullptr);
    i = j;
  }
}

constexpr size_t kRowsPerRead = 4096;  // bounds the selection HDF5 builds per read

}  // namespace

std::vector<std::string> File::read_strings(const std::string& object,
                                            const std::vector<int64_t>& rows) const {
  Handle ds = open_dataset(object);
  Handle type = string_type();
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (size_t lo = 0; lo < rows.size(); lo += kRowsPerRead) {
    const size_t hi = std::min(rows.size(), lo + kRowsPerRead);
    Handle fspace(H5Dget_space(ds.get()));
    select_row_list(fspace.get(), rows, lo, hi, 1, path_, object);
    hsize_t n = hi - lo;
    Handle mspace(H5Screate_simple(1, &n, nullptr));
    std::vector<char*> ptrs(hi - lo, nullptr);
    check(H5Dread(ds.get(), type.get(), mspace.get(), fspace.get(), H5P_DEFAULT, ptrs.data()), path_, object,
          "read failed", 0);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(type.get(), mspace.get(), H5P_DEFAULT, ptrs.data());
  }
  return out;
}

std::pair<int64_t, int64_t> File::shape(const std::string& object) const {
  Handle ds = open_dataset(object);
  Handle space(H5Dget_space(ds.get()));
  hsize_t dims[2] = {0, 1};
  int rank = H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (rank < 1 || rank > 2) fail(path_, object, "expected a 1-D or 2-D dataset");
  return {static_cast<int64_t>(dims[0]), rank == 2 ? static_cast<int64_t>(dims[1]) : 1};
}

void File::create_matrix(const std::string& object, int64_t rows, int64_t cols, VectorType storage,
                         int64_t chunk_rows) {
  remove(object);
  Handle type = vector_hdf5_type(storage);
  hsize_t dims[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  Handle space(H5Screate_simple(2, dims, nullptr));
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  if (rows > 0 && cols > 0) {
    hsize_t chunk[2] = {static_cast<hsize_t>(std::max<int64_t>(1, std::min(chunk_rows, rows))),
                        static_cast<hsize_t>(cols)};
    H5Pset_chunk(dcpl.get(), 2, chunk);
  }
  // Allocate at creation so that parallel writers never race on chunk allocation.
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
  Handle lcpl = link_create_props();
  Handle ds(check(
      H5Dcreate2(file_.get(), object.c_str(), type.get(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
      path_, object, "cannot create dataset"));
}

VectorType File::storage(const std::string& object) const {
  Handle ds = open_dataset(object);
  Handle type(H5Dget_type(ds.get()));
  if (H5Tget_class(type.get()) != H5T_FLOAT || H5Tget_size(type.get()) != 2) return VectorType::Float32;
  size_t sign, exponent_pos, exponent_bits, mantissa_pos, mantissa_bits;
  H5Tget_fields(type.get(), &sign, &exponent_pos, &exponent_bits, &mantissa_pos, &mantissa_bits);
  return exponent_bits == 8 ? VectorType::BFloat16 : VectorType::Float16;
}

namespace {

// The selection of rows [row0, row0 + n) of a 1-D or 2-D dataset: (file space, memory space).
std::pair<Handle, Handle> row_selection(hid_t ds, int64_t row0, int64_t n, const std::filesystem::path& path,
                                        const std::string& object) {
  Handle fspace(H5Dget_space(ds));
  hsize_t dims[2] = {0, 1};
  const int rank = H5Sget_simple_extent_dims(fspace.get(), dims, nullptr);
  if (row0 < 0 || n < 0 || row0 + n > static_cast<int64_t>(dims[0]))
    RR_THROW(Runtime, "HDF5 {} {}: rows [{}, {}) outside the {} rows", path.string(), object, row0, row0 + n,
             dims[0]);
  hsize_t start[2] = {static_cast<hsize_t>(row0), 0}, count[2] = {static_cast<hsize_t>(n), dims[1]};
  Handle mspace(H5Screate_simple(rank, count, nullptr));
  if (n > 0) {
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  } else {
    H5Sselect_none(fspace.get());
    H5Sselect_none(mspace.get());
  }
  return {std::move(fspace), std::move(mspace)};
}

}  // namespace

void File::write_rows(const std::string& object, int64_t row0, const at::Tensor& values, bool collective) {
  Handle ds = open_dataset(object);
  auto [fspace, mspace] = row_selection(ds.get(), row0, values.dim() > 0 ? values.size(0) : 0, path_, object);
  Handle dxpl(H5Pcreate(H5P_DATASET_XFER));
#ifdef H5_HAVE_PARALLEL
  // Collective transfer needs the MPI-IO driver; a one-rank run uses the default driver. (The driver is known
  // from opening: asking the file for its access list duplicates its communicator, a collective call that
  // would deadlock a rank writing while another waits in a flush.)
  if (collective && mpio_) H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE);
#else
  (void)collective;
#endif
  at::Tensor v = values.to(at::kCPU).contiguous();
  Handle vector_type;
  hid_t mem_type;
  if (const VectorType stored = storage(object);
      stored != VectorType::Float32 && v.scalar_type() == at::kFloat) {
    v = v.to(vector_dtype(stored));  // round to nearest even, as torch does
    vector_type = vector_hdf5_type(stored);
    mem_type = vector_type.get();
  } else {
    mem_type = hdf5_types(v.scalar_type(), path_, object).second;
  }
  check(H5Dwrite(ds.get(), mem_type, mspace.get(), fspace.get(), dxpl.get(),
                 v.numel() ? v.data_ptr() : nullptr),
        path_, object, "write failed (disk full?)", 0);
}

at::Tensor File::read_rows(const std::string& object, int64_t row0, int64_t n) const {
  Handle ds = open_dataset(object);
  auto [fspace, mspace] = row_selection(ds.get(), row0, n, path_, object);
  if (H5Sget_simple_extent_ndims(fspace.get()) != 2) fail(path_, object, "expected a 2-D matrix");
  const auto cols = shape(object).second;
  const VectorType stored = storage(object);
  Handle mem_type = vector_hdf5_type(stored);
  at::Tensor out = at::empty({n, cols}, at::TensorOptions().dtype(vector_dtype(stored)));
  if (n > 0)
    check(H5Dread(ds.get(), mem_type.get(), mspace.get(), fspace.get(), H5P_DEFAULT, out.data_ptr()), path_,
          object, "read failed", 0);
  return out;
}

at::Tensor File::read_range(const std::string& object, int64_t row0, int64_t n) const {
  Handle ds = open_dataset(object);
  auto [fspace, mspace] = row_selection(ds.get(), row0, n, path_, object);
  if (H5Sget_simple_extent_ndims(fspace.get()) != 1) fail(path_, object, "expected a 1-D dataset");
  Handle type(H5Dget_type(ds.get()));
  const bool is_float = H5Tget_class(type.get()) == H5T_FLOAT;
  const size_t size = H5Tget_size(type.get());
  const at::ScalarType t =
      is_float ? (size == 8 ? at::kDouble : at::kFloat) : (size == 8 ? at::kLong : at::kInt);
  at::Tensor out = at::empty({n}, at::TensorOptions().dtype(t));
  if (n > 0)
    check(H5Dread(ds.get(), hdf5_types(t, path_, object).second, mspace.get(), fspace.get(), H5P_DEFAULT,
                  out.data_ptr()),
          path_, object, "read failed", 0);
  return out;
}

at::Tensor File::read_row_list(const std::string& object, const std::vector<int64_t>& rows) const {
  const auto cols = shape(object).second;
  const VectorType stored = storage(object);
  at::Tensor out =
      at::empty({static_cast<int64_t>(rows.size()), cols}, at::TensorOptions().dtype(vector_dtype(stored)));
  Handle ds = open_dataset(object);
  Handle mem_type = vector_hdf5_type(stored);
  for (size_t lo = 0; lo < rows.size(); lo += kRowsPerRead) {
    const size_t hi = std::min(rows.size(), lo + kRowsPerRead);
    Handle fspace(H5Dget_space(ds.get()));
    select_row_list(fspace.get(), rows, lo, hi, static_cast<hsize_t>(cols), path_, object);
    hsize_t mdims[2] = {hi - lo, static_cast<hsize_t>(cols)};
    Handle mspace(H5Screate_simple(2, mdims, nullptr));
    check(H5Dread(ds.get(), mem_type.get(), mspace.get(), fspace.get(), H5P_DEFAULT,
                  static_cast<char*>(out.data_ptr()) + lo * cols * out.element_size()),
          path_, object, "read failed", 0);
  }
  return out.to(at::kFloat);
}

namespace {

Handle open_object(hid_t file, const std::filesystem::path& path, const std::string& object) {
  return Handle(check(H5Oopen(file, object.c_str(), H5P_DEFAULT), path, object, "no such object"));
}

Handle replace_attr(hid_t obj, const std::string& name, hid_t type, hid_t space) {
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  return Handle(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
}

}  // namespace

void File::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  Handle obj = open_object(file_.get(), path_, object);
  Handle type = string_type();
  Handle space(H5Screate(H5S_SCALAR));
  Handle attr = replace_attr(obj.get(), name, type.get(), space.get());
  const char* p = value.c_str();
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), &p) < 0)
    fail(path_, object, "cannot write attribute " + name);
}

void File::set_attr(const std::string& object, const std::string& name, int64_t value) {
  Handle obj = open_object(file_.get(), path_, object);
  Handle space(H5Screate(H5S_SCALAR));
  Handle attr = replace_attr(obj.get(), name, H5T_STD_I64LE, space.get());
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_INT64, &value) < 0)
    fail(path_, object, "cannot write attribute " + name);
}

void File::set_attr(const std::string& object, const std::string& name,
                    const std::vector<std::string>& values) {
  Handle obj = open_object(file_.get(), path_, object);
  Handle type = string_type();
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle attr = replace_attr(obj.get(), name, type.get(), space.get());
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (!attr.valid() || (n > 0 && H5Awrite(attr.get(), type.get(), ptrs.data()) < 0))
    fail(path_, object, "cannot write attribute " + name);
}

bool File::has_attr(const std::string& object, const std::string& name) const {
  if (!exists(object)) return false;
  Handle obj = open_object(file_.get(), path_, object);
  return H5Aexists(obj.get(), name.c_str()) > 0;
}

std::string File::attr_string(const std::string& object, const std::string& name) const {
  auto v = attr_strings(object, name);
  if (v.size() != 1) fail(path_, object, "attribute " + name + " is not a single string");
  return v[0];
}

std::vector<std::string> File::attr_strings(const std::string& object, const std::string& name) const {
  Handle obj = open_object(file_.get(), path_, object);
  Handle attr(
      check(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), path_, object, ("no attribute " + name).c_str()));
  Handle space(H5Aget_space(attr.get()));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail(path_, object, "unreadable attribute " + name);
  check_stored(path_, object + " attribute " + name, static_cast<hsize_t>(n), 1,
               H5Aget_storage_size(attr.get()));
  if (n == 0) return {};  // an empty list (HDF5 reads no buffer of no elements)
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  Handle type = string_type();
  check(H5Aread(attr.get(), type.get(), ptrs.data()), path_, object, "cannot read attribute", 0);
  std::vector<std::string> out;
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
  return out;
}

int64_t File::attr_int64(const std::string& object, const std::string& name) const {
  Handle obj = open_object(file_.get(), path_, object);
  Handle attr(
      check(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), path_, object, ("no attribute " + name).c_str()));
  int64_t v = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_INT64, &v), path_, object, "cannot read attribute", 0);
  return v;
}

std::vector<std::string> File::members(const std::string& group) const {
  std::vector<std::string> names;
  if (!exists(group)) return names;
  H5Literate_by_name(
      file_.get(), group.c_str(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names, H5P_DEFAULT);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::pair<std::string, std::string>> File::external_target(const std::string& object) const {
  if (!exists(object)) return std::nullopt;
  H5L_info_t info;
  check(H5Lget_info(file_.get(), object.c_str(), &info, H5P_DEFAULT), path_, object, "cannot read link", 0);
  if (info.type != H5L_TYPE_EXTERNAL) return std::nullopt;
  std::vector<char> value(info.u.val_size);
  check(H5Lget_val(file_.get(), object.c_str(), value.data(), value.size(), H5P_DEFAULT), path_, object,
        "cannot read external link", 0);
  const char* target_file = nullptr;
  const char* target_path = nullptr;
  check(H5Lunpack_elink_val(value.data(), value.size(), nullptr, &target_file, &target_path), path_, object,
        "cannot unpack external link", 0);
  return std::make_pair(std::string(target_file), std::string(target_path));
}

std::vector<std::string> File::external_files() const {
  std::vector<std::string> targets;
  // No exception may leave HDF5's callback: a link that cannot be read stops the visit with an error.
  check(H5Lvisit(
            file_.get(), H5_INDEX_NAME, H5_ITER_INC,
            [](hid_t group, const char* name, const H5L_info_t* info, void* data) -> herr_t {
              if (info->type != H5L_TYPE_EXTERNAL) return 0;
              try {
                std::vector<char> value(info->u.val_size);
                const char* target_file = nullptr;
                const char* target_path = nullptr;
                if (H5Lget_val(group, name, value.data(), value.size(), H5P_DEFAULT) < 0 ||
                    H5Lunpack_elink_val(value.data(), value.size(), nullptr, &target_file, &target_path) < 0)
                  return -1;
                static_cast<std::vector<std::string>*>(data)->emplace_back(target_file);
                return 0;
              } catch (...) {
                return -1;
              }
            },
            &targets),
        path_, "/", "cannot list links", 0);
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  return targets;
}

void File::copy_from(const File& from, const std::string& object, const std::string& to) {
  if (!from.exists(object)) return;
  const std::string& target = to.empty() ? object : to;
  remove(target);
  Handle lcpl = link_create_props();
  check(H5Ocopy(from.file_.get(), object.c_str(), file_.get(), target.c_str(), H5P_DEFAULT, lcpl.get()),
        path_, target, "cannot copy from another file", 0);
}

}  // namespace rr::h5
