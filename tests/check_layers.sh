#!/usr/bin/env bash
# tests/check_layers.sh — fails when an #include runs upward or sideways between the layers
# (`make check-layers`, part of `make test`). The layers, lowest first:
#   0 base/            error reporting and allocation (what even kernels/ needs)
#   1 kernels/         the only code that touches tensor data (kernels/cpu, kernels/cuda inside)
#   2 core/base/       random streams, CPython's random, the communicator interface, the pickle and
#                      ZIP readers under PyTorch checkpoints and Dassl caches
#   3 core/model/ core/text/ core/data/ core/optim/   (peers: none includes another)
#   4 core/methods/    the method registry, the prompted-CLIP skeleton, one file per method
#   5 core/train/      the run loop
#   6 core/gen/ results/   generators for tests and the demo; HDF5 results (peers)
#   7 runner/          the clipgrid program
# A file may include headers of its own folder and of lower layers only; tests/ may include any.
set -u
cd "$(dirname "$0")/.."

layer_of() {  # path -> "rank folder", or nothing for files outside the layers
  case "$1" in
    base/*) echo "0 base" ;;
    kernels/*) echo "1 kernels" ;;
    core/base/*) echo "2 core/base" ;;
    core/model/*|core/text/*|core/data/*|core/optim/*) echo "3 $(echo "$1" | cut -d/ -f1-2)" ;;
    core/methods/*) echo "4 core/methods" ;;
    core/train/*) echo "5 core/train" ;;
    core/gen/*) echo "6 core/gen" ;;
    results/*) echo "6 results" ;;
    runner/*) echo "7 runner" ;;
  esac
}

bad=0; checked=0
while IFS= read -r f; do
  read -r rank dir <<<"$(layer_of "$f")"
  [ -n "${rank:-}" ] || continue
  while IFS=: read -r line inc; do
    target=$(echo "$inc" | sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/')
    read -r trank tdir <<<"$(layer_of "$target")"
    [ -n "${trank:-}" ] || continue
    checked=$((checked + 1))
    if [ "$tdir" != "$dir" ] && [ "$trank" -ge "$rank" ]; then
      way=upward; [ "$trank" -eq "$rank" ] && way=sideways
      echo "$f:$line: includes $target ($tdir, layer $trank) from $dir (layer $rank): $way"
      bad=$((bad + 1))
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$f")
done < <(git ls-files --cached --others --exclude-standard -- base kernels core results runner |
         grep -E '\.(c|h|cu|cuh)$')

if [ "$bad" -gt 0 ]; then
  echo "check-layers: $bad include(s) against the layer order (see tests/check_layers.sh)"
  exit 1
fi
echo "check-layers: $checked includes between layers, all downward"
