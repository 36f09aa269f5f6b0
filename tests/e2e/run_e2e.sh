#!/usr/bin/env bash
# End-to-end tests of the stages on tiny generated data (no ../shared needed).
# Usage: run_e2e.sh ROUTERRETRIEVER SCENARIO   (scenarios: the names of the case below)
set -euo pipefail
rr=$1
scenario=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
$py "$here/make_tiny_data.py" "$work/data"
sed "s#DATA#$work/data#g" "$here/tiny.json" > "$work/tiny.json"
cfg=$work/tiny.json
fail() { echo "FAIL: $*" >&2; exit 1; }
# has PATTERN COMMAND...: the command succeeds and its output contains the pattern (no pipe: pipefail and
# grep -q clash). fails CODE PATTERN COMMAND...: it exits with CODE and its output contains the pattern.
# exits CODE COMMAND...: it exits with CODE (137: killed by SIGKILL, as the fault injections do).
fails() {
  local want=$1 pat=$2 code=0; shift 2
  "$@" > "$work/has.txt" 2>&1 || code=$?
  [[ $code == "$want" ]] || { tail -5 "$work/has.txt" >&2; echo "'$*' exited $code, not $want" >&2; return 1; }
  grep -q -- "$pat" "$work/has.txt" || { tail -5 "$work/has.txt" >&2; echo "'$*' did not say '$pat'" >&2; return 1; }
}
has() { local pat=$1; shift; fails 0 "$pat" "$@"; }
exits() { local want=$1 code=0; shift; "$@" > "$work/exits.txt" 2>&1 || code=$?; [[ $code == "$want" ]] || { tail -5 "$work/exits.txt" >&2; echo "'$*' exited $code, not $want" >&2; return 1; }; }
export RR_LOG_LEVEL=warn
run() { "$rr" "$@" --threads 1; }
mpi() { local np=$1; shift; mpirun -np "$np" --oversubscribe "$rr" "$@" --threads 1; }
# snapshot RESULTS COPY: a self-contained copy (a plain cp keeps links to parts that a later update deletes).
snapshot() { $py "$here/../../analysis/rr_analysis.py" snapshot "$1" "$2"; }
dump() {  # the routing decisions and rankings (rows and scores) of a results file, as text
  h5dump -g /routing "$1" | grep -v -E "HDF5|^}" ; h5dump -g /runs "$1" | grep -v HDF5
  for f in "$2"/runs/*.trec; do cut -d' ' -f1-4 "$f"; done
}

case $scenario in
ranks)
  # Train once, then encode/score/pilot/evaluate under 1, 2 and 4 ranks: identical routing and rankings.
  run prepare --config "$cfg"
  run train base --config "$cfg"
  run encode --config "$cfg"
  run train expert --config "$cfg"
  run train multitask --config "$cfg"
  for np in 1 2 4; do
    out=$work/np$np
    mkdir -p "$out"
    mpi "$np" prepare --config "$cfg" --set output_dir="$out"
    mpi "$np" encode --config "$cfg" --set output_dir="$out" --set base.path="$work/runs/tiny/base" --set base.train=false
    # The trained experts and multi-task model, read-only (a copy under another base setting would be refused
    # as trained for other settings).
    for stage in score pilot evaluate report; do
      mpi "$np" $stage --config "$cfg" --set output_dir="$out" --set base.path="$work/runs/tiny/base" --set base.train=false \
        --set trained_models="$work/runs/tiny" > "$out/$stage.out"
    done
    [[ -s $out/results.h5 ]] || fail "np $np wrote no results"
    dump "$out/results.h5" "$out" > "$out/dump.txt"
  done
  cmp "$work/np1/dump.txt" "$work/np2/dump.txt" || fail "np 1 and np 2 differ"
  cmp "$work/np1/dump.txt" "$work/np4/dump.txt" || fail "np 1 and np 4 differ"
  grep -q "RouterRetriever" "$work/np2/report.out" || fail "no Table 1 in the report"
  for path in '"pilots"' '"scores"' '"routing"' '"runs"' '"metrics"' '"meta"' '"experts"' 'EXTERNAL_LINK "index"'; do
    has "$path" h5dump -H "$work/np1/results.h5" || fail "h5dump -H results.h5 lacks $path"
  done
  has '"corpus"' h5dump -H "$work/np1/index.h5" || fail "h5dump -H index.h5 lacks /index/<ds>/corpus"
  echo "ranks: routing and rankings identical under np 1, 2, 4 ($(wc -l < "$work/np1/dump.txt") lines compared)"
  # given NAME NP SETTING...: encode -> evaluate under NP ranks with the trained models and the settings, into
  # $work/NAME-npNP (stage logs at info level in <stage>.out), then the dump of its routing and rankings.
  given() {
    local name=$1 np=$2; shift 2
    local out=$work/$name-np$np
    mkdir -p "$out"
    for stage in prepare encode score pilot evaluate; do
      RR_LOG_LEVEL=info mpi "$np" $stage --config "$cfg" --set output_dir="$out" --set trained_models="$work/runs/tiny" \
        --set base.path="$work/runs/tiny/base" --set base.train=false "$@" > "$out/$stage.out" 2>&1
    done
    dump "$out/results.h5" "$out" > "$out/dump.txt"
  }
  # Corpus blocks of 64 rows make each 60-row corpus one search unit: np 4 runs four search groups, each
  # holding the whole corpus and searching its own query blocks; the same as np 1.
  for np in 1 4; do given groups "$np" --set evaluation.corpus_block=64; done
  grep -q "4 groups of ranks each hold it all" "$work/groups-np4/evaluate.out" || fail "np 4 ran no search groups"
  cmp "$work/groups-np1/dump.txt" "$work/groups-np4/dump.txt" || fail "search groups: np 1 and np 4 differ"
  echo "ranks: four search groups (np 4) give the routing and rankings of np 1"
  # precision bf16 (a bfloat16 index, bf16 search rescored exactly) where the CPU has fast bf16: the same under
  # np 1 and 4, whose shards and thread splits differ.
  if grep -qw 'avx512_bf16\|amx_bf16' /proc/cpuinfo; then
    for np in 1 4; do given bf16 "$np" --set evaluation.precision=bf16; done
    cmp "$work/bf16-np1/dump.txt" "$work/bf16-np4/dump.txt" || fail "bf16: np 1 and np 4 differ"
    has "16-bit little-endian floating-point" h5dump -H -d /index/astro/corpus "$work/bf16-np1/index.h5" ||
      fail "the bf16 index is not a 16-bit float dataset"
    echo "ranks: bf16 routing and rankings identical under np 1 and 4"
  else
    echo "[  SKIPPED ] e2e_ranks.bf16: this CPU has no fast bf16"
  fi
  # A first run without experts (the base and BM25 on BEIR) runs the whole pipeline to a report.
  mpi 2 pipeline --config "$cfg" --set output_dir="$work/noexperts" --set 'experts=[]' > "$work/noexperts.out"
  for row in "| BM25 |" "| Base encoder (no expert) |"; do
    grep -qF "$row" "$work/noexperts/report.md" || fail "the report without experts lacks $row"
  done
  [[ $(grep -c '^| [A-Za-z]' "$work/noexperts/report.md") -ge 2 ]] || fail "no table without experts"
  # A base recipe known to collapse (dot product, lr 5e-3) fails with what was seen, and writes no model.
  collapse=(--set output_dir="$work/collapse" --set base.training.normalize=false --set base.training.lr=5e-3)
  run prepare --config "$cfg" "${collapse[@]}"
  status=0
  run train base --config "$cfg" "${collapse[@]}" > "$work/collapse.out" 2>&1 || status=$?
  [[ $status == 1 ]] || fail "a collapsing base recipe exited $status, not 1"
  grep -q "not below chance" "$work/collapse.out" || fail "a collapsing base recipe did not say why"
  [[ -e $work/collapse/base ]] && fail "a collapsed base was written"
  echo "ranks: a collapsing base recipe stops with exit 1 and writes no model"
  ;;
resume)
  # Kill a real training run after a checkpoint; the rerun must end with the same weights as an
  # uninterrupted run (every step's randomness is a function of the seed and the step).
  run prepare --config "$cfg"
  run train base --config "$cfg"
  run encode --config "$cfg"
  steps=(--set expert_training.steps=600 --set expert_training.checkpoint_every=20 --set expert_training.eval_every=100)
  run train expert --expert astro --config "$cfg" "${steps[@]}"
  cp -r "$work/runs/tiny/experts/astro" "$work/straight"
  rm -rf "$work/runs/tiny/experts/astro" "$work/runs/tiny/checkpoints/expert-astro"
  "$rr" train expert --expert astro --config "$cfg" "${steps[@]}" --threads 1 &
  pid=$!
  step=0
  for _ in $(seq 1 3000); do
    state=$work/runs/tiny/checkpoints/expert-astro/state.json
    [[ -e $state ]] && step=$(grep -o '"step": *[0-9]*' "$state" | grep -o '[0-9]*$' || echo 0)
    (( step >= 40 )) && break
    sleep 0.02
  done
  kill -9 $pid 2>/dev/null || fail "the run ended before it could be killed"
  wait $pid 2>/dev/null || true
  [[ -e $work/runs/tiny/experts/astro/adapter_model.safetensors ]] && fail "killed run left a finished adapter"
  run train expert --expert astro --config "$cfg" "${steps[@]}" --log-level info 2>&1 | tee "$work/resume.log" >/dev/null
  grep -q "resuming from step" "$work/resume.log" || fail "the rerun did not resume"
  cmp "$work/straight/adapter_model.safetensors" "$work/runs/tiny/experts/astro/adapter_model.safetensors" ||
    fail "resumed adapter differs from the uninterrupted one"
  echo "resume: killed at step >= $step, resumed, adapter bit-identical to the uninterrupted run"
  ;;
threads)
  # fp32 results do not depend on the thread count: the whole pipeline (training included) under --threads 1
  # and 2, at np 1 and at np 2, writes the same results.h5 (every dataset, links followed) and TREC runs.
  digest() {
    $py "$here/../../analysis/rr_analysis.py" digest "$1/results.h5"
    for f in "$1"/runs/*.trec; do echo "$(basename "$f") $(sha256sum < "$f")"; done
  }
  for np in 1 2; do
    for t in 1 2; do
      out=$work/t$t-np$np
      mpirun -np "$np" --oversubscribe --bind-to none "$rr" pipeline --config "$cfg" --set output_dir="$out" \
        --threads $t > "$out.log" 2>&1 || { tail -5 "$out.log"; fail "np $np --threads $t: the pipeline failed"; }
      digest "$out" > "$out.digest"
    done
    n=$(grep -c . "$work/t1-np$np.digest")
    (( n > 200 )) || fail "np $np: only $n datasets and runs to compare"
    cmp "$work/t1-np$np.digest" "$work/t2-np$np.digest" ||
      fail "np $np: --threads 1 and 2 differ: $(diff "$work/t1-np$np.digest" "$work/t2-np$np.digest" | head -4)"
    echo "threads: np $np: --threads 1 and 2 write identical results ($n datasets and runs compared)"
  done
  ;;
train-ranks)
  # The same expert trained on 1 and on 2 ranks (dropout off: the masks are per rank) agrees to 1e-5.
  run prepare --config "$cfg"
  run train base --config "$cfg"
  run encode --config "$cfg"
  nodrop=(--set expert_training.lora.dropout=0 --set expert_training.model_dropout=false)
  mpi 1 train expert --expert astro --config "$cfg" "${nodrop[@]}"
  cp -r "$work/runs/tiny/experts/astro" "$work/np1"
  rm -rf "$work/runs/tiny/experts/astro" "$work/runs/tiny/checkpoints/expert-astro"
  mpi 2 train expert --expert astro --config "$cfg" "${nodrop[@]}"
  $py "$here/compare_safetensors.py" "$work/np1/adapter_model.safetensors" \
      "$work/runs/tiny/experts/astro/adapter_model.safetensors" 1e-5 || fail "np 1 and np 2 adapters differ"
  # Killed on 2 ranks at step 7 (checkpoint at step 4), resumed on 1: the checkpoint is taken (the data order
  # does not depend on the group size) and the result agrees with the uninterrupted runs.
  rm -rf "$work/runs/tiny/experts/astro" "$work/runs/tiny/checkpoints/expert-astro"
  RR_FAULT=train-step:7 mpi 2 train expert --expert astro --config "$cfg" "${nodrop[@]}" >/dev/null 2>&1 &&
    fail "the injected fault did not fire"
  mpi 1 train expert --expert astro --config "$cfg" "${nodrop[@]}" --log-level info > "$work/resume1.log" 2>&1
  grep -q "resuming from step 4" "$work/resume1.log" || { cat "$work/resume1.log"; fail "np 1 did not resume np 2's checkpoint"; }
  $py "$here/compare_safetensors.py" "$work/np1/adapter_model.safetensors" \
      "$work/runs/tiny/experts/astro/adapter_model.safetensors" 1e-5 || fail "the np 2 -> np 1 resumed adapter differs"
  # Above dev_corpus_max rows, a trainer loads only the rows it trains on, the dev-judged ones and a sample.
  $py - "$cfg" "$work/capped.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["datasets"][0]["max_pseudo_queries"] = 5
c["expert_training"]["dev_corpus_max"] = 10
json.dump(c, open(sys.argv[2], "w"))
PY
  mpi 2 train expert --expert astro --config "$work/capped.json" "${nodrop[@]}" --log-level info > "$work/capped.log" 2>&1 || { cat "$work/capped.log"; fail "training with a capped dev corpus failed"; }
  read -r loaded _ total _ <<< "$(grep -o "[0-9]* of [0-9]* index rows loaded" "$work/capped.log" | head -1)"
  (( loaded > 0 && loaded < total )) || fail "the capped trainer loaded $loaded of $total index rows"
  ;;
experts)
  # Adding an expert scores only its own column; removing one drops it; nothing else is retrained or rescored.
  run pipeline --config "$cfg" > /dev/null
  h5dump -d /score_columns/astro/astro "$work/runs/tiny/results.h5" | grep -v HDF5 > "$work/astro_before.txt"
  three='experts=[{"name":"astro"},{"name":"cook"},{"name":"law"}]'
  run train expert --config "$cfg" --set "$three" --log-level info 2>&1 | tee "$work/add_train.log" >/dev/null
  grep -q "expert astro: .* is up to date" "$work/add_train.log" || fail "adding an expert retrained astro"
  grep -q "expert law: training" "$work/add_train.log" || fail "the new expert was not trained"
  run score --config "$cfg" --set "$three" --log-level info 2>&1 | tee "$work/add_score.log" >/dev/null
  [[ $(grep -c "x astro: up to date\|x cook: up to date" "$work/add_score.log") -eq 4 ]] || fail "old columns were rescored"
  # New: law's column on astro and cook, and the new training dataset law under all three experts.
  [[ $(grep -c "score \(astro\|cook\) x law: mean\|score law x [a-z]*: mean" "$work/add_score.log") -eq 5 ]] ||
    fail "expected exactly the 5 new (dataset, expert) columns to be scored"
  h5dump -d /score_columns/astro/astro "$work/runs/tiny/results.h5" | grep -v HDF5 | cmp - "$work/astro_before.txt" ||
    fail "astro's column changed"
  has ", 3 ) /" h5dump -H -d /scores/astro "$work/runs/tiny/results.h5" || fail "/scores/astro is not Q x 3"
  run pilot --config "$cfg" --set "$three"
  two='experts=[{"name":"astro"},{"name":"law"}]'
  run score --config "$cfg" --set "$two" --log-level info 2>&1 | tee "$work/rm_score.log" >/dev/null
  grep -q "x cook" "$work/rm_score.log" && fail "a removed expert was scored"
  h5dump -A -g /score_columns/astro "$work/runs/tiny/results.h5" > "$work/columns.txt" || fail "no /score_columns/astro"
  grep -q '"cook"' "$work/columns.txt" && fail "cook's column is still stored"
  run pilot --config "$cfg" --set "$two"
  # The multi-task model trains on the experts' datasets: trained for {astro, cook}, it is refused for {astro, law}.
  fails 2 "run \`train multitask\`" run evaluate --config "$cfg" --set "$two" || fail "a stale multi-task model was evaluated"
  run train multitask --config "$cfg" --set "$two"
  run evaluate --config "$cfg" --set "$two"
  has "Single expert: law" run report --config "$cfg" --set "$two" || fail "the report lacks the new expert"
  # One expert: every router still runs (the classifiers' fitted H x 1 weights come back from results.h5 whole).
  one='experts=[{"name":"astro"}]'
  for stage in score pilot train:multitask evaluate; do
    run ${stage/:/ } --config "$cfg" --set "$one" > /dev/null || fail "one expert: $stage failed"
  done
  has "ExpertClassifierRouter" run report --config "$cfg" --set "$one" || fail "one expert: no classifier row"
  # Two tasks of an expert job array at once: neither rewrites results.h5 (the last rename would drop the other's
  # curve); train multitask, the next job of the chain, stores both curves.
  $py - "$work/runs/tiny/results.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    del f["/training"]
PY
  cp "$work/runs/tiny/results.h5" "$work/before-array.h5"
  run train expert --expert astro --config "$cfg" --force & a=$!
  run train expert --expert cook --config "$cfg" --force & c=$!
  wait $a && wait $c || fail "concurrent expert tasks failed"
  cmp "$work/before-array.h5" "$work/runs/tiny/results.h5" || fail "an expert task rewrote results.h5"
  run train multitask --config "$cfg" --force
  for x in astro cook; do
    $py - "$work/runs/tiny/results.h5" "$work/runs/tiny/experts/$x/rr_train.json" "expert-$x" <<'PY' || fail "curve of $x lost"
import sys, json, h5py, numpy as np
curve = json.load(open(sys.argv[2]))["curve"]
stored = h5py.File(sys.argv[1], "r")["/training/" + sys.argv[3] + "/loss"][()]
assert np.allclose(stored, curve["loss"]), (stored, curve["loss"])
PY
  done
  # Scoring as a job array: one task per expert at once (its columns only, results.h5 untouched), then a plain
  # score assembles them: the same scores as one score job.
  run score --config "$cfg" > /dev/null
  snapshot "$work/runs/tiny/results.h5" "$work/before-score.h5"
  $py - "$work/runs/tiny/results.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    del f["/meta/score"], f["/score_columns"], f["/scores"]
PY
  rm -rf "$work/runs/tiny/units/score"
  cp "$work/runs/tiny/results.h5" "$work/stripped.h5"
  run score --expert astro --config "$cfg" & a=$!
  mpi 2 score --expert cook --config "$cfg" & c=$!
  wait $a && wait $c || fail "concurrent score tasks failed"
  cmp "$work/stripped.h5" "$work/runs/tiny/results.h5" || fail "a score task rewrote results.h5"
  run score --config "$cfg" --log-level info > "$work/assemble.log" 2>&1
  grep -q ": mean nDCG@10" "$work/assemble.log" && fail "assembling the score columns scored again"
  for ds in astro cook; do
    h5diff "$work/before-score.h5" "$work/runs/tiny/results.h5" "/scores/$ds" || fail "array scores of $ds differ"
  done
  fails 2 "no expert named 'nobody'" run score --expert nobody --config "$cfg" || fail "score --expert nobody"
  echo "experts: add scored only the new column, remove dropped the old one; concurrent tasks lost no curve;"\
       "scoring as an array equals one job"
  ;;
many)
  # Many experts (issue 31, items 5 and 6): 12 experts over the three datasets. The report folds the single
  # experts' rows into best / median / worst (each column's, checked against report-full.md's 12 rows) and
  # shows each dataset's most chosen experts; evaluation.singles "own" runs each single on its own dataset
  # only (the oracles choose among those), "none" runs none and computes no oracle; check counts the searches.
  m=$work/many.json
  $py - "$cfg" "$m" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
names = ["astro", "cook", "law"]
c["experts"] = [{"name": f"e{i:02d}", "datasets": [names[i % 3]]} for i in range(12)]
c["expert_training"].update({"steps": 2, "eval_every": 0})
c["multitask"] = {"steps": 2}
json.dump(c, open(sys.argv[2], "w"))
PY
  out=$work/runs/tiny
  run pipeline --config "$m" > /dev/null || fail "many: the pipeline failed"
  $py - "$out/report.md" "$out/report-full.md" <<'PY' || fail "many: the folded report"
import sys, statistics
def rows(path):
    table = {}
    for line in open(path):
        if line.startswith("| ") and not line.startswith("| Model") and not line.startswith("| dataset"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 5:
                table[cells[0]] = [float(x.split("<")[0].rstrip("*")) for x in cells[1:]]
        if line.startswith("### "):
            break
    return table
main, full = rows(sys.argv[1]), rows(sys.argv[2])
singles = {k: v for k, v in full.items() if k.startswith("Single expert: e")}
assert len(singles) == 12, sorted(singles)
assert not any(k.startswith("Single expert: e") for k in main), "a single row is left unfolded"
for col in range(4):
    ranked = sorted((v[col] for v in singles.values()), reverse=True)
    want = {"best": ranked[0], "median": ranked[(len(ranked) - 1) // 2], "worst": ranked[-1]}
    for which, value in want.items():
        got = main[f"Single expert: {which}"][col]
        assert abs(got - value) < 0.051, (which, col, got, value)
assert "[report-full.md](report-full.md)" in open(sys.argv[1]).read()
PY
  has "chosen most" cat "$out/report.md" || fail "many: no top-experts routing summary"
  has "searches: 63 dense (36 of them single experts" run check --config "$m" || fail "many: check's search count (all)"
  has "searches: 39 dense (12 of them single experts" run check --config "$m" --set evaluation.singles=own ||
    fail "many: check's search count (own)"
  run evaluate --config "$m" --set evaluation.singles=own > /dev/null || fail "many: evaluate, singles own"
  $py - "$out/results.h5" <<'PY' || fail "many: singles own"
import sys, h5py
names = ["astro", "cook", "law"]
with h5py.File(sys.argv[1], "r") as f:
    for d, ds in enumerate(names):
        singles = sorted(r for r in f["metrics"][ds] if r.startswith("single-"))
        assert singles == [f"single-e{i:02d}" for i in range(12) if i % 3 == d], (ds, singles)
        chosen = set(f["routing"][ds]["instance-oracle"][()].tolist())
        assert chosen <= {i for i in range(12) if i % 3 == d}, (ds, chosen)  # experts among all 12
PY
  has 'evaluation.singles "own"' run report --config "$m" --set evaluation.singles=own || fail "many: report, own"
  run evaluate --config "$m" --set evaluation.singles=none > /dev/null || fail "many: evaluate, singles none"
  $py - "$out/results.h5" <<'PY' || fail "many: singles none"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    for ds in ("astro", "cook", "law"):
        left = [r for r in f["metrics"][ds] if r.startswith("single-") or r.endswith("-oracle")]
        assert not left, (ds, left)
PY
  fails 2 'must be "all", "own" or "none"' run check --config "$m" --set evaluation.singles=some ||
    fail "many: a bad evaluation.singles"
  echo "many: 12 experts folded into best/median/worst; singles own and none evaluated and recorded as asked"
  ;;
grow)
  # Growing an experiment (issue 31, item 4), shown by the ledger's files, not the logs: adding an expert to a
  # finished run trains only that expert, scores only its columns, refits the pilots and routers and
  # re-evaluates; removing one scores nothing and refits; adding it back reuses its model and units. Each time,
  # results.h5 (its digest: every dataset but /provenance), the trained models, the report and the TREC exports
  # equal a run that had that set of experts from the start (/meta's fingerprints differ: they take the
  # models' file times).
  # The multi-task model is retrained each time, legitimately: it trains on every expert's datasets
  # (Experiment::training_datasets()), so the expert set is one of its inputs (multitask_fingerprint).
  # eval_every 0 keeps each model's last step: with the tiny data every checkpoint selection would keep the
  # untrained start (an adapter equal to the base), and equal results would then prove little.
  g=$work/grow.json
  $py - "$cfg" "$g" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["expert_training"]["eval_every"] = 0
json.dump(c, open(sys.argv[2], "w"))
PY
  three='experts=[{"name":"astro"},{"name":"cook"},{"name":"law"}]'
  two='experts=[{"name":"astro"},{"name":"law"}]'
  out=$work/grown
  # ledger OUT: "path inode:mtime sha256" of every unit file and every trained model's weights and record.
  ledger() {
    (cd "$1" && find units experts multitask -type f \( -name '*.h5' -o -name '*.safetensors' -o -name rr_train.json \) |
       LC_ALL=C sort | while read -r f; do
         echo "$f $(stat -c '%i:%y' "$f" | tr ' ' _) $(sha256sum < "$f" | cut -d' ' -f1)"
       done)
  }
  # delta BEFORE AFTER REGEX: "unchanged|rewritten|new|gone PATH" for each path matching REGEX (unchanged: the
  # same inode, mtime and SHA-256; rewritten: the path is there before and after, any of them differs).
  delta() {
    awk -v re="$3" 'NR == FNR { if ($1 ~ re) b[$1] = $2 " " $3; next }
      $1 ~ re { print (($1 in b) ? (b[$1] == $2 " " $3 ? "unchanged" : "rewritten") : "new"), $1; delete b[$1] }
      END { for (p in b) print "gone", p }' "$1" "$2" | LC_ALL=C sort
  }
  count() { awk -v s="$1" '$1 == s' <<< "$2" | wc -l; }         # count STATUS DELTA
  paths() { awk -v s="$1" '$1 == s { print $2 }' <<< "$2" | xargs; }  # paths STATUS DELTA (one line)
  # expect WHAT DELTA UNCHANGED REWRITTEN NEW: the counts of a delta, and nothing gone.
  expect() {
    local got
    got="$(count unchanged "$2") $(count rewritten "$2") $(count new "$2") $(count gone "$2")"
    [[ $got == "$3 $4 $5 0" ]] ||
      fail "$1: unchanged, rewritten, new, gone = $got, not $3 $4 $5 0"$'\n'"$2"
  }
  h5value() {  # h5value FILE OBJECT [ATTR]: an attribute's values, or a dataset's and "shape RxC", space separated
    $py - "$@" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
v = f[sys.argv[2]].attrs[sys.argv[3]] if len(sys.argv) > 3 else f[sys.argv[2]][()]
v = np.atleast_1d(v)
text = " ".join(x.decode() if isinstance(x, bytes) else str(x) for x in v.ravel())
print(text if len(sys.argv) > 3 else f"{text} shape {'x'.join(map(str, f[sys.argv[2]].shape))}")
PY
  }
  digest() { $py "$here/../../analysis/rr_analysis.py" digest "$1/results.h5" > "$2"; }
  # untrained_unscored WHAT EXPERTS_SETTING BEFORE AFTER: the stages run with that expert set; against ledger
  # snapshot BEFORE (saved as AFTER): no expert trained (their 6 files unchanged), the multi-task model
  # retrained (its 2 files rewritten), the 12 score units unchanged.
  untrained_unscored() {
    for stage in "${stages[@]}"; do
      run $stage --config "$g" --set output_dir="$out" --set "$2" > /dev/null || fail "$1: $stage failed"
    done
    ledger "$out" > "$work/ledger.$4"
    expect "$1: experts" "$(delta "$work/ledger.$3" "$work/ledger.$4" '^experts/')" 6 0 0
    expect "$1: multi-task model" "$(delta "$work/ledger.$3" "$work/ledger.$4" '^multitask/')" 0 2 0
    expect "$1: score units (nothing scored)" "$(delta "$work/ledger.$3" "$work/ledger.$4" '^units/score/')" 12 0 0
  }
  # refitted WHAT PILOT_FP EXPERTS: pilot recorded again (its fingerprint is not PILOT_FP), the pilots and the
  # expert classifier for EXPERTS (space separated).
  refitted() {
    local n
    n=$(wc -w <<< "$3")
    [[ $(h5value "$out/results.h5" /meta/pilot fingerprint) != "$2" ]] || fail "$1: pilot was not recorded again"
    [[ $(h5value "$out/results.h5" /pilots experts) == "$3" ]] || fail "$1: the pilots are not for $3"
    [[ $(h5value "$out/results.h5" /router_states/expert-classifier/b) == *" shape $n" ]] ||
      fail "$1: the expert classifier was not refitted for $n experts"
  }
  # same_as TAG FROM: the grown run's results (digest), models, report and TREC exports equal FROM's.
  same_as() {
    digest "$out" "$work/$1.grown.digest"
    digest "$2" "$work/$1.fresh.digest"
    diff "$work/$1.fresh.digest" "$work/$1.grown.digest" > "$work/$1.digest.diff" ||
      fail "$1: results.h5 differs from a run with these experts from the start (< fresh, > grown):"$'\n'"$(cat "$work/$1.digest.diff")"
    (( $(wc -l < "$work/$1.fresh.digest") > 250 )) || fail "$1: a digest of only $(wc -l < "$work/$1.fresh.digest") datasets"
    for x in $(cd "$2" && ls experts) multitask; do
      local m=experts/$x; [[ $x == multitask ]] && m=multitask
      cmp "$2/$m/adapter_model.safetensors" "$out/$m/adapter_model.safetensors" || fail "$1: model $x differs"
    done
    cmp "$2/report.md" "$out/report.md" || fail "$1: report.md differs"
    for f in "$2"/runs/*.trec; do cmp "$f" "$out/runs/${f##*/}" || fail "$1: TREC export ${f##*/} differs"; done
  }
  stages=("train expert" "train multitask" score pilot evaluate report)

  # 1. The finished run: astro and cook.
  run pipeline --config "$g" --set output_dir="$out" > /dev/null || fail "the first pipeline failed"
  ledger "$out" > "$work/ledger.0"
  [[ $(grep -c '^units/score/' "$work/ledger.0") == 6 ]] || fail "expected 6 score units (2 datasets x (base + 2 experts))"
  routers2=$(h5value "$out/results.h5" /routers/name | awk '{ print NF - 2 }')
  (( routers2 == 14 )) || fail "$routers2 routers with two experts, not 14"
  pilot_fp0=$(h5value "$out/results.h5" /meta/pilot fingerprint)

  # 2. Add law: each stage in turn, then the ledger's files compared with before.
  for stage in "${stages[@]}"; do
    run $stage --config "$g" --set output_dir="$out" --set "$three" > /dev/null || fail "adding law: $stage failed"
  done
  ledger "$out" > "$work/ledger.1"
  d=$(delta "$work/ledger.0" "$work/ledger.1" '^experts/')
  expect "adding law: experts" "$d" 4 0 2
  [[ $(paths new "$d") == "experts/law/adapter_model.safetensors experts/law/rr_train.json" ]] ||
    fail "adding law trained $(paths new "$d"), not law alone"
  expect "adding law: multi-task model (trains on every expert's datasets)" "$(delta "$work/ledger.0" "$work/ledger.1" '^multitask/')" 0 2 0
  d=$(delta "$work/ledger.0" "$work/ledger.1" '^units/score/')
  expect "adding law: score units" "$d" 6 0 6
  [[ $(paths new "$d") == "units/score/astro/law.h5 units/score/cook/law.h5 units/score/law/astro.h5 units/score/law/base.h5 units/score/law/cook.h5 units/score/law/law.h5" ]] ||
    fail "adding law scored $(paths new "$d"), not law's columns and the law dataset's"
  for ds in astro cook law; do
    [[ $(h5value "$out/results.h5" /scores/$ds) == *" shape "*x3 ]] || fail "adding law: /scores/$ds is not Q x 3"
  done
  refitted "adding law" "$pilot_fp0" "astro cook law"
  pilot_fp1=$(h5value "$out/results.h5" /meta/pilot fingerprint)
  [[ $(h5value "$out/results.h5" /pilots datasets) == "astro cook law" ]] || fail "adding law: no pilots from the law dataset"
  d=$(delta "$work/ledger.0" "$work/ledger.1" '^units/evaluate/')
  expect "adding law: evaluate units (every (dataset, method) again, and single-law new)" "$d" 0 $((3 * routers2)) 3
  [[ $(paths new "$d") == "units/evaluate/astro/single-law.h5 units/evaluate/cook/single-law.h5 units/evaluate/law/single-law.h5" ]] ||
    fail "adding law evaluated $(paths new "$d") anew"
  [[ $(h5value "$out/results.h5" /routers/name) == *"single-law"* ]] || fail "adding law: no single-law results"
  # A run that had the three experts from the start: the same results, models and exports.
  run pipeline --config "$g" --set output_dir="$work/from3" --set "$three" > /dev/null || fail "the three-expert pipeline failed"
  diff <(ls "$work/from3/runs") <(ls "$out/runs") || fail "adding law: the TREC exports are not those of a three-expert run"
  same_as add "$work/from3"
  echo "grow: adding law trained 1 expert (and the multi-task model), scored 6 new units (6 kept), refitted pilot," \
       "re-evaluated $((3 * routers2)) + 3 units; results equal a three-expert run's ($(wc -l < "$work/add.fresh.digest") datasets)"

  # 3. Remove cook: nothing trained but the multi-task model, nothing scored, pilot refitted, everything re-evaluated.
  untrained_unscored "removing cook" "$two" 1 2
  for ds in astro law; do
    [[ $(h5value "$out/results.h5" /scores/$ds) == *" shape "*x2 ]] || fail "removing cook: /scores/$ds is not Q x 2"
  done
  [[ $(h5value "$out/results.h5" /experts) == "astro law shape 2" ]] || fail "removing cook: /experts is not astro, law"
  refitted "removing cook" "$pilot_fp1" "astro law"
  d=$(delta "$work/ledger.1" "$work/ledger.2" '^units/evaluate/')
  # 14 methods per dataset again; cook's single-expert units stay on disk, unused.
  expect "removing cook: evaluate units" "$d" 3 $((3 * routers2)) 0
  [[ $(paths unchanged "$d") == "units/evaluate/astro/single-cook.h5 units/evaluate/cook/single-cook.h5 units/evaluate/law/single-cook.h5" ]] ||
    fail "removing cook: evaluate kept $(paths unchanged "$d")"
  [[ $(h5value "$out/results.h5" /routers/name) != *"single-cook"* ]] || fail "removing cook: single-cook still a router"
  run pipeline --config "$g" --set output_dir="$work/from2" --set "$two" > /dev/null || fail "the astro, law pipeline failed"
  same_as remove "$work/from2"
  echo "grow: removing cook trained and scored nothing (12 units kept), refitted pilot, re-evaluated $((3 * routers2))" \
       "units; results equal an astro, law run's"

  # 4. Add cook back: its model and units were kept, so nothing is trained but the multi-task model and nothing
  # is scored; cook's single-expert units are current again; the results are the three-expert run's.
  untrained_unscored "adding cook back" "$three" 2 3
  expect "adding cook back: evaluate units" "$(delta "$work/ledger.2" "$work/ledger.3" '^units/evaluate/')" 0 $((3 * routers2 + 3)) 0
  same_as readd "$work/from3"
  echo "grow: adding cook back trained and scored nothing; results equal the three-expert run's"
  ;;
stops)
  # Stop requests (SIGUSR1, as Slurm sends before a time limit or a preemption) in the middle of a long unit of
  # work at np 2: exit 75 on every rank, then the rerun recomputes at most one block per rank and ends
  # bit-identical to an uninterrupted run.
  $py "$here/make_tiny_data.py" "$work/big" 3000  # 1,500 training queries per dataset: 6 query blocks
  sed "s#DATA#$work/big#g" "$here/tiny.json" > "$work/big.json"
  cfg=$work/big.json
  for stage in prepare "train base" encode "train expert"; do run $stage --config "$cfg" > /dev/null; done
  mpi 2 score --config "$cfg" > /dev/null
  snapshot "$work/runs/tiny/results.h5" "$work/scored.h5"
  # As if the stop had come during the pipeline: the completed run's record and columns removed.
  $py - "$work/runs/tiny/results.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    del f["/meta/score"], f["/score_columns"]
PY
  rm -rf "$work/runs/tiny/units/score"
  # score: stopped after its second round (4 of astro x astro's 6 blocks committed)
  code=0; RR_FAULT=score-round:2:usr1 mpi 2 score --config "$cfg" --log-level debug > "$work/stop.log" 2>&1 || code=$?
  (( code == 75 )) || { tail -20 "$work/stop.log"; fail "a stopped score exited $code, not 75"; }
  for r in 0 1; do
    grep -q "\[rank $r/2\].*stopped on request" "$work/stop.log" || fail "rank $r did not stop on the request"
  done
  ls "$work/runs/tiny/units/score/astro/astro.h5.rounds/" | grep -c "^blocks-" | grep -qx 2 || fail "not 2 rounds committed"
  mpi 2 score --config "$cfg" --log-level info > "$work/resume.log" 2>&1 || { tail "$work/resume.log"; fail "resumed score failed"; }
  grep -q "score astro x astro: resuming: 4 of 6 query blocks committed" "$work/resume.log" ||
    { grep resuming "$work/resume.log"; fail "score did not resume from its rounds"; }
  for ds in astro cook; do
    h5diff "$work/scored.h5" "$work/runs/tiny/results.h5" "/scores/$ds" || fail "resumed scores of $ds differ"
  done
  [[ -e $work/runs/tiny/units/score/astro/astro.h5.rounds ]] && fail "the committed rounds were not removed"
  # stopped KIND LOG: exit 75 and both ranks said so.
  stopped() {
    (( $1 == 75 )) || { tail -20 "$2"; fail "a stopped $3 exited $1, not 75"; }
    for r in 0 1; do grep -q "\[rank $r/2\].*stopped on request" "$2" || fail "$3: rank $r did not stop on the request"; done
  }
  # encode: stopped after its third block, resumed: the index equals the uninterrupted one (np 1 above).
  given=(--set base.path="$work/runs/tiny/base" --set base.train=false)
  run prepare --config "$cfg" --set output_dir="$work/enc" "${given[@]}" > /dev/null
  code=0; RR_FAULT=encode-block:3:usr1 mpi 2 encode --config "$cfg" --set output_dir="$work/enc" "${given[@]}" \
    --log-level debug > "$work/stop-enc.log" 2>&1 || code=$?
  stopped $code "$work/stop-enc.log" encode
  mpi 2 encode --config "$cfg" --set output_dir="$work/enc" "${given[@]}" --log-level info > "$work/enc2.log" 2>&1 ||
    fail "resumed encode failed"
  blocks() { grep -o "encode: [0-9]* blocks of" "$1" | grep -o "[0-9]*" | head -1; }
  for ds in astro cook law; do
    h5diff "$work/runs/tiny/index.h5" "$work/enc/index.h5" "/index/$ds/corpus" || fail "resumed index of $ds differs"
  done
  # train expert: stopped at step 7 of 12 at np 2 (checkpoint written), resumed: the adapter equals an
  # uninterrupted np 2 run's bit for bit.
  for out in straight stopped; do
    run prepare --config "$cfg" --set output_dir="$work/$out" "${given[@]}" > /dev/null
  done
  mpi 2 encode --config "$cfg" --set output_dir="$work/straight" "${given[@]}" --log-level info > "$work/enc-all.log" 2>&1
  (( $(blocks "$work/enc2.log") < $(blocks "$work/enc-all.log") )) ||
    fail "the resumed encode dealt $(blocks "$work/enc2.log") blocks, not fewer than all $(blocks "$work/enc-all.log")"
  mpi 2 encode --config "$cfg" --set output_dir="$work/stopped" "${given[@]}" > /dev/null
  mpi 2 train expert --expert cook --config "$cfg" --set output_dir="$work/straight" "${given[@]}" > /dev/null
  code=0; RR_FAULT=train-step:7:usr1 mpi 2 train expert --expert cook --config "$cfg" --set output_dir="$work/stopped" \
    "${given[@]}" --log-level debug > "$work/stop-train.log" 2>&1 || code=$?
  stopped $code "$work/stop-train.log" "train expert"
  [[ -e $work/stopped/experts/cook/adapter_model.safetensors ]] && fail "a stopped training wrote its adapter"
  mpi 2 train expert --expert cook --config "$cfg" --set output_dir="$work/stopped" "${given[@]}" --log-level info \
    > "$work/train2.log" 2>&1 || fail "resumed training failed"
  grep -q "resuming from step 7" "$work/train2.log" || { grep -i resum "$work/train2.log"; fail "training did not resume at step 7"; }
  cmp "$work/straight/experts/cook/adapter_model.safetensors" "$work/stopped/experts/cook/adapter_model.safetensors" ||
    fail "the resumed adapter differs from the uninterrupted one"
  # evaluate: stopped after its third (dataset, router) unit, resumed: the same routing, runs and measures.
  for stage in "train multitask" pilot evaluate; do mpi 2 $stage --config "$cfg" > /dev/null; done
  digest() { $py "$here/../../analysis/rr_analysis.py" digest "$1" | grep -E '^/(metrics|routing|runs)/'; }
  digest "$work/runs/tiny/results.h5" > "$work/eval.digest"
  $py - "$work/runs/tiny/results.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    del f["/meta/evaluate"], f["/metrics"], f["/runs"], f["/routing"]
PY
  rm -rf "$work/runs/tiny/units/evaluate"
  code=0; RR_FAULT=evaluate-unit:3:usr1 mpi 2 evaluate --config "$cfg" --log-level debug > "$work/stop-eval.log" 2>&1 || code=$?
  stopped $code "$work/stop-eval.log" evaluate
  [[ $(find "$work/runs/tiny/units/evaluate" -name '*.h5' | wc -l) -ge 3 ]] || fail "evaluate committed no units before stopping"
  mpi 2 evaluate --config "$cfg" --log-level info > "$work/eval2.log" 2>&1 || fail "resumed evaluate failed"
  digest "$work/runs/tiny/results.h5" | cmp - "$work/eval.digest" || fail "the resumed evaluate differs"
  echo "stops: score, encode, expert training and evaluate stopped on request at np 2 (exit 75 on both ranks),"\
       "resumed (score from 4 of 6 blocks, training from step 7), identical results"
  ;;
without-onednn)
  # A build without oneDNN (as against a LibTorch from pytorch.org or pip): the pipeline runs in fp32, and
  # bf16 on the CPU is refused (exit 2) with a message that says why and what to do.
  mpi 2 pipeline --config "$cfg" > "$work/fp32.log" 2>&1 || { tail -20 "$work/fp32.log"; fail "fp32 pipeline failed"; }
  grep -q "RouterRetriever" "$work/runs/tiny/report.md" || fail "no report"
  code=0; run encode --config "$cfg" --set evaluation.precision=bf16 > "$work/bf16.log" 2>&1 || code=$?
  (( code == 2 )) || { cat "$work/bf16.log"; fail "bf16 without oneDNN exited $code, not 2"; }
  if grep -qw 'avx512_bf16\|amx_bf16' /proc/cpuinfo; then
    grep -q "built without oneDNN" "$work/bf16.log" || { cat "$work/bf16.log"; fail "bf16 refused without saying why"; }
  fi
  echo "without-onednn: fp32 pipeline ran; bf16 on the CPU refused with exit 2"
  ;;
faults)
  # A rank killed mid-encode, mid-train and mid-evaluate: the re-run resumes and equals an uninterrupted run.
  # Corrupt HDF5, safetensors and checkpoints give clear errors; a full disk leaves earlier results intact.
  run prepare --config "$cfg"
  run train base --config "$cfg"
  clean=(--set output_dir="$work/clean" --set base.path="$work/runs/tiny/base" --set base.train=false)
  run prepare --config "$cfg" "${clean[@]}"
  mpi 2 encode --config "$cfg" "${clean[@]}" --log-level info > "$work/encode1.log" 2>&1
  RR_FAULT=encode-block:3 exits 137 mpi 2 encode --config "$cfg" || fail "the injected fault did not fire"
  mpi 2 encode --config "$cfg" --log-level info > "$work/encode2.log" 2>&1
  dealt() { grep -o "encode: [0-9]* blocks of 3 corpora dealt to 2 ranks" "$1" | grep -o "^encode: [0-9]*" | grep -o "[0-9]*"; }
  all=$(dealt "$work/encode1.log") left=$(dealt "$work/encode2.log")
  (( left > 0 && left < all )) || fail "the resumed encode dealt $left of $all blocks: not a resume"
  for ds in astro cook law; do
    h5diff "$work/clean/index.h5" "$work/runs/tiny/index.h5" "/index/$ds/corpus" || fail "resumed index of $ds differs"
  done
  # Training: killed at step 7 (checkpoints every 4), resumed, equal to an uninterrupted run.
  run train expert --expert cook --config "$cfg" "${clean[@]}"
  RR_FAULT=train-step:7 exits 137 run train expert --expert cook --config "$cfg" || fail "the injected fault did not fire"
  run train expert --expert cook --config "$cfg"
  cmp "$work/clean/experts/cook/adapter_model.safetensors" "$work/runs/tiny/experts/cook/adapter_model.safetensors" ||
    fail "the resumed expert differs from the uninterrupted one"
  run pipeline --config "$cfg" >/dev/null
  snapshot "$work/runs/tiny/results.h5" "$work/before.h5"
  # Evaluate: a rank killed after its third committed (dataset, router) unit; results.h5 is untouched, and the
  # re-run computes only the units not yet committed and gives the same measures, routing and runs. (The
  # completed run's record is removed first, as if the kill had come during the pipeline.)
  has "evaluate: up to date" run evaluate --config "$cfg" --log-level info || fail "a complete evaluate ran again"
  $py - "$work/runs/tiny/results.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    del f["/meta/evaluate"]
PY
  cp "$work/runs/tiny/results.h5" "$work/before-eval.h5"
  rm -rf "$work/runs/tiny/units/evaluate"
  RR_FAULT=evaluate-unit:3 exits 137 mpi 2 evaluate --config "$cfg" || fail "the injected fault did not fire"
  cmp "$work/before-eval.h5" "$work/runs/tiny/results.h5" || fail "a killed evaluate changed results.h5"
  mpi 2 evaluate --config "$cfg" --log-level info > "$work/eval2.log" 2>&1 || { cat "$work/eval2.log"; fail "the resumed evaluate failed"; }
  [[ $(grep -c "nDCG@10" "$work/eval2.log") -lt $(h5ls -r "$work/before.h5/metrics" | grep -c "/mean ") ]] ||
    fail "the resumed evaluate recomputed every unit"
  for ds in astro cook law; do
    for g in metrics routing runs; do
      h5diff "$work/before.h5" "$work/runs/tiny/results.h5" "/$g/$ds" || fail "resumed /$g/$ds differs"
    done
  done
  # Score: a rank killed after the second committed column; the re-run scores only the columns not yet
  # committed and ends with the same scores. (The completed run's record and cached columns are removed first,
  # as if the kill had come during the pipeline.)
  snapshot "$work/runs/tiny/results.h5" "$work/before.h5"
  $py - "$work/runs/tiny/results.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    del f["/meta/score"], f["/score_columns"]
PY
  rm -rf "$work/runs/tiny/units/score"
  RR_FAULT=score-column:2 exits 137 mpi 2 score --config "$cfg" || fail "the injected score fault did not fire"
  mpi 2 score --config "$cfg" --log-level info > "$work/score2.log" 2>&1 || fail "the resumed score failed"
  [[ $(grep -c " x .*: up to date" "$work/score2.log") -eq 2 ]] || { cat "$work/score2.log"; fail "score did not resume after two columns"; }
  for ds in astro cook; do  # law has no expert: no training queries to score
    h5diff "$work/before.h5" "$work/runs/tiny/results.h5" "/scores/$ds" || fail "resumed scores of $ds differ"
    h5diff "$work/before.h5" "$work/runs/tiny/results.h5" "/train_queries/$ds/base" || fail "resumed base embeddings of $ds differ"
  done
  # A full disk (file size limit) while evaluate writes: a clear error, no temp file or part left, earlier results
  # intact.
  cp "$work/runs/tiny/results.h5" "$work/before.h5"
  ls "$work/runs/tiny/results.parts" > "$work/parts-before.txt"
  code=0; (trap '' XFSZ; ulimit -f 64; exec "$rr" evaluate --config "$cfg" --force --threads 1) > "$work/full.log" 2>&1 ||
    code=$?
  (( code == 1 )) && grep -qi "disk full\|write failed\|cannot" "$work/full.log" ||
    { cat "$work/full.log"; fail "a full disk: exit $code, not 1 with a clear error"; }
  cmp "$work/before.h5" "$work/runs/tiny/results.h5" || fail "a failed write damaged results.h5"
  ls "$work/runs/tiny/" | grep -q "tmp-" && fail "a temporary file was left behind"
  [[ $(ls "$work/runs/tiny/results.parts") == "$(cat "$work/parts-before.txt")" ]] || fail "a failed write left a part"
  # Corrupt inputs: clear errors (exit 2 or 1 with the file named), never a crash.
  cp "$work/runs/tiny/results.h5" "$work/good.h5"
  head -c 3000 "$work/good.h5" > "$work/runs/tiny/results.h5"
  code=0; run report --config "$cfg" > "$work/corrupt.log" 2>&1 || code=$?
  (( code == 1 || code == 2 )) && grep -q "results.h5" "$work/corrupt.log" || fail "truncated results.h5: no clear error ($code)"
  cp "$work/good.h5" "$work/runs/tiny/results.h5"
  # A router's fitted state missing (pilot fits them): evaluate says to run pilot again and writes nothing.
  $py - "$work/runs/tiny/results.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    del f["/router_states/classification-head"]
PY
  cp "$work/runs/tiny/results.h5" "$work/no-state.h5"
  fails 2 "no fitted state for the router 'classification-head' (run \`pilot\` again" run evaluate --config "$cfg" --force ||
    fail "evaluate without a router's state: no clear error"
  cmp "$work/no-state.h5" "$work/runs/tiny/results.h5" || fail "evaluate without a router's state changed results.h5"
  cp "$work/good.h5" "$work/runs/tiny/results.h5"
  # A damaged index.h5 is an error at np 2 and is left as it is (it may hold hours of encoding).
  cp "$work/runs/tiny/index.h5" "$work/good-index.h5"
  head -c 5000 "$work/good-index.h5" > "$work/bad-index.h5"
  cp "$work/bad-index.h5" "$work/runs/tiny/index.h5"
  code=0; mpi 2 encode --config "$cfg" --set evaluation.max_doc_length=100 > "$work/corrupt.log" 2>&1 || code=$?
  (( code == 2 )) && grep -q "index.h5 is unreadable" "$work/corrupt.log" || { cat "$work/corrupt.log"; fail "damaged index.h5: no clear error ($code)"; }
  cmp "$work/bad-index.h5" "$work/runs/tiny/index.h5" || fail "encode changed a damaged index.h5"
  cp "$work/good-index.h5" "$work/runs/tiny/index.h5"
  cp -p "$work/runs/tiny/experts/astro/adapter_model.safetensors" "$work/adapter.bak"  # -p: the same file identity
  head -c 100 "$work/adapter.bak" > "$work/runs/tiny/experts/astro/adapter_model.safetensors"
  code=0; run evaluate --config "$cfg" > "$work/corrupt.log" 2>&1 || code=$?
  (( code == 2 )) && grep -q "adapter_model.safetensors" "$work/corrupt.log" || fail "truncated adapter: no clear error ($code)"
  cp -p "$work/adapter.bak" "$work/runs/tiny/experts/astro/adapter_model.safetensors"
  mkdir -p "$work/runs/tiny/checkpoints/expert-law"
  echo "{broken" > "$work/runs/tiny/checkpoints/expert-law/state.json"
  code=0; run train expert --expert law --config "$cfg" --set 'experts=[{"name":"law"}]' > "$work/corrupt.log" 2>&1 || code=$?
  (( code == 2 )) && grep -q "state.json" "$work/corrupt.log" || fail "corrupt checkpoint: no clear error ($code)"
  # One run per output folder: a second evaluate while the first holds rr.lock exits 2 naming the first and
  # touches nothing; the first then ends as a single run would. A lock left by a killed run on this host is
  # taken over; --break-lock takes any.
  snapshot "$work/runs/tiny/results.h5" "$work/before-lock.h5"
  "$rr" evaluate --config "$cfg" --force --threads 1 > "$work/first.log" 2>&1 & first=$!
  for _ in $(seq 1 200); do [[ -e $work/runs/tiny/rr.lock ]] && break; sleep 0.05; done
  kill -STOP $first  # holds the lock, does nothing
  code=0; run evaluate --config "$cfg" --force > "$work/second.log" 2>&1 || code=$?
  kill -CONT $first
  wait $first || { cat "$work/first.log"; fail "the first evaluate failed"; }
  (( code == 2 )) || fail "a second run on the same output folder exited $code, not 2"
  grep -q "rr.lock is held by \`evaluate --config .*\` (pid $first on $(hostname)" "$work/second.log" ||
    { cat "$work/second.log"; fail "the second run did not name the first"; }
  [[ -e $work/runs/tiny/rr.lock ]] && fail "the first run left its lock"
  digest() { $py "$here/../../analysis/rr_analysis.py" digest "$1" | grep -E '^/(metrics|routing|runs)/'; }
  [[ $(digest "$work/runs/tiny/results.h5" | wc -l) -gt 100 ]] || fail "no results to compare"
  cmp <(digest "$work/before-lock.h5") <(digest "$work/runs/tiny/results.h5") ||
    { diff <(digest "$work/before-lock.h5") <(digest "$work/runs/tiny/results.h5") | head; fail "the results differ from a single run's"; }
  echo '{"host": "'"$(hostname)"'", "pid": 999999999, "process_start": "1", "started": 0, "command": "gone"}' \
    > "$work/runs/tiny/rr.lock"
  has "taking over the lock of \`gone\`" run report --config "$cfg" || fail "a dead process's lock was not taken over"
  echo '{"host": "elsewhere", "pid": 1, "started": 0, "command": "far"}' > "$work/runs/tiny/rr.lock"
  code=0; run report --config "$cfg" > "$work/far.log" 2>&1 || code=$?
  (( code == 2 )) && grep -q "older than 72 h), run again with --break-lock" "$work/far.log" ||
    { cat "$work/far.log"; fail "another host's lock: exit $code"; }
  run report --config "$cfg" --break-lock > /dev/null || fail "--break-lock did not take the lock"
  [[ -e $work/runs/tiny/rr.lock ]] && fail "report left the lock it broke"
  echo "faults: encode, train, score and evaluate resumed after kills; corrupt files (index.h5 included) and a full disk gave clear errors; one run per output folder"
  ;;
provenance)
  # /provenance holds the commit, the config's hash and every input's checksum (checked against hashlib);
  # nothing reruns when nothing changed; one changed byte of a qrels file is named by `check` and by the next
  # stage and reruns exactly what depends on it; stale router states and wrong checksums are refused (exit 2);
  # a zero-shot run reuses trained models read-only.
  # First, stages run before their prerequisites and a damaged queries file: exit 2 naming what to do.
  early=(--set output_dir="$work/early")
  fails 2 "run \`prepare\` first" run encode --config "$cfg" "${early[@]}" || fail "encode before prepare"
  fails 2 "run \`score\` first" run pilot --config "$cfg" "${early[@]}" || fail "pilot before score"
  fails 2 "run \`encode\` first" run evaluate --config "$cfg" "${early[@]}" || fail "evaluate before encode"
  fails 2 "run \`evaluate\` first" run report --config "$cfg" "${early[@]}" || fail "report before evaluate"
  cp -r "$work/data" "$work/bad-data"
  printf '{"_id": "astro-q0", "text": "again"}\n' >> "$work/bad-data/astro/queries.jsonl"
  line=$(wc -l < "$work/bad-data/astro/queries.jsonl")
  fails 2 "queries.jsonl:$line: .*duplicate id 'astro-q0'" run prepare --config "$cfg" --set output_dir="$work/bad" \
    --set "datasets.0.source.dir=$work/bad-data/astro" || fail "a duplicate query id was not named"
  run pipeline --config "$cfg" > /dev/null
  res=$work/runs/tiny/results.h5
  $py - "$res" "$rr" <<'PY' || fail "/provenance is incomplete or wrong"
import hashlib, json, os, re, subprocess, sys, h5py
p = h5py.File(sys.argv[1], "r")["provenance"]
a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in p.attrs.items()}
# The commit the executable was built from (its --version ends in git describe's abbreviated hash).
version = subprocess.run([sys.argv[2], "--version"], capture_output=True, text=True).stdout.split()[-1]
assert a["version"] == version, (a["version"], version)
assert a["git_commit"] == "unknown" or (re.fullmatch("[0-9a-f]{40}", a["git_commit"]) and
                                        re.search("g?" + a["git_commit"][:7], version)), (a["git_commit"], version)
assert int(a["git_dirty"]) == int(version.endswith("-dirty"))
assert a["config_sha256"] == hashlib.sha256(a["config"].encode()).hexdigest()
assert json.loads(a["config"])["seed"] == 7
assert (int(a["ranks"]), int(a["threads"]), a["device"], a["precision"]) == (1, 1, "cpu", "fp32"), a
for key in ("version", "libtorch", "mpi", "hdf5", "hosts", "recorded_utc", "stage"):
    assert len(a[key]) > 0, key
i = p["inputs"]
rows = list(zip(*(i[k].asstr()[()] for k in ("owner", "name", "path", "sha256")), i["size"][()]))
assert len(rows) == 21, len(rows)  # 3 files x 3 datasets, 6 of the trained base, 2 x (2 experts + multitask)
for owner, name, path, sha, size in rows:
    assert sha == hashlib.sha256(open(path, "rb").read()).hexdigest(), path
    assert size == os.path.getsize(path), path
assert ("dataset law", "qrels/all.tsv") in [(r[0], r[1]) for r in rows]
assert ("expert astro", "adapter_model.safetensors") in [(r[0], r[1]) for r in rows]
PY
  $py "$here/../../analysis/rr_analysis.py" provenance --verify "$res" > "$work/prov.txt" || fail "provenance --verify failed"
  [[ $(grep -c "\[same\]" "$work/prov.txt") -eq 21 ]] || fail "provenance --verify did not confirm 21 files"
  # Nothing changed: nothing reruns, results.h5 stays as it is.
  cp "$res" "$work/before.h5"
  run pipeline --config "$cfg" --log-level info > "$work/again.log" 2>&1
  [[ $(grep -c ": up to date (inputs unchanged" "$work/again.log") -eq 8 ]] || fail "a stage reran without a change"
  cmp "$res" "$work/before.h5" || fail "an unchanged pipeline rewrote results.h5"
  # One byte of law's qrels (law has no expert) with a given base: only law's folder, index and results rerun.
  B=(--set output_dir="$work/B" --set base.train=false --set base.path="$work/runs/tiny/base")
  run pipeline --config "$cfg" "${B[@]}" > /dev/null
  touch "$work/marker"
  sed -i '3s/\t1$/\t2/' "$work/data/law/qrels/all.tsv"
  code=0; run check --config "$cfg" "${B[@]}" > "$work/check.txt" 2>&1 || code=$?
  [[ $code == 0 ]] || { cat "$work/check.txt"; fail "check exited $code"; }
  grep -q "dataset law: qrels/all.tsv changed" "$work/check.txt" || fail "check did not name the changed file"
  run pipeline --config "$cfg" "${B[@]}" --log-level info > "$work/inval.log" 2>&1 || fail "pipeline after the change failed"
  grep -q "prepare: 1 input file(s) differ" "$work/inval.log" && grep -q "dataset law: qrels/all.tsv changed" "$work/inval.log" ||
    fail "the next stage did not name the changed file"
  for line in "prepare: astro is up to date" "prepare: cook is up to date" "train-base: up to date" \
              "encode: astro is up to date" "encode: cook is up to date" "train-expert: up to date" \
              "train-multitask: up to date" "score: up to date" "pilot: up to date" "evaluate astro: up to date" \
              "evaluate cook: up to date" "prepare: law: copied"; do
    grep -q "$line" "$work/inval.log" || fail "after law's qrels changed, missing: $line"
  done
  [[ $(grep -c "evaluate [a-z]*: bm25 " "$work/inval.log") -eq 1 ]] || fail "more than law was evaluated again"
  changed=$(find "$work/B/units" -name '*.h5' -newer "$work/marker" | grep -vc "/evaluate/law/" || true)
  [[ $changed == 0 ]] || fail "$changed units outside evaluate/law were rewritten"
  # Stale router states: evaluate with another tie rule than pilot fitted them with.
  code=0; run evaluate --config "$cfg" "${B[@]}" --set routing.tie_rule=skip > "$work/stale.txt" 2>&1 || code=$?
  [[ $code == 2 ]] && grep -q 'routing.tie_rule: (unset) -> "skip"' "$work/stale.txt" ||
    { cat "$work/stale.txt"; fail "evaluate with stale routers gave $code"; }
  # Expected checksums: a wrong one stops the stage (exit 2) naming the file; the right one passes.
  right=$(sha256sum "$work/data/law/qrels/all.tsv" | cut -d' ' -f1)
  wrong=$(printf '%064d' 0)
  code=0; run prepare --config "$cfg" "${B[@]}" --set "datasets.2.checksums={\"qrels/all.tsv\":\"$wrong\"}" > "$work/sum.txt" 2>&1 || code=$?
  [[ $code == 2 ]] && grep -q "dataset 'law': qrels/all.tsv .* has SHA-256 $right, but its checksums expect $wrong" "$work/sum.txt" ||
    { cat "$work/sum.txt"; fail "a wrong checksum gave $code"; }
  run prepare --config "$cfg" "${B[@]}" --set "datasets.2.checksums={\"qrels/all.tsv\":\"$right\"}" || fail "the right checksum failed"
  # Zero-shot over trained models: used read-only (not one byte written), the multi-task row kept.
  (cd "$work/runs/tiny" && find experts multitask -type f | sort | xargs sha256sum) > "$work/models.sum"
  run pipeline --config "$cfg" "${B[@]}" --set output_dir="$work/Z" --set trained_models="$work/runs/tiny" \
    --log-level info > "$work/zero.log" 2>&1 || fail "the read-only pipeline failed"
  (cd "$work/runs/tiny" && sha256sum --quiet -c "$work/models.sum") || fail "a read-only model was written"
  [[ $(grep -c "read-only, trained by another experiment" "$work/zero.log") -eq 3 ]] || fail "not 3 read-only models"
  has "Multi-task" cat "$work/Z/report.md" || fail "the zero-shot report lacks the multi-task row"
  fails 2 "expert astro is used read-only from trained_models .* holds no trained model" run train expert \
    --config "$cfg" "${B[@]}" --set output_dir="$work/Z2" --set trained_models="$work/nowhere" ||
    fail "trained_models without models: no clear error"
  echo "provenance: 21 inputs checksummed; unchanged inputs rerun nothing; one qrels byte named and rerun only" \
       "law's units; stale routers, wrong checksums refused; trained models reused read-only"
  ;;
beir)
  # The paper's layout in miniature: seven BEIR-shaped datasets from real text, generated queries for Quora and
  # ArguAna, the released code's training files, a "bert."-prefixed pytorch_model.bin, max length 512, and the
  # paper's config with only sizes and paths changed. `check` passes; the pipeline runs at np 2; each broken
  # variant fails `check` with its problem named; the same config runs on a miniature made from other text.
  beir_setup() {  # beir_setup DIR DICT SEED: the miniature and its config in DIR
    local dir=$1
    $py "$here/make_beir_miniature.py" "$dir" "$2" "$3" > /dev/null
    run vocab --input "$dir"/data/beir/*/corpus.jsonl --size 2000 --out "$dir/models/contriever-mini/vocab.txt" >/dev/null
    for ds in quora arguana; do
      run convert beir-generated --input "$dir/generated/$ds-train.jsonl.gz" --out "$dir/data/beir/$ds" >/dev/null
    done
    $py - "$here/../../experiments/beir-paper.json" "$dir/experiments/beir-mini.json" <<'PY'
import json, sys, os
c = json.load(open(sys.argv[1]))
c.update(name="beir-mini", device="cpu", output_dir="../runs/beir-mini")
c["base"]["path"] = "../models/contriever-mini"
c["expert_training"].update(steps=20, lr=3e-3, batch_size=16, eval_every=5, checkpoint_every=5, max_query_length=512)
c["multitask"] = {"steps": 6}
c["routing"] = {"dataset_router_instances": 20}
c["evaluation"].update(k=100, store_k=20, corpus_block=64)
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
  }
  mini=$work/mini
  beir_setup "$mini" /usr/share/dictd/foldoc.dict.dz 7
  cfg=$mini/experiments/beir-mini.json
  run convert released --train "$mini/released/fiqa-train.json" --dev "$mini/released/fiqa-dev.json" \
    --out "$mini/data/beir/fiqa" >/dev/null
  [[ $(wc -l < "$mini/data/beir/fiqa/released-queries.jsonl") -eq 80 ]] || fail "convert released: not 80 questions"
  run check --config "$cfg" --ranks 2 > "$work/check.txt" 2>&1 || { cat "$work/check.txt"; fail "check failed on the miniature"; }
  grep -q "no problems found" "$work/check.txt" || fail "check did not conclude"
  grep -q "gen-qrels/train.tsv" "$work/check.txt" || fail "the plan does not name the generated queries"
  grep -q "hold-out of" "$work/check.txt" || fail "MS MARCO's dev queries are not a hold-out"
  mpi 2 pipeline --config "$cfg" > "$work/beir-pipeline.txt" 2>&1 || { tail -20 "$work/beir-pipeline.txt"; fail "pipeline failed"; }
  for ds in msmarco quora arguana hotpotqa nfcorpus scifact fiqa; do
    grep -q "| $ds" "$work/beir-pipeline.txt" || grep -q " $ds " "$work/beir-pipeline.txt" || fail "report lacks $ds"
  done
  $py - "$mini/runs/beir-mini/results.h5" <<'PY' || fail "stored runs keep a hit whose id is the query's"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
for ds in ("quora", "arguana"):
    docs = [d.decode() for d in f[f"datasets/{ds}/corpus_ids"][()]]
    queries = [q.decode() for q in f[f"datasets/{ds}/query_ids/test"][()]]
    for router in f[f"runs/{ds}"]:
        rows = f[f"runs/{ds}/{router}/doc"][()]
        for q, row in zip(queries, rows):
            assert all(docs[d] != q for d in row if d >= 0), (ds, router, q)
PY
  # Broken variants: each fails check (exit 2) with its problem named.
  broken() {  # broken WHAT PATTERN [check args...]
    local what=$1 pat=$2; shift 2
    code=0; run check --config "$cfg" "$@" > "$work/broken.txt" 2>&1 || code=$?
    (( code == 2 )) && grep -q -- "$pat" "$work/broken.txt" || { cat "$work/broken.txt"; fail "$what: check gave $code without '$pat'"; }
  }
  mv "$mini/data/beir/scifact/qrels/test.tsv" "$work/test.tsv"
  broken "a missing split" "scifact/qrels/test.tsv has no judged queries"
  mv "$work/test.tsv" "$mini/data/beir/scifact/qrels/test.tsv"
  mv "$mini/data/beir/arguana/gen-qrels" "$work/gen-qrels"
  broken "no training data" "dataset 'arguana' has an expert but no training queries"
  mv "$work/gen-qrels" "$mini/data/beir/arguana/gen-qrels"
  cp "$mini/data/beir/hotpotqa/qrels/train.tsv" "$work/train.tsv"
  printf 'no-such-query\t%s\t1\n' "$(head -2 "$mini/data/beir/hotpotqa/corpus.jsonl" | tail -1 | cut -d'"' -f4)" \
    >> "$mini/data/beir/hotpotqa/qrels/train.tsv"
  broken "a dangling qrels id" "hotpotqa/qrels/train.tsv:102: field 'query-id': query 'no-such-query'"
  cp "$work/train.tsv" "$mini/data/beir/hotpotqa/qrels/train.tsv"
  broken "dev == test" "would select checkpoints on the evaluation split" --set datasets.0.dev_source=split
  cp "$mini/models/contriever-mini/pytorch_model.bin" "$work/model.bin"
  $py -c "import torch,sys; s=torch.load(sys.argv[1]); s['bert.encoder.layer.0.attention.self.value.weight']=torch.zeros(32,16); torch.save(s,sys.argv[1])" \
    "$mini/models/contriever-mini/pytorch_model.bin"
  broken "a wrong-shaped weight" "encoder.layer.0.attention.self.value.weight has shape \[32, 16\]"
  cp "$work/model.bin" "$mini/models/contriever-mini/pytorch_model.bin"
  # Other text, same structure: the same config runs unchanged.
  other=$work/other
  beir_setup "$other" /usr/share/dictd/jargon.dict.dz 11
  run check --config "$other/experiments/beir-mini.json" > /dev/null 2>&1 || fail "check failed on other text"
  mpi 2 pipeline --config "$other/experiments/beir-mini.json" > "$work/other.txt" 2>&1 || { tail -20 "$work/other.txt"; fail "pipeline failed on other text"; }
  grep -q "RouterRetriever" "$work/other.txt" || fail "no table on other text"
  # experiments/beir-paper.json itself passes check against empty-but-well-formed stand-ins of the real folders
  # (BEIR's files and splits, the generated-queries prefix, a Contriever-shaped model whose weights file is the
  # right size but sparse).
  stand=$work/standin
  mkdir -p "$stand/experiments"
  cp "$here/../../experiments/beir-paper.json" "$stand/experiments/"
  $py - "$stand" <<'PY'
import json, os, sys
root = sys.argv[1]
splits = {"msmarco": ["train", "dev", "test"], "quora": ["dev", "test"], "arguana": ["test"],
          "hotpotqa": ["train", "dev", "test"], "nfcorpus": ["train", "dev", "test"], "scifact": ["train", "test"],
          "fiqa": ["train", "dev", "test"]}
for name, ss in splits.items():
    d = os.path.join(root, "data", "beir", name)
    os.makedirs(os.path.join(d, "qrels"))
    with open(os.path.join(d, "corpus.jsonl"), "w") as f:
        for i in range(2):
            f.write(json.dumps({"_id": f"d{i}", "title": "", "text": "stand-in", "metadata": {}}) + "\n")
    with open(os.path.join(d, "queries.jsonl"), "w") as f:
        for s in ss:
            f.write(json.dumps({"_id": f"q-{s}", "text": "stand-in", "metadata": {}}) + "\n")
    for s in ss:
        open(os.path.join(d, "qrels", s + ".tsv"), "w").write(f"query-id\tcorpus-id\tscore\nq-{s}\td0\t1\n")
    if "train" not in ss:  # generated queries, as `convert beir-generated` writes them
        os.makedirs(os.path.join(d, "gen-qrels"))
        open(os.path.join(d, "gen-queries.jsonl"), "w").write(json.dumps({"_id": "genQ1", "text": "x"}) + "\n")
        open(os.path.join(d, "gen-qrels", "train.tsv"), "w").write("query-id\tcorpus-id\tscore\ngenQ1\td1\t1\n")
m = os.path.join(root, "models", "contriever")
os.makedirs(m)
H, F, L, V, P = 768, 3072, 12, 30522, 512
json.dump({"hidden_size": H, "num_hidden_layers": L, "num_attention_heads": 12, "intermediate_size": F,
           "max_position_embeddings": P, "vocab_size": V, "type_vocab_size": 2}, open(os.path.join(m, "config.json"), "w"))
open(os.path.join(m, "vocab.txt"), "w").write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "stand", "-", "in"]) + "\n")
shapes = {"embeddings.word_embeddings.weight": [V, H], "embeddings.position_embeddings.weight": [P, H],
          "embeddings.token_type_embeddings.weight": [2, H], "embeddings.LayerNorm.weight": [H],
          "embeddings.LayerNorm.bias": [H]}
for l in range(L):
    p = f"encoder.layer.{l}."
    for m_, s_ in (("attention.self.query", [H, H]), ("attention.self.key", [H, H]), ("attention.self.value", [H, H]),
                   ("attention.output.dense", [H, H]), ("intermediate.dense", [F, H]), ("output.dense", [H, F])):
        shapes[p + m_ + ".weight"], shapes[p + m_ + ".bias"] = s_, s_[:1]
    for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
        shapes[p + ln + ".weight"] = shapes[p + ln + ".bias"] = [H]
header, offset = {}, 0
for name, shape in shapes.items():
    n = 4
    for x in shape: n *= x
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}
    offset += n
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(os.path.join(m, "model.safetensors"), "wb") as f:
    f.write(len(text).to_bytes(8, "little") + text)
    f.truncate(8 + len(text) + offset)  # sparse: the right size, no data written
PY
  run check --config "$stand/experiments/beir-paper.json" > "$work/standin.txt" 2>&1 ||
    { cat "$work/standin.txt"; fail "beir-paper.json fails check on well-formed stand-ins"; }
  echo "beir: check passes, the pipeline runs at np 2 on two miniatures, five broken variants named, beir-paper.json checks"
  ;;
*) fail "unknown scenario $scenario" ;;
esac
