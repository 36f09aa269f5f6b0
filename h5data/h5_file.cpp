#include "h5data/h5_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"

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

struct SilenceHdf5 {
  SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const SilenceHdf5 silence_hdf5_once;

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& object,
                       const std::string& what) {
  std::string detail = hdf5_message();
  RR_THROW(Runtime, "HDF5 {} {}: {}{}{}", file.string(), object, what, detail.empty() ? "" : ": ", detail);
}

int64_t check(hid_t id, const std::filesystem::path& file, const std::string& object, const char* what) {
  if (id < 0) fail(file, object, what);
  return id;
}

void check(herr_t status, const std::filesystem::path& file, const std::string& object, const char* what,
           int /*tag*/) {
  if (status < 0) fail(file, object, what);
}

Handle string_type() {
  Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

// IEEE binary16, which h5py maps to numpy float16.
Handle half_type() {
  Handle t(H5Tcopy(H5T_IEEE_F32LE));
  H5Tset_fields(t.get(), 15, 10, 5, 0, 10);
  H5Tset_size(t.get(), 2);
  H5Tset_ebias(t.get(), 15);
  H5Tset_precision(t.get(), 16);
  return t;
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

File File::create(const std::filesystem::path& path, const Handle* access) {
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access ? access->get() : H5P_DEFAULT);
  if (id < 0) fail(path, "", "cannot create file");
  return File(path, Handle(id));
}

File File::open(const std::filesystem::path& path, bool writable, const Handle* access) {
  if (!std::filesystem::exists(path)) RR_THROW(Input, "{}: no such results file", path.string());
  hid_t id =
      H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, access ? access->get() : H5P_DEFAULT);
  if (id < 0) fail(path, "", "cannot open (not an HDF5 file, truncated or corrupt?)");
  return File(path, Handle(id));
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

template <typename T>
void write_numeric(File& f, Handle ds, hid_t mem_type, const std::vector<T>& values,
                   const std::filesystem::path& path, const std::string& object) {
  if (!values.empty())
    check(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), path, object,
          "write failed", 0);
  (void)f;
}

template <typename T>
std::vector<T> read_numeric(hid_t file, hid_t mem_type, const std::filesystem::path& path,
                            const std::string& object) {
  Handle ds(check(H5Dopen2(file, object.c_str(), H5P_DEFAULT), path, object, "no such dataset"));
  Handle space(H5Dget_space(ds.get()));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<T> out(static_cast<size_t>(n));
  if (n > 0)
    check(H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), path, object, "read failed",
          0);
  return out;
}

}  // namespace

void File::write_int64(const std::string& object, const std::vector<int64_t>& v, int64_t cols) {
  int64_t rows = cols ? static_cast<int64_t>(v.size()) / cols : 0;
  write_numeric(*this, create_dataset(object, H5T_STD_I64LE, rows, cols), H5T_NATIVE_INT64, v, path_, object);
}
void File::write_int32(const std::string& object, const std::vector<int32_t>& v, int64_t cols) {
  int64_t rows = cols ? static_cast<int64_t>(v.size()) / cols : 0;
  write_numeric(*this, create_dataset(object, H5T_STD_I32LE, rows, cols), H5T_NATIVE_INT32, v, path_, object);
}
void File::write_float(const std::string& object, const std::vector<float>& v, int64_t cols) {
  int64_t rows = cols ? static_cast<int64_t>(v.size()) / cols : 0;
  write_numeric(*this, create_dataset(object, H5T_IEEE_F32LE, rows, cols), H5T_NATIVE_FLOAT, v, path_,
                object);
}
void File::write_double(const std::string& object, const std::vector<double>& v, int64_t cols) {
  int64_t rows = cols ? static_cast<int64_t>(v.size()) / cols : 0;
  write_numeric(*this, create_dataset(object, H5T_IEEE_F64LE, rows, cols), H5T_NATIVE_DOUBLE, v, path_,
                object);
}

std::vector<int64_t> File::read_int64(const std::string& o) const {
  return read_numeric<int64_t>(file_.get(), H5T_NATIVE_INT64, path_, o);
}
std::vector<int32_t> File::read_int32(const std::string& o) const {
  return read_numeric<int32_t>(file_.get(), H5T_NATIVE_INT32, path_, o);
}
std::vector<float> File::read_float(const std::string& o) const {
  return read_numeric<float>(file_.get(), H5T_NATIVE_FLOAT, path_, o);
}
std::vector<double> File::read_double(const std::string& o) const {
  return read_numeric<double>(file_.get(), H5T_NATIVE_DOUBLE, path_, o);
}

std::vector<std::string> File::read_strings(const std::string& object) const {
  Handle ds(check(H5Dopen2(file_.get(), object.c_str(), H5P_DEFAULT), path_, object, "no such dataset"));
  Handle space(H5Dget_space(ds.get()));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
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

std::pair<int64_t, int64_t> File::shape(const std::string& object) const {
  Handle ds(check(H5Dopen2(file_.get(), object.c_str(), H5P_DEFAULT), path_, object, "no such dataset"));
  Handle space(H5Dget_space(ds.get()));
  hsize_t dims[2] = {0, 1};
  int rank = H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (rank < 1 || rank > 2) fail(path_, object, "expected a 1-D or 2-D dataset");
  return {static_cast<int64_t>(dims[0]), rank == 2 ? static_cast<int64_t>(dims[1]) : 1};
}

void File::create_matrix(const std::string& object, int64_t rows, int64_t cols, Storage storage,
                         int64_t chunk_rows) {
  remove(object);
  Handle type = storage == Storage::Float16 ? half_type() : Handle(H5Tcopy(H5T_IEEE_F32LE));
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

Storage File::storage(const std::string& object) const {
  Handle ds(check(H5Dopen2(file_.get(), object.c_str(), H5P_DEFAULT), path_, object, "no such dataset"));
  Handle type(H5Dget_type(ds.get()));
  return H5Tget_size(type.get()) == 2 ? Storage::Float16 : Storage::Float32;
}

void File::write_rows(const std::string& object, int64_t row0, int64_t n, const float* data,
                      bool collective) {
  Handle ds(check(H5Dopen2(file_.get(), object.c_str(), H5P_DEFAULT), path_, object, "no such dataset"));
  Handle fspace(H5Dget_space(ds.get()));
  hsize_t dims[2];
  H5Sget_simple_extent_dims(fspace.get(), dims, nullptr);
  const int64_t cols = static_cast<int64_t>(dims[1]);
  if (row0 < 0 || row0 + n > static_cast<int64_t>(dims[0]))
    RR_THROW(Runtime, "HDF5 {} {}: rows [{}, {}) outside the {} rows", path_.string(), object, row0, row0 + n,
             dims[0]);
  hsize_t start[2] = {static_cast<hsize_t>(row0), 0},
          count[2] = {static_cast<hsize_t>(n), static_cast<hsize_t>(cols)};
  Handle mspace(H5Screate_simple(2, count, nullptr));
  if (n > 0) {
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  } else {
    H5Sselect_none(fspace.get());
    H5Sselect_none(mspace.get());
  }
  Handle dxpl(H5Pcreate(H5P_DATASET_XFER));
#ifdef H5_HAVE_PARALLEL
  // Collective transfer needs the MPI-IO driver; a one-rank run uses the default driver.
  Handle fapl(H5Fget_access_plist(file_.get()));
  if (collective && H5Pget_driver(fapl.get()) == H5FD_MPIO)
    H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE);
#else
  (void)collective;
#endif
  Handle ftype(H5Dget_type(ds.get()));
  const bool half = H5Tget_size(ftype.get()) == 2;
  std::vector<uint16_t> halves;
  const void* buf = data;
  hid_t mtype = H5T_NATIVE_FLOAT;
  Handle htype;
  if (half) {
    halves.resize(static_cast<size_t>(n * cols));
    for (size_t i = 0; i < halves.size(); ++i) halves[i] = float_to_half(data[i]);
    htype = half_type();
    buf = halves.data();
    mtype = htype.get();
  }
  check(H5Dwrite(ds.get(), mtype, mspace.get(), fspace.get(), dxpl.get(), buf), path_, object,
        "write failed (disk full?)", 0);
}

void File::write_rows_int32(const std::string& object, int64_t row0, const std::vector<int32_t>& values) {
  Handle ds(check(H5Dopen2(file_.get(), object.c_str(), H5P_DEFAULT), path_, object, "no such dataset"));
  Handle fspace(H5Dget_space(ds.get()));
  hsize_t start[1] = {static_cast<hsize_t>(row0)}, count[1] = {values.size()};
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mspace(H5Screate_simple(1, count, nullptr));
  check(H5Dwrite(ds.get(), H5T_NATIVE_INT32, mspace.get(), fspace.get(), H5P_DEFAULT, values.data()), path_,
        object, "write failed (disk full?)", 0);
}

Storage File::read_rows_raw(const std::string& object, int64_t row0, int64_t n,
                            std::vector<char>& out) const {
  Handle ds(check(H5Dopen2(file_.get(), object.c_str(), H5P_DEFAULT), path_, object, "no such dataset"));
  Handle fspace(H5Dget_space(ds.get()));
  hsize_t dims[2];
  if (H5Sget_simple_extent_ndims(fspace.get()) != 2) fail(path_, object, "expected a 2-D matrix");
  H5Sget_simple_extent_dims(fspace.get(), dims, nullptr);
  if (row0 < 0 || row0 + n > static_cast<int64_t>(dims[0]))
    RR_THROW(Runtime, "HDF5 {} {}: rows [{}, {}) outside the {} rows", path_.string(), object, row0, row0 + n,
             dims[0]);
  Handle ftype(H5Dget_type(ds.get()));
  const bool half = H5Tget_size(ftype.get()) == 2;
  Handle mtype = half ? half_type() : Handle(H5Tcopy(H5T_NATIVE_FLOAT));
  out.resize(static_cast<size_t>(n) * dims[1] * (half ? 2 : 4));
  if (n == 0) return half ? Storage::Float16 : Storage::Float32;
  hsize_t start[2] = {static_cast<hsize_t>(row0), 0}, count[2] = {static_cast<hsize_t>(n), dims[1]};
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mspace(H5Screate_simple(2, count, nullptr));
  check(H5Dread(ds.get(), mtype.get(), mspace.get(), fspace.get(), H5P_DEFAULT, out.data()), path_, object,
        "read failed", 0);
  return half ? Storage::Float16 : Storage::Float32;
}

void File::read_rows(const std::string& object, int64_t row0, int64_t n, float* out) const {
  std::vector<char> raw;
  Storage s = read_rows_raw(object, row0, n, raw);
  if (s == Storage::Float32) {
    std::memcpy(out, raw.data(), raw.size());
  } else {
    const auto* h = reinterpret_cast<const uint16_t*>(raw.data());
    for (size_t i = 0; i < raw.size() / 2; ++i) out[i] = half_to_float(h[i]);
  }
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

void File::copy_from(const File& from, const std::string& object) {
  if (!from.exists(object)) return;
  remove(object);
  Handle lcpl = link_create_props();
  check(H5Ocopy(from.file_.get(), object.c_str(), file_.get(), object.c_str(), H5P_DEFAULT, lcpl.get()),
        path_, object, "cannot copy from another file", 0);
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mag = x & 0x7FFFFFFFu;
  if (mag >= 0x47800000u) return static_cast<uint16_t>(sign | (mag > 0x7F800000u ? 0x7E00u : 0x7C00u));
  if (mag < 0x38800000u) {  // subnormal half (or zero)
    float a;
    uint32_t m = mag;
    std::memcpy(&a, &m, 4);
    a += 0.5f;  // the FPU rounds to nearest even at 2^-24 resolution
    uint32_t r;
    std::memcpy(&r, &a, 4);
    return static_cast<uint16_t>(sign | (r - 0x3F000000u));
  }
  uint32_t odd = (mag >> 13) & 1u;
  mag += 0xC8000FFFu + odd;  // rebias exponent (-112 << 23) and round to nearest even
  return static_cast<uint16_t>(sign | (mag >> 13));
}

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, x;
  if (exp == 0) {
    float f = static_cast<float>(man) * 0x1.0p-24f;
    std::memcpy(&x, &f, 4);
    x |= sign;
  } else if (exp == 31) {
    x = sign | 0x7F800000u | (man << 13);
  } else {
    x = sign | ((exp + 112) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

}  // namespace rr::h5
