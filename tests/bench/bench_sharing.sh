#!/usr/bin/env bash
# tests/bench/bench_sharing.sh — work done once (issue 12): the planner's rank time of the
# shipped sweeps (base2new, fewshot, cross_dataset, domain_generalization) with every cell run
# apart and with shared work done once (cells with one run key are one run; runs with one
# training key train once), each alone and all four planned together into one OUT. Estimates
# only (plan --summary --no-data, published dataset sizes): nothing is trained. The weights are a
# random ViT-B/16 (bf16, 0.3 GB, written to a temporary folder) so that the costs are those of
# the published backbone. Then the demo sweep timed with and without the frozen-feature cache.
set -u
cd "$(dirname "$0")/../.."
REPO=$PWD
CLIPGRID="$REPO/build/clipgrid"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/models"
"$CLIPGRID" make-model "$tmp/models/ViT-B-16.safetensors" --arch ViT-B/16 --dtype bf16 >/dev/null ||
  { echo "bench_sharing: make-model failed"; exit 1; }
echo "--- shared work: planned rank time of the shipped sweeps (ViT-B/16, nominal 100 GFLOP/s per rank)"
(cd "$tmp" && "$CLIPGRID" plan --summary --no-data "$REPO"/sweeps/{base2new,fewshot,cross_dataset,domain_generalization}.yaml)
echo "--- frozen test-feature cache: the demo sweep (sweeps/demo.yaml, 1 rank) with and without it"
"$CLIPGRID" demo -o "$tmp/demo" --progress 100000 >/dev/null 2>&1 || { echo "bench_sharing: demo failed"; exit 1; }
timed() { # label, extra run options
  local t0 t1
  t0=$(date +%s.%N)
  (cd "$tmp" && timeout 900 "$CLIPGRID" run "$REPO/sweeps/demo.yaml" -o "$tmp/$1" --progress 100000 "${@:2}" >/dev/null 2>&1) ||
    echo "bench_sharing: the $1 run failed"
  t1=$(date +%s.%N)
  echo "$t0 $t1" | awk -v l="$1" '{printf "  %-18s %6.1f s wall\n", l, $2 - $1}'
}
for round in 1 2; do timed with_cache; timed without_cache --no-feature-cache; rm -rf "$tmp/with_cache" "$tmp/without_cache"; done
echo "  (the cache serves the evaluations of the 21 zero-shot, CoOp and CoCoOp runs; the demo model and test sets are tiny)"
