#!/usr/bin/env bash
# Runs the test suite (CTest) on the build made by scripts/setup.sh. Extra arguments go to ctest
# (e.g. -L unit, -L mpi, -LE slurm).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RR_BUILD_DIR:-$root/build}
# MPI as root (CI runs as root) and the fastest single-node transports.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
cd "$build"
ctest --output-on-failure -j "${RR_JOBS:-2}" "$@"
