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
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log "$work"/run/out/logs/*.out "$work"/broken/logs/*.out; do
    [[ -f $f ]] && { echo "== $f"; tail -20 "$f"; }
  done
  exit 1
}

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
# Finished jobs stay known for the whole test (Slurm's default 300 s dropped the first job of a chain that ran
# slowly on a loaded machine, and status then said UNKNOWN).
MinJobAge=3600
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
GresTypes=gpu
FirstJobId=$(( (RANDOM % 30000 + 1) * 1000 ))
NodeName=localhost CPUs=$(nproc) RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES State=UP MaxTime=INFINITE
CONF
# Two GPUs that are not there: enough for Slurm to schedule (and record) GPU requests per stage.
printf 'NodeName=localhost Name=gpu File=/dev/null\nNodeName=localhost Name=gpu File=/dev/zero\n' > "$work/gres.conf"
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF=$conf
slurmctld -D -i -c -f "$conf" >"$work/ctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$conf" >"$work/d.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [[ $(sinfo -h -o %T 2>/dev/null) == idle ]] && break; sleep 0.2; done
[[ $(sinfo -h -o %T) == idle ]] || fail "the node did not come up"

# The tiny pipeline, submitted as chained jobs with per-stage resources (every stage but the CPU-only ones asks
# for a GPU of the fake gres); base training made long enough to be warned mid-work.
/usr/bin/python3 "$root/tests/e2e/make_tiny_data.py" "$work/data"
mkdir -p "$work/run"
make_config() {  # make_config OUTPUT_DIR FILE [BASE_STEPS]
  /usr/bin/python3 - "$1" "$2" "$root/tests/e2e/tiny.json" "$work/data" "${3:-2000}" <<'PY'
import json, sys
out, dst, src, data, steps = sys.argv[1:]
c = json.loads(open(src).read().replace("DATA", data))
c["output_dir"] = out
c["base"]["training"].update({"steps": int(steps), "checkpoint_every": 100})
c["slurm"] = {"signal_seconds": 60, "requeue_limit": 2,
              "default": {"ntasks": 2, "gpus_per_task": 1, "time": "00:20:00"},
              "score": {"ntasks": 1, "cpus_per_task": 1}, "train-expert": {"cpus_per_task": 1}}
json.dump(c, open(dst, "w"), indent=1)
PY
}
make_config "$work/run/out" "$work/run/tiny.json"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
export RR_BIN=$rr
"$root/jobs/submit.sh" "$work/run/tiny.json" > "$work/submit.log" || fail "submit failed"
logs=$work/run/out/logs
job_of() { awk -F'\t' -v n="$1" '$2 == n {print $1}' "$logs/jobs.tsv"; }
show() { scontrol -o show job "$1"; }

# Per-stage resources as Slurm recorded them: a CPU-only stage asks for no GPU, the others for theirs.
grep -q 'gres.gpu' <<< "$(show "$(job_of encode)")" || fail "encode requests no GPU: $(show "$(job_of encode)")"
grep -q 'gres.gpu' <<< "$(show "$(job_of prepare)")" && fail "prepare (CPU-only) requests a GPU"
grep -q 'NumTasks=1 ' <<< "$(show "$(job_of report)")" || fail "report asks for more than one task"
grep -q 'TimeLimit=00:20:00' <<< "$(show "$(job_of evaluate)")" || fail "evaluate lacks its time limit"

# status while the chain runs
"$root/jobs/status.sh" "$work/run/tiny.json" > "$work/status-running.txt" || fail "status.sh failed while running"
grep -qE 'RUNNING|PENDING' "$work/status-running.txt" || fail "status shows no running job: $(cat "$work/status-running.txt")"

# Warn train-base mid-work (as Slurm does before a time limit or a preemption): it writes a checkpoint, stops,
# requeues itself and resumes; the chain goes on.
base=$(job_of train-base)
deadline=$(( $(date +%s) + 300 ))
until grep -q 'base: step' "$logs"/rr-train-base-"$base".out 2>/dev/null &&
      [[ -d $work/run/out/checkpoints/base/state ]]; do
  (( $(date +%s) < deadline )) || fail "train-base never checkpointed"
  sleep 0.5
done
scancel --signal=USR1 --batch "$base" || fail "cannot signal train-base"
wait_chain() {
  local deadline=$(( $(date +%s) + 900 ))
  while [[ -n $(squeue -h 2>/dev/null) ]]; do
    (( $(date +%s) < deadline )) || fail "jobs still running after 15 minutes"
    sleep 0.5
  done
}
wait_chain
last=$(cat "$logs/last_job")
state=$(show "$last" | grep -o 'JobState=[A-Z_]*' || true)
[[ $state == JobState=COMPLETED ]] || fail "the last job ended with $state"
grep -q 'stopped on request' "$logs/rr-train-base-$base.out" || fail "train-base did not stop on the signal"
grep -q 'requeued' "$logs/rr-train-base-$base.out" || fail "train-base did not requeue"
grep -q 'Restarts=1' <<< "$(show "$base")" || fail "train-base was not restarted once: $(show "$base")"
grep -q "RouterRetriever" "$work/run/out/report.md" || fail "no report"

# The same experiment in one uninterrupted process: identical results (the expert and score arrays merged
# equal the single job; the stopped and resumed base equals one trained at once).
make_config "$work/single" "$work/single.json"
mpirun -np 2 --oversubscribe "$rr" pipeline --config "$work/single.json" --threads 1 > "$work/single.log" 2>&1 ||
  fail "the single-job pipeline failed"
/usr/bin/python3 - "$work/single/results.h5" "$work/run/out/results.h5" <<'PY' || fail "Slurm results differ"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
n = 0
def check(name, obj):
    global n
    if isinstance(obj, h5py.Dataset):
        assert name in b, f"{name} missing from the Slurm run"
        assert np.array_equal(obj[()], b[name][()]), f"{name} differs"
        n += 1
for group in ("metrics", "routing", "runs", "scores", "score_columns", "pilots", "train_queries"):
    a[group].visititems(lambda name, obj, g=group: check(f"{g}/{name}", obj))
print(f"slurm: {n} datasets identical to the single-job run")
PY

"$root/jobs/status.sh" "$work/run/tiny.json" > "$work/status-done.txt" || fail "status.sh failed"
grep -E '^[0-9]' "$work/status-done.txt" | grep -vq COMPLETED && fail "a job of the finished chain is not COMPLETED: $(cat "$work/status-done.txt")"
[[ $(grep -cE '^  [a-z-]+ +done' "$work/status-done.txt") -ge 8 ]] || fail "stages not all done: $(cat "$work/status-done.txt")"

# A failing chain: evaluate killed (as a node failure would); status names the failure, the rest is cancelled.
make_config "$work/broken" "$work/broken.json" 30
RR_FAULT=evaluate-unit:1 "$root/jobs/submit.sh" "$work/broken.json" > "$work/submit-broken.log" || fail "submit failed"
wait_chain
"$root/jobs/status.sh" "$work/broken.json" > "$work/status-failed.txt" || fail "status.sh failed"
grep -E 'evaluate +FAILED' "$work/status-failed.txt" || fail "status does not show evaluate FAILED: $(cat "$work/status-failed.txt")"
grep -E 'report +(CANCELLED|PENDING)' "$work/status-failed.txt" || fail "status does not show report cancelled"
grep -E '^  evaluate +(partial|not done)' "$work/status-failed.txt" || fail "status calls the failed evaluate done"

# A GPU experiment on a node whose GPUs do not work (the fake gres; a CPU-only LibTorch): the CPU job (prepare)
# completes, the first GPU stage fails before any work naming the job, the node and CUDA_VISIBLE_DEVICES, status
# shows which job failed and why, nothing after it runs; resubmitted with --set device=cpu, the chain resumes
# without preparing again.
make_config "$work/gpu" "$work/gpu.json" 30
/usr/bin/python3 - "$work/gpu.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["device"] = "cuda"; json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
"$root/jobs/submit.sh" "$work/gpu.json" > "$work/submit-gpu.log" || fail "submit of the GPU experiment failed"
wait_chain
"$root/jobs/status.sh" "$work/gpu.json" > "$work/status-gpu.txt" || fail "status.sh failed"
grep -qE '^[0-9]+ +prepare +COMPLETED' "$work/status-gpu.txt" || fail "prepare (CPU) did not complete: $(cat "$work/status-gpu.txt")"
grep -E '^[0-9]+ +train-base +FAILED +.*exit 2:0: .*cannot use it.*CUDA_VISIBLE_DEVICES=' "$work/status-gpu.txt" ||
  fail "status does not show train-base failing on its device: $(cat "$work/status-gpu.txt")"
grep -qE "Slurm job [0-9]+ \(rr-train-base\) on node $(hostname)" "$work"/gpu/logs/rr-train-base-*.out ||
  fail "the failure does not name the job and the node"
grep -E '^[0-9]+ +(encode|evaluate|report) +COMPLETED' "$work/status-gpu.txt" && fail "a stage after the failed one ran"
grep -qE '^  prepare +done' "$work/status-gpu.txt" || fail "prepare is not done"
grep -qE '^  encode +not done' "$work/status-gpu.txt" || fail "encode ran"
"$root/jobs/submit.sh" "$work/gpu.json" --set device=cpu > "$work/submit-cpu.log" || fail "resubmit with device=cpu failed"
wait_chain
last=$(cat "$work/gpu/logs/last_job")
[[ $(show "$last" | grep -o 'JobState=[A-Z_]*') == JobState=COMPLETED ]] || fail "the resubmitted chain did not complete"
prep=$(awk -F'\t' '$2 == "prepare" {print $1}' "$work/gpu/logs/jobs.tsv")
grep -q "prepare: up to date" "$work/gpu/logs/rr-prepare-$prep.out" || fail "the resubmitted chain prepared again"
echo "slurm: per-stage resources, a stop-and-requeue, arrays equal to one job, status of a running, a completed and a failed chain; a GPU stage without a usable GPU fails fast and the chain resumes on the CPU"
