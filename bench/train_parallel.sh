#!/usr/bin/env bash
# The data-parallel expert-training step on one global batch (bench_train_parallel) at np 1 and np 2:
# np 1 x 1 thread, np 1 x 2 threads, np 2 x 1 thread each, in bf16 (where the CPU has it) and fp32.
#   scaling efficiency  = t(np 1 x 1) / (2 x t(np 2 x 1))   (a second rank on its own core; 1.00 is perfect)
#   ranks vs threads    = t(np 1 x 2) / t(np 2 x 1)         (the same two cores; > 1: ranks beat threads)
# Usage: bench/train_parallel.sh [batch=64] [seq=32] [steps=5]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=${RR_BUILD_DIR:-$root/build}/bench/bench_train_parallel
batch=${1:-64} seq=${2:-32} steps=${3:-5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
seconds() { sed -n 's/.* = \([0-9.]*\) s\/step.*/\1/p' <<< "$1"; }
for bf16 in 1 0; do
  declare -A t=()
  for run in "1 1" "1 2" "2 1"; do
    read -r np threads <<< "$run"
    line=$(mpirun -np "$np" --oversubscribe --bind-to none "$bench" "$threads" "$batch" "$seq" "$steps" "$bf16")
    echo "$line"
    t[$np$threads]=$(seconds "$line")
  done
  grep -q fp32 <<< "$line" && precision=fp32 || precision=bf16
  printf "%s: scaling efficiency np 2 (1 core each) vs np 1 (1 core): %.2f; np 2 x 1 thread vs np 1 x 2 threads: %.2fx\n" \
    "$precision" "$(echo "${t[11]} / (2 * ${t[21]})" | bc -l)" "$(echo "${t[12]} / ${t[21]}" | bc -l)"
  [[ $precision == fp32 || $bf16 == 0 ]] && break
done
