#include "mpi/distributed_topk.h"

#include <cstring>

#include "common/error.h"

namespace rr::mpi {

namespace {

std::vector<char> pack(const TopK& t) {
  const size_t n = t.doc.size();
  std::vector<char> out(2 * sizeof(int64_t) + n * (2 * sizeof(int64_t) + sizeof(float)));
  char* p = out.data();
  auto put = [&](const void* src, size_t bytes) {
    std::memcpy(p, src, bytes);
    p += bytes;
  };
  put(&t.nq, sizeof t.nq);
  put(&t.k, sizeof t.k);
  put(t.doc.data(), n * sizeof(int64_t));
  put(t.score.data(), n * sizeof(float));
  put(t.tie.data(), n * sizeof(int64_t));
  return out;
}

TopK unpack(const std::vector<char>& in) {
  const char* p = in.data();
  int64_t nq, k;
  std::memcpy(&nq, p, sizeof nq);
  std::memcpy(&k, p + sizeof nq, sizeof k);
  p += 2 * sizeof(int64_t);
  TopK t(nq, k);
  const size_t n = t.doc.size();
  std::memcpy(t.doc.data(), p, n * sizeof(int64_t));
  std::memcpy(t.score.data(), p + n * sizeof(int64_t), n * sizeof(float));
  std::memcpy(t.tie.data(), p + n * (sizeof(int64_t) + sizeof(float)), n * sizeof(int64_t));
  return t;
}

}  // namespace

TopK gather_topk(const Comm& comm, const TopK& local, int root) {
  const int P = comm.size();
  RR_CHECK(root >= 0 && root < P, Runtime, "gather_topk: root {} is not a rank of {}", root, P);
  if (P == 1) return local;
  // Binary tree over ranks relative to root: at level `step`, relative ranks r with r % (2 step) == step send
  // their merged lists to r - step. The root receives log2(P) lists instead of P, every rank sends at most
  // one, and every merge is exact (hits are totally ordered).
  const int rel = (comm.rank() - root + P) % P;
  const auto absolute = [&](int r) { return (r + root) % P; };
  TopK current = local;
  for (int step = 1; step < P; step *= 2) {
    if (rel % (2 * step) == step) {
      comm.send_bytes(pack(current), absolute(rel - step));
      return TopK();
    }
    if (rel % (2 * step) == 0 && rel + step < P) {
      TopK other = unpack(comm.recv_bytes(absolute(rel + step)));
      RR_CHECK(other.nq == current.nq && other.k == current.k, Runtime,
               "gather_topk: ranks disagree on the number of queries or k");
      current = merge_topk({current, other}, local.k);
    }
  }
  return current;
}

}  // namespace rr::mpi
