#!/usr/bin/env bash
# Submits the whole pipeline for an experiment as chained Slurm jobs (--dependency=afterok), one job per stage
# in the order `routerretriever stages` lists them; array stages (training the experts, scoring their columns)
# are job arrays, one task per expert, and an array that is assembled (score) gets a light job after it.
# Each job asks for what the experiment's "slurm" section gives its stage (`routerretriever config --slurm
# STAGE`: partition, tasks, GPUs and CPUs per task, memory, time; CPU-only stages ask for no GPU), plus
# --signal=B:USR1@N --requeue: warned before its time limit or a preemption, a stage commits its unit and the
# job requeues itself (jobs/stage.sbatch), so the chain's afterok dependencies still hold.
# Logs go to <output_dir>/logs (a requeued job appends to its log); <output_dir>/logs/jobs.tsv lists the chain's jobs (jobs/status.sh reads it).
# Safe to re-submit: every stage skips or resumes completed work.
# `routerretriever check` runs first: nothing is submitted when the experiment has a problem.
# Usage: jobs/submit.sh EXP.json [--set key=value]... [sbatch options for every job; they override the slurm
# section]. --set overrides the experiment config in every job (e.g. --set device=cpu), as on the command line.
# Environment: RR_BIN (the executable; default: the installed one beside these scripts, else the build tree's,
# else routerretriever on PATH), RR_CHECK_RANKS (P for the plan).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 EXP.json [sbatch options]" >&2; exit 2; }
config=$(realpath "$1"); shift
sets=() user=()
while (( $# )); do
  if [[ $1 == --set ]]; then
    (( $# >= 2 )) || { echo "submit: --set needs key=value" >&2; exit 2; }
    sets+=(--set "$2"); shift 2
  else
    user+=("$1"); shift
  fi
done
source "$here/find_rr.sh"
"$bin" check --config "$config" --ranks "${RR_CHECK_RANKS:-64}" "${sets[@]}" ||
  { echo "submit: check failed; nothing submitted" >&2; exit 2; }
outdir=$("$bin" config --config "$config" --get output_dir "${sets[@]}")
experts=$("$bin" config --config "$config" --get experts "${sets[@]}")
logs=$outdir/logs
mkdir -p "$logs"
: > "$logs/jobs.tsv"
export RR_BIN=$bin RR_CONFIG=$config RR_JOBS_DIR=$here RR_SET="${sets[*]}"
export RR_REQUEUE_LIMIT=$("$bin" config --config "$config" --get slurm.requeue_limit "${sets[@]}")
submit() {  # submit DEPENDENCY NAME JOB SCRIPT [sbatch args]: prints the job id and records it in jobs.tsv
  local dep=$1 name=$2 job=$3 script=$4; shift 4
  local d=() resources id
  [[ -n $dep ]] && d=(--dependency="afterok:$dep")
  read -r -a resources <<< "$("$bin" config --config "$config" --slurm "$job" "${sets[@]}")"
  id=$(sbatch --parsable --kill-on-invalid-dep=yes --chdir "$outdir" --output "$logs/%x-%j.out" --open-mode=append \
         "${resources[@]}" "${d[@]}" --job-name="rr-$name" "$@" "${user[@]}" "$script")
  printf '%s\t%s\n' "$id" "$name" >> "$logs/jobs.tsv"
  echo "$id"
}
n=$(wc -w <<< "$experts")
j=""
# The stage table's columns: name, command, class, array, summary. An array stage runs one task per expert
# (`--expert NAME`); per-expert+assemble then runs the stage whole in a one-task job <name>-assemble.
while IFS=$'\t' read -r name command _ array _; do
  case $array in
  per-expert)
    (( n > 0 )) || continue
    j=$(RR_EXPERTS="$experts" RR_STAGE=$command submit "$j" "$name" "$name" "$here/array.sbatch" --array=0-$((n - 1))) ;;
  per-expert+assemble)
    if (( n > 0 )); then
      j=$(RR_EXPERTS="$experts" RR_STAGE=$command submit "$j" "$name-array" "$name" "$here/array.sbatch" \
            --array=0-$((n - 1)))
    fi
    j=$(RR_STAGE=$command RR_ARGS="" submit "$j" "$name" "$name-assemble" "$here/stage.sbatch") ;;
  *)
    j=$(RR_STAGE=$command RR_ARGS="" submit "$j" "$name" "$name" "$here/stage.sbatch") ;;
  esac
done < <("$bin" stages)
echo "submitted; the last job is $j; logs in $logs (jobs/status.sh $config shows the chain)"
echo "$j" > "$logs/last_job"
