// GoogleTest main for the MPI tests: MPI is initialised once; only rank 0 prints results, but every
// rank's failures make the process (and so mpirun) fail.
#include <gtest/gtest.h>

#include "common/log.h"
#include "mpi/comm.h"

int main(int argc, char** argv) {
  rr::mpi::Environment env(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  auto world = rr::mpi::Comm::world();
  rr::setup_logging("warn", world.rank(), world.size());
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  int64_t any = failed ? 1 : 0;
  world.allreduce_max_int64(&any, 1);
  return any ? 1 : 0;
}
