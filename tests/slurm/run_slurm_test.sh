#!/usr/bin/env bash
# A real single-node Slurm: install slurm-wlm and munge when missing, start munged, slurmctld and slurmd with a
# private slurm.conf, submit the tiny pipeline with jobs/submit.sh, wait, check the results file, and stop the
# daemons this test started (by pid). Needs root (as CI has). Usage: run_slurm_test.sh ROUTERRETRIEVER
set -euo pipefail
rr=$(realpath "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[[ $(id -u) -eq 0 ]] || { echo "SKIP: the Slurm test needs root"; exit 77; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null ||
    { echo "SKIP: cannot install slurm-wlm and munge"; exit 77; }
fi
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
  if [[ -n ${munge_pid:-} ]]; then kill -TERM "$munge_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log "$work"/run/runs/tiny/logs/*; do [[ -f $f ]] && { echo "== $f"; tail -20 "$f"; }; done; exit 1; }

# munge (its key comes with the package)
install -d -o munge -g munge -m 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  munge_pid=$(cat /run/munge/munged.pid)
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null || fail "munge does not work"

# a private single-node cluster
conf=$work/slurm.conf
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$conf" <<CONF
ClusterName=rrtest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=bf_interval=1,sched_interval=1
ReturnToService=2
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
NodeName=localhost CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES State=UP MaxTime=INFINITE
CONF
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF=$conf
slurmctld -D -i -c -f "$conf" >"$work/ctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$conf" >"$work/d.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [[ $(sinfo -h -o %T 2>/dev/null) == idle ]] && break; sleep 0.2; done
[[ $(sinfo -h -o %T) == idle ]] || fail "the node did not come up"

# the tiny pipeline, submitted as chained jobs
/usr/bin/python3 "$root/tests/e2e/make_tiny_data.py" "$work/data"
mkdir -p "$work/run"
sed "s#DATA#$work/data#g; s#\"name\": \"tiny\"#\"name\": \"tiny\", \"output_dir\": \"$work/run/runs/tiny\"#" \
  "$root/tests/e2e/tiny.json" > "$work/run/tiny.json"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
RR_BIN=$rr "$root/jobs/submit.sh" "$work/run/tiny.json" --ntasks=2 > "$work/submit.log" || fail "submit failed"
last=$(cat "$work/run/runs/tiny/logs/last_job")
deadline=$(( $(date +%s) + 900 ))
while [[ -n $(squeue -h -j "$last" 2>/dev/null) ]] || [[ -n $(squeue -h 2>/dev/null) ]]; do
  (( $(date +%s) < deadline )) || fail "jobs still running after 15 minutes"
  sleep 0.5
done
state=$(scontrol -o show job "$last" | grep -o 'JobState=[A-Z_]*' || true)
[[ $state == JobState=COMPLETED ]] || fail "the last job ended with $state"
[[ -s $work/run/runs/tiny/results.h5 ]] || fail "no results file"
h5dump -H "$work/run/runs/tiny/results.h5" > "$work/h5.txt"
for g in '"metrics"' '"pilots"' '"scores"'; do grep -q "$g" "$work/h5.txt" || fail "results lack $g"; done
grep -q "RouterRetriever" "$work/run/runs/tiny/report.md" || fail "no report"
echo "slurm: $(ls "$work/run/runs/tiny/logs" | wc -l) job logs, results and report written"
