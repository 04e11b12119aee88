#!/usr/bin/env bash
# tests/bench/bench_sharing.sh — work done once (issue 12): the planner's rank time of the
# shipped sweeps (base2new, fewshot, cross_dataset, domain_generalization) with every cell run
# apart and with shared work done once (cells with one run key are one run; runs with one
# training key train once), each alone and all four planned together into one OUT. Estimates
# only (plan --summary --no-data, published dataset sizes): nothing is trained. The weights are a
# random ViT-B/16 (bf16, 0.3 GB, written to a temporary folder) so that the costs are those of
# the published backbone.
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
echo "(frozen test-feature cache: not implemented yet, so no with/without-cache timing of the demo sweep)"
