#!/usr/bin/env bash
# The main job: RouterRetriever end to end on the built-in demo benchmark (five dictionaries Debian ships:
# computing, hacker jargon, WordNet, Webster 1913, and The Devil's Dictionary as a zero-shot domain).
# Makes the data, learns a vocabulary, trains rr's own base encoder and one LoRA expert per domain, runs the
# whole pipeline under mpirun -np 2, prints the Table 1 layout and draws the figures.
# Environment: RR_RANKS (default 2), RR_CONFIG (default experiments/demo.json).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rr=${RR_BUILD_DIR:-$root/build}/mpi/routerretriever
config=${RR_CONFIG:-$root/experiments/demo.json}
ranks=${RR_RANKS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
start=$(date +%s)
mpirun -np "$ranks" --oversubscribe --bind-to none "$rr" pipeline --config "$config" --threads $(( $(nproc) / ranks > 0 ? $(nproc) / ranks : 1 ))
out=$(/usr/bin/python3 -c "import json,os,sys; c=json.load(open(sys.argv[1])); print(os.path.normpath(os.path.join(os.path.dirname(sys.argv[1]), c.get('output_dir', 'runs/' + c['name']))))" "$config")
if /usr/bin/python3 -c "import h5py, matplotlib" 2>/dev/null; then
  /usr/bin/python3 "$root/analysis/rr_analysis.py" plots "$out/results.h5" --out "$out/figures" >/dev/null
  echo "figures: $out/figures"
fi
echo "results: $out/results.h5 with its parts in $out/results.parts/ (h5dump -H, h5py), table: $out/report.md"
echo "demo took $(( $(date +%s) - start )) s"
