#!/usr/bin/env bash
# Scaling here: encode + search (the evaluate stage) of an experiment at -np 1 and -np 2, speed-up printed.
# Usage: bench/scaling.sh [EXP.json (default experiments/demo.json, already trained)]
# Environment: RR_THREADS (threads per rank; default: the cores shared out, so np 1 runs as many threads as
# np 2 runs ranks x threads).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rr=${RR_BUILD_DIR:-$root/build}/mpi/routerretriever
config=$(realpath "${1:-$root/experiments/demo.json}")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
export RR_LOG_LEVEL=warn
declare -A t
for np in 1 2; do
  threads=${RR_THREADS:-$(( $(nproc) / np ))}
  s=$(date +%s.%N)
  mpirun -np $np --oversubscribe --bind-to none "$rr" encode --config "$config" --force --threads $threads
  m=$(date +%s.%N)
  mpirun -np $np --oversubscribe --bind-to none "$rr" evaluate --config "$config" --force --threads $threads
  e=$(date +%s.%N)
  t[encode$np]=$(echo "$m - $s" | bc -l)
  t[evaluate$np]=$(echo "$e - $m" | bc -l)
  printf "np %d (%d threads each): encode %.1f s, evaluate (route + embed + search + measure) %.1f s\n" \
    $np $threads "${t[encode$np]}" "${t[evaluate$np]}"
done
printf "speed-up np 2 / np 1: encode %.2fx, evaluate %.2fx\n" \
  "$(echo "${t[encode1]} / ${t[encode2]}" | bc -l)" "$(echo "${t[evaluate1]} / ${t[evaluate2]}" | bc -l)"
