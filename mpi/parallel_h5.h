// Parallel HDF5: a file-access property list that makes every rank of `comm` open one file through MPI-IO.
#pragma once

#include "h5data/h5_file.h"
#include "mpi/comm.h"

namespace rr::mpi {

// With one rank this is the default (POSIX) driver: no MPI-IO overhead for single-process runs.
h5::Handle mpio_file_access(const Comm& comm);

}  // namespace rr::mpi
