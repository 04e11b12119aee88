#!/usr/bin/env bash
# tests/bench/run_bench.sh — `make bench`: the C benchmarks, then (when Debian's python3-torch is
# installed) PyTorch on the same machine and shapes, so every figure has a reference beside it.
set -u
cd "$(dirname "$0")/../.."
build/bench/bench_clip "${BENCH_THREADS:-0}" "${BENCH_BATCH:-8}"
tests/bench/bench_sched.sh  # demo sweep on 1 vs 2 ranks; scheduler time per run
build/bench/bench_image "${BENCH_IMAGES:-64}"  # decode + test transform; Pillow+torchvision beside it
build/bench/bench_methods "${BENCH_THREADS:-0}"       # CoOp/CoCoOp training step vs the official way in PyTorch
build/bench/bench_methods_deep "${BENCH_THREADS:-0}"  # MaPLe/MuDPT/MMRL training step vs PyTorch
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "--- PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') on the same machine"
  /usr/bin/python3 tests/reference/clip_b16_ref.py --bench
else
  echo "(PyTorch not installed: apt-get install python3-torch for the reference figures)"
fi
