#!/usr/bin/env bash
# Bench (b): end-to-end `rr embed` of real text (Cranfield, CISI and MED documents; a BERT-base-sized random model
# with the bert-base-uncased vocabulary) vs PyTorch from Python on the same weights, given the same pre-tokenized
# ids and batched as BEIR's exact search (the Python side's tokenization is not counted). One run, ratio printed.
# The peer runs twice: as Debian ships it (glibc malloc), and with tcmalloc preloaded, so the ratio that the
# allocator wins and the ratio that batching and the C++ pipeline win are both shown.
# Usage: bench/embed_vs_pytorch.sh [max_docs (default 300)] [max_length (default 256)] [threads (default 2)]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RR_BUILD_DIR:-$root/build}
rr=$build/mpi/routerretriever
shared=${RR_SHARED:-$root/../shared}
max_docs=${1:-300} max_len=${2:-256} threads=${3:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
classic=$shared/data/classic
$rr convert smart --docs $classic/cranfield/cran.all.1400 --queries $classic/cranfield/cran.qry --qrels $classic/cranfield/cranqrel --out $work/cran --log-level warn
$rr convert smart --docs $classic/cisi/CISI.ALL --queries $classic/cisi/CISI.QRY --qrels $classic/cisi/CISI.REL --out $work/cisi --log-level warn
$rr convert smart --docs $classic/med/MED.ALL --queries $classic/med/MED.QRY --qrels $classic/med/MED.REL --out $work/med --log-level warn
cat $work/{cran,cisi,med}/corpus.jsonl > $work/all.jsonl  # (a pipe into head would SIGPIPE cat under pipefail)
head -n "$max_docs" $work/all.jsonl > $work/docs.jsonl
$build/bench/bench_make_model $work/model $shared/data/vocab/bert-base-uncased/vocab.txt >/dev/null
$rr tokenize --vocab $work/model --input $work/docs.jsonl --max-length "$max_len" --log-level warn > $work/ids.jsonl
n=$(wc -l < $work/docs.jsonl)
echo "bench: $n documents, BERT-base (12 x 768) random weights, max_length $max_len, $threads threads"
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
precisions=(fp32)
grep -qw 'avx512_bf16\|amx_bf16' /proc/cpuinfo && precisions+=(bf16)  # rr refuses bf16 without fast bf16
for precision in "${precisions[@]}"; do
  t0=$(date +%s.%N)
  $rr embed --model $work/model --input $work/docs.jsonl --max-length "$max_len" --batch-size 64 --threads "$threads" \
    --precision "$precision" --log-level warn > $work/rr.jsonl
  t1=$(date +%s.%N)
  rr_rate=$(echo "$n / ($t1 - $t0)" | bc -l)
  printf "rr embed %s (end to end: read, tokenize, encode, write JSON): %.1f texts/s\n" "$precision" "$rr_rate"
  for peer in glibc tcmalloc; do
    preload=""
    [[ $peer == tcmalloc ]] && { [[ -e $tcmalloc ]] || continue; preload=$tcmalloc; }
    py_line=$(LD_PRELOAD=$preload /usr/bin/python3 "$root/bench/pytorch_embed.py" $work/model $work/ids.jsonl 64 \
              "$threads" "$precision")
    echo "$py_line (forward passes only; $precision; malloc: $peer)"
    py_rate=$(sed -E 's/.*= ([0-9.]+) texts.*/\1/' <<< "$py_line")
    printf "ratio rr / pytorch (%s, %s): %.2fx (target >= 1.2x)\n" "$precision" "$peer" \
      "$(echo "$rr_rate / $py_rate" | bc -l)"
  done
done
