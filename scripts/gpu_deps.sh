#!/usr/bin/env bash
# Downloads, where Debian's packages are reachable (run it after scripts/setup.sh: it reads the installed
# libraries), the .deb files of the libraries rr needs besides LibTorch (Open MPI, parallel HDF5,
# Boost.Program_options, spdlog/fmt, nlohmann-json, simdjson, utf8proc, GoogleTest) and the shared libraries
# they load, less what every Linux system has (glibc, libstdc++, libgcc, zlib): gpu-deps/debs/, for
# scripts/gpu_check.sh on a machine that reaches no registry (it unpacks them; nothing is installed). The
# folder is ignored by git; carry it to the GPU machine.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/gpu-deps/debs
mkdir -p "$out"
# Headers, link libraries and tools to build; then the shared libraries they load (their closure by ldd here).
build=(libopenmpi-dev openmpi-bin openmpi-common libhdf5-openmpi-dev libhdf5-openmpi-103-1 libaec-dev
       libboost-program-options1.74-dev libboost1.74-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
       libsimdjson-dev libutf8proc-dev libgtest-dev libpmix2 libpmix-dev bc)
runtime=$(for l in /usr/lib/x86_64-linux-gnu/libmpi.so.40 /usr/lib/x86_64-linux-gnu/hdf5/openmpi/libhdf5.so \
            /usr/lib/x86_64-linux-gnu/libboost_program_options.so.1.74.0 /usr/lib/x86_64-linux-gnu/libspdlog.so.1.10 \
            /usr/lib/x86_64-linux-gnu/libsimdjson.so.14 /usr/lib/x86_64-linux-gnu/libutf8proc.so.2; do
            ldd "$(readlink -f "$l")" | awk '{print $3}' | grep '^/'; readlink -f "$l"; done | sort -u |
          while read -r l; do dpkg -S "$(readlink -f "$l")" 2>/dev/null | head -1; done | cut -d: -f1 | sort -u |
          grep -Ev '^(libc6|libstdc\+\+6|libgcc-s1|zlib1g)$')
rm -f "$out"/*.deb
(cd "$out" && apt-get download "${build[@]}" $runtime 2>/dev/null)
echo "gpu_deps: $(ls "$out" | wc -l) packages, $(du -sh "$out" | cut -f1) in $out"
