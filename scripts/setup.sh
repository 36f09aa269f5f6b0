#!/usr/bin/env bash
# Installs every Debian 12 package rr needs (once; idempotent) and builds rr's executable into build/ (the
# tests and benches are built by scripts/test.sh, which the demo does not need).
# Environment: RR_BUILD_DIR (default build), RR_JOBS (default 2), RR_CMAKE_ARGS (extra cmake arguments).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RR_BUILD_DIR:-$root/build}

packages=(
  # toolchain (clang and its runtimes for the sanitizer and fuzzing build)
  g++ cmake ninja-build ccache pkg-config git clang-14 libclang-rt-14-dev zlib1g-dev
  # the stack
  libtorch-dev libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libboost-program-options-dev
  libspdlog-dev libgtest-dev nlohmann-json3-dev libsimdjson-dev libutf8proc-dev
  libssl-dev  # OpenSSL's SHA-256 for the results' provenance
  # speed: OpenBLAS (the OpenMP variant obeys torch's thread count) and tcmalloc
  libopenblas0-openmp libgoogle-perftools-dev
  # oneDNN headers: the bf16 x bf16 -> fp32 GEMM of bf16 search (LibTorch already links libdnnl)
  libdnnl-dev
  # analysis tools, tests and benches
  python3 python3-h5py python3-numpy python3-pandas python3-matplotlib python3-pytest python3-torch python3-faiss
  python3-sklearn python3-scipy python3-xapian
  libfaiss-dev
  # demo data (Debian-shipped text) and the Slurm test
  dict-foldoc dict-jargon dict-devil dict-gcide dict-wn dictzip slurm-wlm munge
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ccache keeps its cache outside the build dir, so a fresh clone on this machine rebuilds from cache.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}  # paths hashed relative to the clone: any clone hits the cache
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${RR_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "${RR_JOBS:-2}" --target routerretriever
echo "setup: built $build/mpi/routerretriever"
