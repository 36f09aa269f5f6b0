#!/usr/bin/env bash
# A base-recipe trial of transfer.json scored on the dev portion of every collection's split, so that a recipe is
# chosen without reading the test queries whose numbers are reported (experiments/README.md, "Re-chosen on the
# dev splits").
#   experiments/base-trials/dev_selection.sh OUT [--set base.training.KEY=VALUE]...
# Trains the base in OUT/train (the pipeline on the test splits, as the trial table reports), then prepares
# OUT/dev with that base, makes each prepared folder's qrels/dev.tsv its evaluation file (qrels/test.tsv; the
# folder's marker does not cover it) and runs the pipeline there: OUT/dev/results.h5 holds the dev numbers
# (`analysis/rr_analysis.py table OUT/dev/results.h5`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(realpath -m "$1")  # absolute: a relative output_dir in --set would be read relative to the config
shift
rr=${RR:-$root/build/mpi/routerretriever}
cfg=$root/experiments/base-trials/transfer.json
mpirun -np "${RR_RANKS:-2}" "$rr" pipeline --config "$cfg" --set output_dir="$out/train" "$@"
given=(--set output_dir="$out/dev" --set base.train=false --set base.path="$out/train/base")
"$rr" prepare --config "$cfg" "${given[@]}" "$@"
for d in "$out"/dev/data/*/; do cp "$d/qrels/dev.tsv" "$d/qrels/test.tsv"; done
mpirun -np "${RR_RANKS:-2}" "$rr" pipeline --config "$cfg" "${given[@]}" "$@"
