#!/usr/bin/env bash
# The test suite, as CI runs it:
#   1. CTest on the build made by scripts/setup.sh: unit, MPI (np 1/2/4), end-to-end, Slurm and analysis tests;
#   2. a second build with AddressSanitizer + UndefinedBehaviorSanitizer (build-sanitize/), where the unit and
#      MPI tests run again (label sanitize);
#   3. the libFuzzer targets built with clang (build-fuzz/), each run for a bounded time (label fuzz);
#   4. the executable built without oneDNN (build-nodnnl/, as against a LibTorch from pip): the tiny pipeline
#      runs in fp32 and bf16 on the CPU is refused clearly;
#   5. the demo's golden regression (experiments/demo.json at np 2 against tests/regression/demo.tsv, ~10 min).
# After each ctest, scripts/check_skips.py prints how many tests skipped and fails on any that
# tests/allowed_skips.txt does not allow (../shared, the Slurm and the reference tests must run).
# RR_QUICK=1 skips steps 2 to 5. Extra arguments go to the first ctest (e.g. -L unit, -LE slurm).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RR_BUILD_DIR:-$root/build}
jobs=${RR_JOBS:-2}
# MPI as root (CI runs as root) and the fastest single-node transports.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
# The fixtures and judged data the reference tests need (CI has ../shared beside the clone).
export RR_SHARED=${RR_SHARED:-$root/../shared}
[[ -d $RR_SHARED/fixtures ]] || echo "test.sh: $RR_SHARED has no fixtures: the tests that need them will skip, and fail the skip check" >&2
cmake --build "$build" -j "$jobs"  # the tests and benches (setup.sh builds only the executable)
status=0
(cd "$build" && ctest --output-on-failure -j "$jobs" --output-junit "$build/ctest-junit.xml" "$@") || status=1
/usr/bin/python3 "$root/scripts/check_skips.py" "$build" || status=1
if [[ ${RR_QUICK:-0} != 1 ]]; then
  san=$root/build-sanitize fuzz=$root/build-fuzz
  cmake -S "$root" -B "$san" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRR_SANITIZE=ON -DRR_BUILD_BENCH=OFF >/dev/null
  cmake --build "$san" -j "$jobs" --target rr_unit_tests rr_mpi_tests routerretriever
  # LibTorch and Open MPI are not instrumented: their allocations look like leaks and their containers like
  # overflows to ASan, so those two checks are off; every other ASan and UBSan check is on.
  export ASAN_OPTIONS=detect_leaks=0:detect_container_overflow=0:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd "$san" && ctest --output-on-failure -j "$jobs" -L sanitize --output-junit "$san/ctest-junit.xml") || status=1
  /usr/bin/python3 "$root/scripts/check_skips.py" "$san" || status=1
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRR_FUZZ=ON >/dev/null
  cmake --build "$fuzz" -j "$jobs"
  (cd "$fuzz" && ctest --output-on-failure -j "$jobs" -L fuzz) || status=1
  nodnnl=$root/build-nodnnl
  cmake -S "$root" -B "$nodnnl" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRR_WITH_ONEDNN=OFF -DRR_BUILD_TESTS=OFF \
    -DRR_BUILD_BENCH=OFF >/dev/null
  cmake --build "$nodnnl" -j "$jobs" --target routerretriever
  "$root/tests/e2e/run_e2e.sh" "$nodnnl/mpi/routerretriever" without-onednn || status=1
  /usr/bin/python3 "$root/scripts/regression.py" check demo --rr "$build/mpi/routerretriever" || status=1
fi
exit $status
