#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "h5data/h5_file.h"
#include "mpi/comm.h"
#include "mpi/parallel_h5.h"

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
  for (auto storage : {h5::Storage::Float32, h5::Storage::Float16}) {
    {
      auto access = mpio_file_access(w);
      auto f = h5::File::create(dir + "/p.h5", &access);
      f.create_matrix("/index/ds/corpus", n, d, storage, 128);
      Shard s = shard_of(n, w.rank(), w.size(), 128);
      std::vector<float> rows(static_cast<size_t>(s.size() * d));
      for (int64_t i = 0; i < s.size(); ++i)
        for (int64_t j = 0; j < d; ++j) rows[i * d + j] = static_cast<float>((s.begin + i) * 10 + j);
      f.write_rows("/index/ds/corpus", s.begin, s.size(), rows.data(), /*collective=*/true);
      f.close();
    }
    w.barrier();
    if (w.is_root()) {
      auto f = h5::File::open(dir + "/p.h5", false);
      std::vector<float> all(n * d);
      f.read_rows("/index/ds/corpus", 0, n, all.data());
      for (int64_t i = 0; i < n; i += 97) {
        float v = static_cast<float>(i * 10 + 3);
        EXPECT_EQ(all[i * d + 3],
                  storage == h5::Storage::Float16 ? h5::half_to_float(h5::float_to_half(v)) : v);
      }
      EXPECT_EQ(f.storage("/index/ds/corpus"), storage);
    }
    w.barrier();
  }
  if (w.is_root()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rr::mpi
