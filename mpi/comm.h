// The MPI runtime behind one thin RAII wrapper: the only place in rr that includes <mpi.h> is mpi/*.cpp.
// Every MPI call's error becomes an rr::Error naming the rank. Collectives on trivially-copyable types are
// templates over a few byte-level primitives.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace rr::h5 {
class Handle;
}

namespace rr::mpi {

// Initialises MPI when a launcher (mpirun, srun) started the process, and finalises it on destruction; a
// process started without one is a one-rank world that never touches MPI.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  static bool initialized();
  // This rank's index among the ranks on its node, and their number (for GPUs and thread counts).
  struct NodePlacement {
    int rank = 0, size = 1;
  };
  static NodePlacement node_placement();
  // The MPI library's own version line (MPI_Get_library_version), and this host's name
  // (MPI_Get_processor_name), for the results' provenance.
  static std::string library_version();
  static std::string processor_name();
};

class Comm {
 public:
  static Comm world();
  ~Comm();
  Comm(Comm&&) noexcept;
  Comm& operator=(Comm&&) noexcept;
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  // A one-rank world without MPI (the process was not started by mpirun/srun).
  bool serial() const;
  void barrier() const;
  // Ranks with the same color form a new communicator, ordered by key (then by rank).
  Comm split(int color, int key) const;
  // Exits the whole job: used when one rank fails and the others would wait forever.
  [[noreturn]] void abort(int code) const;

  // Byte-level primitives.
  void bcast_bytes(void* data, int64_t bytes, int root) const;
  // Every rank contributes `bytes`; returns the concatenation in rank order on every rank (all=true) or root.
  std::vector<char> gatherv_bytes(const void* data, int64_t bytes, std::vector<int64_t>& counts, bool all,
                                  int root = 0) const;
  // Point to point (any size; tag distinguishes concurrent exchanges).
  void send_bytes(const std::vector<char>& data, int dest, int tag = 11) const;
  std::vector<char> recv_bytes(int source, int tag = 11) const;
  void allreduce_sum_double(double* data, int64_t n) const;
  void allreduce_sum_float(float* data, int64_t n) const;
  void allreduce_sum_int64(int64_t* data, int64_t n) const;
  void allreduce_max_int64(int64_t* data, int64_t n) const;

  // Typed collectives.
  template <typename T>
  void bcast(std::vector<T>& v, int root = 0) const {
    static_assert(std::is_trivially_copyable_v<T>);
    int64_t n = static_cast<int64_t>(v.size());
    bcast_bytes(&n, sizeof n, root);
    v.resize(static_cast<size_t>(n));
    bcast_bytes(v.data(), n * static_cast<int64_t>(sizeof(T)), root);
  }
  template <typename T>
  T bcast_value(T value, int root = 0) const {
    static_assert(std::is_trivially_copyable_v<T>);
    bcast_bytes(&value, sizeof(T), root);
    return value;
  }
  std::string bcast_string(std::string s, int root = 0) const;

  // Concatenation of every rank's vector in rank order: on every rank (allgatherv) or on `root` (gatherv;
  // other ranks get an empty vector). counts (optional) receives each rank's element count.
  template <typename T>
  std::vector<T> allgatherv(const std::vector<T>& local, std::vector<int64_t>* counts = nullptr) const {
    return gather_impl(local, counts, true, 0);
  }
  template <typename T>
  std::vector<T> gatherv(const std::vector<T>& local, int root = 0,
                         std::vector<int64_t>* counts = nullptr) const {
    return gather_impl(local, counts, false, root);
  }
  std::vector<std::string> allgather_strings(const std::vector<std::string>& local) const;
  std::vector<std::string> gather_strings(const std::vector<std::string>& local, int root = 0) const;

 private:
  struct Impl;
  explicit Comm(std::unique_ptr<Impl> impl);
  friend h5::Handle mpio_file_access(const Comm& comm);
  template <typename T>
  std::vector<T> gather_impl(const std::vector<T>& local, std::vector<int64_t>* counts, bool all,
                             int root) const {
    static_assert(std::is_trivially_copyable_v<T>);
    std::vector<int64_t> byte_counts;
    auto bytes =
        gatherv_bytes(local.data(), static_cast<int64_t>(local.size() * sizeof(T)), byte_counts, all, root);
    if (counts) {
      counts->clear();
      for (auto b : byte_counts) counts->push_back(b / static_cast<int64_t>(sizeof(T)));
    }
    std::vector<T> out(bytes.size() / sizeof(T));
    if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1;
};

// Payload bytes this process has sent and received through Comm since it started (a broadcast counts once
// at its root and once at each receiver; an all-reduce counts its vector both ways): the traffic figures of
// the stage summaries and the scale benchmark.
struct Traffic {
  int64_t sent = 0, received = 0;
};
Traffic traffic();

// Runs fn on every rank of comm and agrees on the outcome: when fn throws on any rank, every rank throws the
// same rr::Error (the kind and message of the lowest failing rank). Collective: every rank must call it.
void collective_try(const Comm& comm, const std::function<void()>& fn);

// A unit boundary where a requested stop (SIGUSR1, common/stop_request.h) takes effect: when any rank of comm
// has seen the signal, every rank throws the same Stopped error naming `where` (agreed). Collective; call it
// after the unit's work is committed.
void stop_point(const Comm& comm, const std::string& where);

}  // namespace rr::mpi
