#!/usr/bin/env bash
# tests/bench/run_bench.sh — `make bench`: the C benchmarks, then (when Debian's python3-torch is
# installed) PyTorch on the same machine and shapes, so every figure has a reference beside it.
# CLIPGRID_BACKEND=cuda and CLIPGRID_PRECISION=bf16 (etc.) reach the C benchmarks (their PyTorch
# references then run with --device cuda / --half); the GPU session script is
# kernels/cuda/dev/gpu_session.sh.
set -u
cd "$(dirname "$0")/../.."
PY="${BENCH_PYTHON:-/usr/bin/python3}"
TORCH_DEV=cpu
[ "${CLIPGRID_BACKEND:-cpu}" = cuda ] && TORCH_DEV=cuda
build/bench/bench_clip "${BENCH_THREADS:-0}" "${BENCH_BATCH:-0}"
tests/bench/bench_sched.sh  # demo sweep on 1 vs 2 ranks; scheduler time per run
tests/bench/bench_sharing.sh  # shipped sweeps: planned cost with and without shared work
build/bench/bench_image "${BENCH_IMAGES:-64}"  # decode + test transform; Pillow+torchvision beside it
build/bench/bench_methods "${BENCH_THREADS:-0}"       # CoOp/CoCoOp training step vs the official way in PyTorch
build/bench/bench_methods_deep "${BENCH_THREADS:-0}"  # MaPLe/MuDPT/MMRL training step vs PyTorch
if "$PY" -c "import torch" 2>/dev/null; then
  echo "--- PyTorch $("$PY" -c 'import torch; print(torch.__version__)') on the same machine"
  "$PY" tests/reference/clip_b16_ref.py --bench --device "$TORCH_DEV"
else
  echo "(PyTorch not installed: apt-get install python3-torch for the reference figures)"
fi
