#!/usr/bin/env bash
# Submits the whole pipeline for an experiment as chained Slurm jobs (--dependency=afterok), one job per stage
# in the order `routerretriever stages` lists them; training the experts and scoring their columns are job
# arrays (one task per expert; a light job then assembles the score columns).
# Logs go to <output_dir>/logs. Safe to re-submit: every stage skips or resumes completed work.
# `routerretriever check` runs first: nothing is submitted when the experiment has a problem.
# Usage: jobs/submit.sh EXP.json [sbatch options applied to every job, e.g. --partition=gpu --ntasks=8]
# Environment: RR_BIN (the executable; default: the installed one beside these scripts, else the build tree's,
# else routerretriever on PATH), RR_EXPERT_TASKS (ranks per expert, default 1), RR_SCORE_TASKS (ranks per
# scoring task, default 1), RR_CHECK_RANKS (P for the plan).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 EXP.json [sbatch options]" >&2; exit 2; }
config=$(realpath "$1"); shift
bin=${RR_BIN:-}
for candidate in "$here/../../../bin/routerretriever" "$here/../build/mpi/routerretriever" \
                 "$(command -v routerretriever || true)"; do
  [[ -z $bin && -x $candidate ]] && bin=$candidate
done
[[ -n $bin && -x $bin ]] || { echo "submit: no routerretriever executable (build or install it, or set RR_BIN)" >&2; exit 2; }
bin=$(realpath "$bin")
"$bin" check --config "$config" --ranks "${RR_CHECK_RANKS:-64}" || { echo "submit: check failed; nothing submitted" >&2; exit 2; }
outdir=$("$bin" config --config "$config" --get output_dir)
experts=$("$bin" config --config "$config" --get experts)
logs=$outdir/logs
mkdir -p "$logs"
common=(--parsable --kill-on-invalid-dep=yes --chdir "$outdir" --output "$logs/%x-%j.out" "$@")
export RR_BIN=$bin RR_CONFIG=$config RR_JOBS_DIR=$here
submit() {  # submit DEPENDENCY NAME SCRIPT [sbatch args]; prints the job id
  local dep=$1 name=$2 script=$3; shift 3
  local d=()
  [[ -n $dep ]] && d=(--dependency="afterok:$dep")
  sbatch "${common[@]}" "${d[@]}" --job-name="rr-$name" "$@" "$script"
}
n=$(wc -w <<< "$experts")
j=""
while IFS=$'\t' read -r name command _; do
  case $name in
  train-expert)
    (( n > 0 )) || continue
    j=$(RR_EXPERTS="$experts" RR_STAGE=$command submit "$j" experts "$here/array.sbatch" --array=0-$((n - 1)) \
          --ntasks="${RR_EXPERT_TASKS:-1}") ;;
  score)  # one task per expert writes its own score columns; then one job assembles them into results.h5
    if (( n > 0 )); then
      j=$(RR_EXPERTS="$experts" RR_STAGE=$command submit "$j" score-columns "$here/array.sbatch" \
            --array=0-$((n - 1)) --ntasks="${RR_SCORE_TASKS:-1}")
    fi
    j=$(RR_STAGE=$command RR_ARGS="" submit "$j" "$name" "$here/stage.sbatch") ;;
  prepare | pilot | report)  # light, single-process stages
    j=$(RR_STAGE=$command RR_ARGS="" submit "$j" "$name" "$here/stage.sbatch" --ntasks=1) ;;
  *)
    j=$(RR_STAGE=$command RR_ARGS="" submit "$j" "$name" "$here/stage.sbatch") ;;
  esac
done < <("$bin" stages)
echo "submitted; the last job is $j; logs in $logs"
echo "$j" > "$logs/last_job"
