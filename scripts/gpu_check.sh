#!/usr/bin/env bash
# The one-command GPU check, for a machine with one GPU and PyTorch installed by pip but none of Debian's
# packages (as the device machines lent to some sessions are). Under 10 minutes on 16 cores:
#   1. builds rr against that PyTorch's LibTorch (torch.utils.cmake_prefix_path) in build-gpu/; the other
#      libraries (Open MPI, parallel HDF5, Boost.Program_options, spdlog, nlohmann-json, simdjson, utf8proc,
#      GoogleTest) from the machine when it has them, else from the Debian .deb files scripts/gpu_deps.sh
#      downloaded into gpu-deps/ (carried along; unpacked into gpu-deps/root, nothing installed);
#   2. runs the unit tests that touch the device (DeviceIndex on the GPU against brute force and exact_search,
#      autocast's bf16 on CUDA, the encoder);
#   3. runs the tiny pipeline with "device": "cuda" at np 1 and np 2 and with "cpu" at np 1, and compares:
#      the routing decisions and rankings identical, or every nDCG@10 within 1e-3 (cuBLAS rounds otherwise
#      than OpenBLAS);
#   4. prints the GPU's encode throughput (fp32, bf16) and search throughput (fp32, bf16 storage; k 10, 1000).
# Usage: scripts/gpu_check.sh [--device cpu]   (cpu: the parts that need no GPU, as on a machine without one)
# Environment: RR_JOBS (build jobs, default: the cores), OUT (a folder for the log and results; default
# gpu-check-out/), RR_USE_DEBS=1 (build with the unpacked .deb files even where the machine has the libraries).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
device=cuda
[[ ${1:-} == --device ]] && device=$2
out=${OUT:-$root/gpu-check-out}
mkdir -p "$out"
exec > >(tee "$out/gpu_check.log") 2>&1
start=$(date +%s)
step() { echo "== gpu_check [$(( $(date +%s) - start )) s]: $*"; }
py=""  # the Python that holds PyTorch (the PATH's first, else the system's)
for p in "$(command -v python3)" /usr/bin/python3; do
  [[ -x $p ]] && "$p" -c 'import torch, h5py' 2>/dev/null && { py=$p; break; }
done
[[ -n $py ]] || { echo "gpu_check: no python3 with torch and h5py" >&2; exit 2; }

step "PyTorch and the device"
read -r torch_version torch_cuda has_gpu torch_cmake < <("$py" - <<'PY'
import torch
print(torch.__version__, torch.version.cuda or "none", int(torch.cuda.is_available()), torch.utils.cmake_prefix_path)
PY
)
echo "torch $torch_version, CUDA $torch_cuda, GPU available: $has_gpu, cmake prefix $torch_cmake"
if [[ $device == cuda && $has_gpu != 1 ]]; then
  echo "gpu_check: no usable GPU here (torch.cuda.is_available() is false); rerun with --device cpu" >&2
  exit 2
fi
[[ $device == cuda ]] && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

step "the libraries besides LibTorch"
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DRR_BUILD_BENCH=ON -DRR_BUILD_TESTS=ON)
[[ -d $torch_cmake/Torch ]] && cmake_args+=(-DTorch_DIR="$torch_cmake/Torch")
if [[ ${RR_USE_DEBS:-0} == 1 ]] || ! command -v mpicc >/dev/null || ! pkg-config --exists libutf8proc 2>/dev/null; then
  debs=$root/gpu-deps/debs prefix=$root/gpu-deps/root
  [[ -d $debs ]] || { echo "gpu_check: this machine lacks MPI or other libraries, and gpu-deps/debs is missing" \
                           "(run scripts/gpu_deps.sh where Debian's packages are reachable, and carry gpu-deps)" >&2; exit 2; }
  if [[ ! -e $prefix/.unpacked ]]; then
    for f in "$debs"/*.deb; do dpkg-deb -x "$f" "$prefix"; done
    touch "$prefix/.unpacked"
  fi
  arch=x86_64-linux-gnu
  export PATH=$prefix/usr/bin:$PATH OPAL_PREFIX=$prefix/usr
  export LD_LIBRARY_PATH=$prefix/usr/lib/$arch:$prefix/usr/lib/$arch/openmpi/lib:$prefix/usr/lib/$arch/hdf5/openmpi/lib:${LD_LIBRARY_PATH:-}
  export PKG_CONFIG_PATH=$prefix/usr/lib/$arch/pkgconfig:$prefix/usr/share/pkgconfig
  export OPAL_LIBDIR=$prefix/usr/lib/$arch/openmpi/lib
  cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix/usr;$prefix/usr/lib/$arch/openmpi;$prefix/usr/lib/$arch/hdf5/openmpi"
               -DMPI_C_COMPILER="$prefix/usr/bin/mpicc.openmpi"
               -DHDF5_C_COMPILER_EXECUTABLE="$prefix/usr/bin/h5pcc.openmpi")
  echo "libraries unpacked from $(ls "$debs" | wc -l) Debian packages into $prefix"
fi

step "build (build-gpu/)"
cmake -S "$root" -B "$root/build-gpu" -G Ninja "${cmake_args[@]}" | grep -E "rr:|Torch|CUDA" || true
cmake --build "$root/build-gpu" -j "${RR_JOBS:-$(nproc)}" --target routerretriever rr_unit_tests bench_device_throughput \
  bench_routed_throughput
rr=$root/build-gpu/mpi/routerretriever

step "unit tests on the device"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader RR_LOG_LEVEL=warn
"$root/build-gpu/tests/rr_unit_tests" --gtest_filter='DeviceIndex.*:Autocast.*:Device.*:ExactSearch.*:Encoder*' \
  --gtest_brief=1

step "the tiny pipeline on $device (np 1, np 2) against the CPU (np 1)"
work=$out/tiny
rm -rf "$work"
"$py" "$root/tests/e2e/make_tiny_data.py" "$work/data"
sed "s#DATA#$work/data#g" "$root/tests/e2e/tiny.json" > "$work/tiny.json"
run_stages() {  # run_stages NAME NP DEVICE STAGE...: the stages into $work/NAME, timed
  local name=$1 np=$2 dev=$3 launch=() t0
  shift 3
  (( np > 1 )) && launch=(mpirun -np "$np" --oversubscribe --bind-to none)
  t0=$(date +%s.%N)
  for stage in "$@"; do
    "${launch[@]}" "$rr" $stage --config "$work/tiny.json" --set output_dir="$work/$name" --set device="$dev" \
      "${given[@]}" --threads 1 >> "$work/$name.log" 2>&1 ||
      { tail -20 "$work/$name.log"; echo "gpu_check: $stage of $name failed" >&2; exit 1; }
  done
  echo "$name: $(echo "$(date +%s.%N) - $t0" | bc) s"
}
# The whole pipeline on the device (training there too); then, with the models it trained, the stages that
# search at np 2 on the device and at np 1 on the CPU.
given=()
run_stages dev-np1 1 "$device" pipeline
given=(--set base.path="$work/dev-np1/base" --set base.train=false --set trained_models="$work/dev-np1")
run_stages dev-np2 2 "$device" prepare encode score pilot evaluate
run_stages cpu 1 cpu prepare encode score pilot evaluate
"$py" - "$work" <<'PY'
import sys, h5py, numpy as np
work = sys.argv[1]
def load(name):
    f = h5py.File(f"{work}/{name}/results.h5", "r")
    out = {}
    def visit(path, obj):
        if isinstance(obj, h5py.Dataset) and path.split("/")[0] in ("routing", "runs", "metrics"):
            out[path] = obj[()]
    f.visititems(visit)
    return out
cpu, np1, np2 = load("cpu"), load("dev-np1"), load("dev-np2")
same_ranks = all(np.array_equal(np1[p], np2[p]) for p in np1)
print(f"device np 1 vs np 2: {'identical' if same_ranks else 'DIFFERENT'} ({len(np1)} datasets)")
routing = all(np.array_equal(cpu[p], np1[p]) for p in cpu if p.startswith("routing/"))
runs = all(np.array_equal(cpu[p], np1[p]) for p in cpu if p.startswith("runs/") and p.endswith("/doc"))
worst = 0.0
for p in cpu:
    if p.startswith("metrics/") and p.endswith("/mean"):
        worst = max(worst, float(np.max(np.abs(cpu[p] - np1[p]))))
print(f"device vs CPU: routing {'identical' if routing else 'different'}, rankings {'identical' if runs else 'different'}, "
      f"largest difference of a mean measure {worst:.2e}")
ok = same_ranks and (runs or worst <= 1e-3)
print("tiny pipeline check:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY

step "throughput on $device"
if [[ $device == cuda ]]; then
  "$root/build-gpu/bench/bench_device_throughput" cuda 8192 2000000 12
  # Routed query encoding with T = 1 .. 100 LoRA experts beside the base (issue 31), 1,024 queries.
  "$root/build-gpu/bench/bench_routed_throughput" "$(nproc)" 1024 32 12 cuda
else
  "$root/build-gpu/bench/bench_device_throughput" cpu 256 20000 2
  "$root/build-gpu/bench/bench_routed_throughput" 2 64 32 2 cpu
fi
step "done in $(( $(date +%s) - start )) s"
