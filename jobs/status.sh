#!/usr/bin/env bash
# The state of an experiment submitted with jobs/submit.sh: the chain's jobs (from <output_dir>/logs/jobs.tsv)
# with Slurm's state, elapsed time and restarts, the last error line of each failed job's log (rr's own when it
# wrote one, else the launcher's), then the
# stages' own progress (`routerretriever status`: done, or the units committed so far).
# Usage: jobs/status.sh EXP.json      Environment: RR_BIN as for submit.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 EXP.json" >&2; exit 2; }
config=$(realpath "$1")
source "$here/find_rr.sh"
outdir=$("$bin" config --config "$config" --get output_dir)
jobs=$outdir/logs/jobs.tsv
field() {  # field NAME LINE: the value of NAME=value in scontrol's one-line output ("" when absent)
  local v
  v=$(grep -o "\b$1=[^ ]*" <<< "$2" | head -1) || true
  echo "${v#*=}"
}
if [[ -s $jobs ]]; then
  printf '%-10s %-14s %-11s %-10s %-8s %s\n' JOB STAGE STATE ELAPSED RESTARTS NOTE
  while IFS=$'\t' read -r id name; do
    # One line per job (per task for arrays); gone from slurmctld (MinJobAge) without accounting: unknown.
    info=$(scontrol -o show job "$id" 2>/dev/null || true)
    if [[ -z $info ]]; then
      printf '%-10s %-14s %-11s %-10s %-8s %s\n' "$id" "$name" UNKNOWN - - "no longer known to Slurm; see the log"
      continue
    fi
    while IFS= read -r line; do
      [[ -n $line ]] || continue
      task=$(field JobId "$line")
      array=$(field ArrayTaskId "$line")
      [[ -n $array ]] && task="${id}_$array"
      state=$(field JobState "$line")
      note=$(field Reason "$line")
      [[ $note == None ]] && note=""
      log=$(field StdOut "$line")
      if [[ $state == FAILED || $state == TIMEOUT || $state == NODE_FAIL || $state == OUT_OF_MEMORY ]]; then
        note="exit $(field ExitCode "$line")"
        if [[ -f $log ]]; then
          # rr's own error (it says why), else the launcher's (a kill, a crash)
          last=$(grep -E '\[error\]' "$log" | tail -1 || true)
          [[ -n $last ]] || last=$(grep -E 'error:|FAIL' "$log" | tail -1 || true)
          [[ -n $last ]] && note="$note: $last"
        fi
      fi
      elapsed=$(field RunTime "$line")
      [[ $(field StartTime "$line") == Unknown || $elapsed =~ ^[0-9]{4,}- ]] && elapsed=-  # never started
      printf '%-10s %-14s %-11s %-10s %-8s %s\n' "$task" "$name" "$state" "$elapsed" \
        "$(field Restarts "$line")" "$note"
    done <<< "$info"
  done < "$jobs"
else
  echo "no jobs recorded in $jobs (not submitted with jobs/submit.sh?)"
fi
echo
"$bin" status --config "$config"
