#include "mpi/distributed_topk.h"

#include "common/error.h"

namespace rr::mpi {

TopK gather_topk(const Comm& comm, const TopK& local, int root) {
  auto docs = comm.gatherv(local.doc, root);
  auto scores = comm.gatherv(local.score, root);
  auto ties = comm.gatherv(local.tie, root);
  if (comm.rank() != root) return TopK();
  const size_t per = local.doc.size();
  RR_CHECK(docs.size() == per * static_cast<size_t>(comm.size()), Runtime,
           "gather_topk: ranks disagree on the number of queries or k");
  std::vector<TopK> parts(static_cast<size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    auto& p = parts[r];
    p.nq = local.nq;
    p.k = local.k;
    p.doc.assign(docs.begin() + r * per, docs.begin() + (r + 1) * per);
    p.score.assign(scores.begin() + r * per, scores.begin() + (r + 1) * per);
    p.tie.assign(ties.begin() + r * per, ties.begin() + (r + 1) * per);
  }
  return merge_topk(parts, local.k);
}

}  // namespace rr::mpi
