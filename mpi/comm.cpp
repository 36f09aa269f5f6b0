#include "mpi/comm.h"

#include <hdf5.h>
#include <mpi.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "common/error.h"
#include "common/stop_request.h"
#include "mpi/parallel_h5.h"

namespace rr::mpi {

namespace {

void check(int code, const char* what, int rank) {
  if (code == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, msg, &len);
  RR_THROW(Runtime, "MPI {} failed on rank {}: {}", what, rank, std::string(msg, static_cast<size_t>(len)));
}

// MPI counts are int: move large buffers in pieces of at most 1 GiB.
constexpr int64_t kMaxPiece = int64_t{1} << 30;

}  // namespace

struct Comm::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  bool owned = false;
  ~Impl() {
    if (owned && comm != MPI_COMM_NULL) {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Comm_free(&comm);
    }
  }
};

namespace {

// True when a launcher (mpirun, srun, a PMI/PMIx server) started this process. Without one, rr runs as a
// single rank without initialising MPI at all: no start-up cost, no session files, usable on login nodes.
bool launched_by_mpi() {
  for (const char* v :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS", "SLURM_STEP_ID"})
    if (std::getenv(v)) return true;
  return false;
}

bool g_serial = false;  // the one-rank world of a process started without a launcher

}  // namespace

Environment::Environment(int& argc, char**& argv) {
  if (!launched_by_mpi()) {
    g_serial = true;
    return;
  }
  int provided = 0;
  // FUNNELED: only the main thread calls MPI; torch/OpenMP threads never do.
  int code = MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  if (code != MPI_SUCCESS) RR_THROW(Runtime, "MPI_Init_thread failed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

Environment::~Environment() {
  if (g_serial) {
    g_serial = false;
    return;
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

bool Environment::initialized() {
  if (g_serial) return true;
  int flag = 0;
  MPI_Initialized(&flag);
  int finalized = 0;
  MPI_Finalized(&finalized);
  return flag && !finalized;
}

std::string Environment::library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int n = 0;
  MPI_Get_library_version(text, &n);
  std::string out(text, static_cast<size_t>(std::max(n, 0)));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\0')) out.pop_back();
  return out.substr(0, out.find(','));  // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
}

std::string Environment::processor_name() {
  char name[MPI_MAX_PROCESSOR_NAME];
  int n = 0;
  if (g_serial || !initialized() || MPI_Get_processor_name(name, &n) != MPI_SUCCESS) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    return host;
  }
  return std::string(name, static_cast<size_t>(n));
}

Environment::NodePlacement Environment::node_placement() {
  NodePlacement p;
  if (g_serial || !initialized()) return p;
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &p.rank);
  MPI_Comm_size(node, &p.size);
  MPI_Comm_free(&node);
  return p;
}

Comm::Comm(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  if (impl_->comm != MPI_COMM_NULL) {
    MPI_Comm_rank(impl_->comm, &rank_);
    MPI_Comm_size(impl_->comm, &size_);
  }
}

Comm::~Comm() = default;
Comm::Comm(Comm&&) noexcept = default;
Comm& Comm::operator=(Comm&&) noexcept = default;

Comm Comm::world() {
  if (!Environment::initialized()) RR_THROW(Runtime, "MPI is not initialised (no rr::mpi::Environment)");
  auto impl = std::make_unique<Impl>();
  impl->comm = g_serial ? MPI_COMM_NULL : MPI_COMM_WORLD;
  return Comm(std::move(impl));
}

bool Comm::serial() const {
  return impl_->comm == MPI_COMM_NULL;
}

void Comm::barrier() const {
  if (!serial()) check(MPI_Barrier(impl_->comm), "barrier", rank_);
}

Comm Comm::split(int color, int key) const {
  auto impl = std::make_unique<Impl>();
  if (serial()) return Comm(std::move(impl));
  check(MPI_Comm_split(impl_->comm, color, key, &impl->comm), "comm split", rank_);
  MPI_Comm_set_errhandler(impl->comm, MPI_ERRORS_RETURN);
  impl->owned = true;
  return Comm(std::move(impl));
}

void Comm::abort(int code) const {
  if (!serial()) MPI_Abort(impl_->comm, code);
  std::abort();
}

namespace {

Traffic g_traffic;  // this process's payload bytes (one MPI rank per process)

}  // namespace

Traffic traffic() {
  return g_traffic;
}

void Comm::bcast_bytes(void* data, int64_t bytes, int root) const {
  if (serial()) return;
  (rank_ == root ? g_traffic.sent : g_traffic.received) += bytes;
  auto* p = static_cast<char*>(data);
  for (int64_t off = 0; off < bytes; off += kMaxPiece)
    check(MPI_Bcast(p + off, static_cast<int>(std::min(kMaxPiece, bytes - off)), MPI_BYTE, root, impl_->comm),
          "broadcast", rank_);
}

std::vector<char> Comm::gatherv_bytes(const void* data, int64_t bytes, std::vector<int64_t>& counts, bool all,
                                      int root) const {
  if (serial()) {
    counts.assign(1, bytes);
    const char* p = static_cast<const char*>(data);
    return std::vector<char>(p, p + bytes);
  }
  counts.assign(static_cast<size_t>(size_), 0);
  if (all)
    check(MPI_Allgather(&bytes, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, impl_->comm), "allgather",
          rank_);
  else
    check(MPI_Gather(&bytes, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, root, impl_->comm), "gather",
          rank_);
  int64_t total = 0;
  for (auto c : counts) total += c;
  if (!all && rank_ != root) total = 0;
  std::vector<char> out(static_cast<size_t>(total));
  if (all) {
    // Broadcast each rank's piece in turn: no int-count limit, and the result is identical on every rank.
    int64_t off = 0;
    for (int r = 0; r < size_; ++r) {
      if (r == rank_ && counts[r] > 0) std::memcpy(out.data() + off, data, static_cast<size_t>(counts[r]));
      bcast_bytes(out.data() + off, counts[r], r);
      off += counts[r];
    }
    return out;
  }
  if (rank_ == root) {
    g_traffic.received += total - counts[static_cast<size_t>(root)];
  } else {
    g_traffic.sent += bytes;
  }
  bool small = total < kMaxPiece && bytes < kMaxPiece;
  int small_all = 0, small_me = small ? 1 : 0;
  check(MPI_Allreduce(&small_me, &small_all, 1, MPI_INT, MPI_MIN, impl_->comm), "allreduce", rank_);
  if (small_all) {
    std::vector<int> icounts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
    for (int r = 0, off = 0; r < size_; ++r) {
      icounts[r] = static_cast<int>(counts[r]);
      displs[r] = off;
      off += icounts[r];
    }
    check(MPI_Gatherv(data, static_cast<int>(bytes), MPI_BYTE, out.data(), icounts.data(), displs.data(),
                      MPI_BYTE, root, impl_->comm),
          "gatherv", rank_);
    return out;
  }
  // Large: point-to-point in pieces.
  if (rank_ == root) {
    int64_t off = 0;
    for (int r = 0; r < size_; ++r) {
      if (r == root) {
        if (counts[r] > 0) std::memcpy(out.data() + off, data, static_cast<size_t>(counts[r]));
      } else {
        for (int64_t o = 0; o < counts[r]; o += kMaxPiece)
          check(MPI_Recv(out.data() + off + o, static_cast<int>(std::min(kMaxPiece, counts[r] - o)), MPI_BYTE,
                         r, 7, impl_->comm, MPI_STATUS_IGNORE),
                "recv", rank_);
      }
      off += counts[r];
    }
  } else {
    const char* p = static_cast<const char*>(data);
    for (int64_t o = 0; o < bytes; o += kMaxPiece)
      check(MPI_Send(p + o, static_cast<int>(std::min(kMaxPiece, bytes - o)), MPI_BYTE, root, 7, impl_->comm),
            "send", rank_);
  }
  return out;
}

void Comm::send_bytes(const std::vector<char>& data, int dest, int tag) const {
  RR_CHECK(!serial(), Runtime, "send_bytes on a one-rank world");
  int64_t n = static_cast<int64_t>(data.size());
  g_traffic.sent += n;
  check(MPI_Send(&n, 1, MPI_INT64_T, dest, tag, impl_->comm), "send", rank_);
  for (int64_t off = 0; off < n; off += kMaxPiece)
    check(MPI_Send(data.data() + off, static_cast<int>(std::min(kMaxPiece, n - off)), MPI_BYTE, dest, tag,
                   impl_->comm),
          "send", rank_);
}

std::vector<char> Comm::recv_bytes(int source, int tag) const {
  RR_CHECK(!serial(), Runtime, "recv_bytes on a one-rank world");
  int64_t n = 0;
  check(MPI_Recv(&n, 1, MPI_INT64_T, source, tag, impl_->comm, MPI_STATUS_IGNORE), "recv", rank_);
  g_traffic.received += n;
  std::vector<char> data(static_cast<size_t>(n));
  for (int64_t off = 0; off < n; off += kMaxPiece)
    check(MPI_Recv(data.data() + off, static_cast<int>(std::min(kMaxPiece, n - off)), MPI_BYTE, source, tag,
                   impl_->comm, MPI_STATUS_IGNORE),
          "recv", rank_);
  return data;
}

namespace {

void allreduce(void* data, int64_t n, MPI_Datatype type, MPI_Op op, size_t elem, MPI_Comm comm, int rank) {
  if (comm == MPI_COMM_NULL) return;  // one rank: the sum is the value
  g_traffic.sent += n * static_cast<int64_t>(elem);
  g_traffic.received += n * static_cast<int64_t>(elem);
  auto* p = static_cast<char*>(data);
  const int64_t piece = kMaxPiece / static_cast<int64_t>(elem);
  for (int64_t off = 0; off < n; off += piece)
    check(MPI_Allreduce(MPI_IN_PLACE, p + off * static_cast<int64_t>(elem),
                        static_cast<int>(std::min(piece, n - off)), type, op, comm),
          "allreduce", rank);
}

}  // namespace

void Comm::allreduce_sum_double(double* d, int64_t n) const {
  allreduce(d, n, MPI_DOUBLE, MPI_SUM, sizeof(double), impl_->comm, rank_);
}
void Comm::allreduce_sum_float(float* d, int64_t n) const {
  allreduce(d, n, MPI_FLOAT, MPI_SUM, sizeof(float), impl_->comm, rank_);
}
void Comm::allreduce_sum_int64(int64_t* d, int64_t n) const {
  allreduce(d, n, MPI_INT64_T, MPI_SUM, sizeof(int64_t), impl_->comm, rank_);
}
void Comm::allreduce_max_int64(int64_t* d, int64_t n) const {
  allreduce(d, n, MPI_INT64_T, MPI_MAX, sizeof(int64_t), impl_->comm, rank_);
}

std::string Comm::bcast_string(std::string s, int root) const {
  std::vector<char> v(s.begin(), s.end());
  bcast(v, root);
  return std::string(v.begin(), v.end());
}

namespace {

std::vector<char> pack_strings(const std::vector<std::string>& v) {
  std::vector<char> out;
  for (const auto& s : v) {
    int64_t n = static_cast<int64_t>(s.size());
    out.insert(out.end(), reinterpret_cast<const char*>(&n), reinterpret_cast<const char*>(&n) + sizeof n);
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

std::vector<std::string> unpack_strings(const std::vector<char>& bytes) {
  std::vector<std::string> out;
  size_t off = 0;
  while (off < bytes.size()) {
    int64_t n;
    std::memcpy(&n, bytes.data() + off, sizeof n);
    off += sizeof n;
    out.emplace_back(bytes.data() + off, static_cast<size_t>(n));
    off += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace

std::vector<std::string> Comm::allgather_strings(const std::vector<std::string>& local) const {
  return unpack_strings(allgatherv(pack_strings(local)));
}

std::vector<std::string> Comm::gather_strings(const std::vector<std::string>& local, int root) const {
  return unpack_strings(gatherv(pack_strings(local), root));
}

h5::Handle mpio_file_access(const Comm& comm) {
  h5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (!comm.serial() && comm.size() > 1 && H5Pset_fapl_mpio(fapl.get(), comm.impl_->comm, MPI_INFO_NULL) < 0)
    RR_THROW(Runtime, "H5Pset_fapl_mpio failed on rank {}", comm.rank());
  return fapl;
}

void collective_try(const Comm& comm, const std::function<void()>& fn) {
  int32_t kind = -1;  // this rank's error kind, -1 when fn succeeded
  std::string message;
  try {
    fn();
  } catch (const Error& e) {
    kind = static_cast<int32_t>(e.kind());
    message = e.what();
  } catch (const std::exception& e) {
    kind = static_cast<int32_t>(ErrorKind::Runtime);
    message = e.what();
  }
  const std::vector<int32_t> kinds = comm.allgatherv(std::vector<int32_t>{kind});
  for (int r = 0; r < comm.size(); ++r) {
    if (kinds[r] < 0) continue;
    message = comm.bcast_string(message, r);
    throw Error(static_cast<ErrorKind>(kinds[r]), message, __FILE__, __LINE__).set_agreed();
  }
}

void stop_point(const Comm& comm, const std::string& where) {
  int64_t stop = stop_requested() ? 1 : 0;
  comm.allreduce_max_int64(&stop, 1);
  if (stop)
    throw Error(ErrorKind::Stopped,
                fmt::format("{}: stopped on request (SIGUSR1) with the work so far committed; run the same "
                            "command again to resume",
                            where),
                __FILE__, __LINE__)
        .set_agreed();
}

}  // namespace rr::mpi
