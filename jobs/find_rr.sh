# Sourced by the job scripts: sets $bin to the routerretriever executable — $RR_BIN, else the installed one
# beside these scripts, else the build tree's, else the one on PATH — or exits 2 saying so. Needs $here.
bin=${RR_BIN:-}
for candidate in "$here/../../../bin/routerretriever" "$here/../build/mpi/routerretriever" \
                 "$(command -v routerretriever || true)"; do
  [[ -z $bin && -x $candidate ]] && bin=$candidate
done
[[ -n $bin && -x $bin ]] || { echo "$(basename "$0"): no routerretriever executable (build or install it, or set RR_BIN)" >&2; exit 2; }
bin=$(realpath "$bin")
