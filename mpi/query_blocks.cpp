#include "mpi/query_blocks.h"

#include <ATen/ATen.h>

#include <cstring>

#include "search/search_layout.h"

namespace rr::mpi {

at::Tensor gather_query_blocks(const Comm& comm, const at::Tensor& local, int64_t Q, bool all) {
  const at::Tensor mine = local.contiguous();
  const int64_t width = mine.dim() > 1 ? mine.size(1) : 1, row_bytes = width * mine.element_size();
  std::vector<int64_t> counts;
  const std::vector<char> bytes =
      comm.gatherv_bytes(mine.data_ptr(), mine.numel() * mine.element_size(), counts, all);
  if (!all && !comm.is_root()) return {};
  // Blocks were dealt round-robin: reassemble them in query order.
  at::Tensor out = at::empty({Q, width}, mine.options());
  std::vector<int64_t> offset(static_cast<size_t>(comm.size()), 0);
  for (int r = 1; r < comm.size(); ++r) offset[r] = offset[r - 1] + counts[r - 1];
  auto* o = static_cast<char*>(out.data_ptr());
  for (int64_t b = 0; b * kQueryBlock < Q; ++b) {
    const int r = static_cast<int>(b % comm.size());
    const int64_t lo = b * kQueryBlock, n = (std::min(Q, lo + kQueryBlock) - lo) * row_bytes;
    std::memcpy(o + lo * row_bytes, bytes.data() + offset[r], static_cast<size_t>(n));
    offset[r] += n;
  }
  return out;
}

}  // namespace rr::mpi
