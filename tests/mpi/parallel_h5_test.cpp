#include <gtest/gtest.h>

#include <unistd.h>

#include <ATen/ATen.h>

#include <filesystem>

#include "h5data/h5_file.h"
#include "mpi/comm.h"
#include "mpi/parallel_h5.h"
#include "search/search_layout.h"

namespace rr::mpi {
namespace {

// Ranks write disjoint row blocks of one dataset collectively; the file equals a serial write.
TEST(ParallelH5, CollectiveRowBlocks) {
  auto w = Comm::world();
  std::string dir = w.bcast_string(w.is_root() ? std::filesystem::temp_directory_path().string() +
                                                     "/rr-ph5-" + std::to_string(::getpid())
                                               : std::string());
  if (w.is_root()) std::filesystem::create_directories(dir);
  w.barrier();
  const int64_t n = 1000, d = 5;
  for (auto storage : {VectorType::Float32, VectorType::Float16, VectorType::BFloat16}) {
    {
      auto access = mpio_file_access(w);
      auto f = h5::File::create(dir + "/p.h5", &access);
      f.create_matrix("/index/ds/corpus", n, d, storage, 128);
      Shard s = shard_of(n, w.rank(), w.size(), 128);
      // Row i holds i * 10 + j.
      const at::Tensor rows =
          at::arange(s.begin, s.end, at::kFloat).unsqueeze(1) * 10 + at::arange(d, at::kFloat);
      f.write_rows("/index/ds/corpus", s.begin, rows, /*collective=*/true);
      f.close();
    }
    w.barrier();
    if (w.is_root()) {
      auto f = h5::File::open(dir + "/p.h5", false);
      const at::Tensor all = f.read_rows("/index/ds/corpus", 0, n).to(at::kFloat);
      for (int64_t i = 0; i < n; i += 97) {
        const float v = static_cast<float>(i * 10 + 3);
        EXPECT_EQ(all[i][3].item<float>(), storage == VectorType::Float16 ? static_cast<float>(c10::Half(v))
                                           : storage == VectorType::BFloat16
                                               ? static_cast<float>(c10::BFloat16(v))
                                               : v);
      }
      EXPECT_EQ(f.storage("/index/ds/corpus"), storage);
    }
    w.barrier();
  }
  if (w.is_root()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rr::mpi
