#!/usr/bin/env bash
# kernels/cuda/dev/gpu_session.sh — what the device call runs (from the repository root on the GPU
# machine, after gpu_session_prep.sh's carry folders .gpu/a, b, c, d have arrived; $OUT is
# the folder whose files come back). In order of priority, each step under `timeout`, every
# output in $OUT/*.log (6 files), a compact summary at the end (also $OUT/summary.txt):
#   1. unpack the bundle, reassemble the model, check its SHA-256, find cuBLAS/NCCL
#   2. test_cuda_ops                                                        cuda_ops.log
#   3. golden on every official fixture, CLIPGRID_BACKEND=cuda, fp32;
#      golden on tests/data's fixtures (zs_other model: make-model --seed 5) golden.log
#   4. bench_clip, bench_methods, bench_methods_deep at fp32, PyTorch beside  bench_fp32.log
#   5. the same at bf16 (PyTorch references with --half: fp16, the official runs) bench_bf16.log
#   6. clip_b16_ref.py --bench --device cuda (fp32, --half)                  torch_ref.log
#   7. golden on the official fixtures on the CPU backend (time left only)   golden.log
# Nothing stops at a failure: each step's exit status goes to the summary. Estimated time on an
# H100: about 4–5 min (limits add up to under 9.5 min). Runs here too (no GPU): the CUDA steps
# then fail with the driver's message and the summary says so.
#   OUT=/tmp/out kernels/cuda/dev/gpu_session.sh [FIXTURE_DIR (.gpu/fx, made from the carry)]
set -u
cd "$(dirname "$0")/../../.."
OUT="${OUT:-/tmp/clipgrid-gpu-out}"
mkdir -p "$OUT"
FX="${1:-.gpu/fx}"
RUN=.gpu/run
VOCAB=data/clip/bpe_simple_vocab_16e6.txt.gz
START=$(date +%s)
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }
elapsed() { echo $(($(date +%s) - START)); }
# the whole script stays within BUDGET s (default 560: the device call allows 600) so that the
# summary always comes back; a step's limit is cut to what is left, a step with < 5 s is skipped
BUDGET=${GPU_SESSION_BUDGET:-560}
# step LOG LIMIT_S COMMAND...: appends "== COMMAND" and its output to $OUT/LOG; returns its status
step() {
  local log="$OUT/$1" limit=$2 t0 rc left
  shift 2
  left=$((BUDGET - $(elapsed)))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    echo "== $* skipped: time budget spent" >> "$log"
    return 125
  fi
  t0=$(date +%s)
  echo "== $* (limit ${limit}s, at $(elapsed)s)" >> "$log"
  timeout -k 5 "$limit" "$@" >> "$log" 2>&1
  rc=$?
  echo "== rc=$rc in $(($(date +%s) - t0))s" >> "$log"
  return $rc
}

note "clipgrid GPU session $(date -u +%FT%TZ) on $(hostname)"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>&1 |
  sed 's/^/gpu: /' | tee -a "$SUMMARY"
# the Python with torch: the image's python3, else Debian's
PY=$(command -v python3 || echo /usr/bin/python3)
for p in "$PY" /usr/bin/python3; do
  if "$p" -c "import torch" 2>/dev/null; then PY=$p; break; fi
done
note "python: $PY $($PY -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.version.cuda,
"available", torch.cuda.is_available())' 2>&1 | tail -1)"
$PY -c "import numpy" 2>/dev/null || note "python: no numpy (clip_b16_ref.py --bench needs it)"

# ---- 1. unpack --------------------------------------------------------------------------------
if [ ! -x "$RUN/clipgrid" ]; then
  mkdir -p "$RUN" && tar -C "$RUN" -xJf .gpu/a/bundle.tar.xz || note "unpack: FAILED (.gpu/a carried?)"
fi
if [ ! -f "$FX/tiny768.safetensors" ] && [ -f .gpu/d/model.part2 ]; then
  mkdir -p "$FX" && cp .gpu/a/fx/*.h5 .gpu/b/fx/*.h5 "$FX/" &&
    cat .gpu/b/model.part0 .gpu/c/model.part1 .gpu/d/model.part2 > "$FX/tiny768.safetensors"
fi
if [ -f .gpu/d/model.sha256 ]; then
  if echo "$(cat .gpu/d/model.sha256)  $FX/tiny768.safetensors" | sha256sum -c --quiet 2>&1; then
    note "model: sha256 ok"
  else
    note "model: sha256 MISMATCH (were .gpu/a, b, c, d all carried?)"
  fi
fi
# cuBLAS and NCCL: the CUDA toolkit's or pip's nvidia-* wheels (next to torch), else anywhere
SITE=$($PY -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)
libdir() {
  local f
  f=$(find /usr/local/cuda*/lib64 /usr/local/cuda*/lib /usr/local/cuda*/targets/*/lib \
        /usr/lib/x86_64-linux-gnu $(for s in $SITE; do echo "$s/nvidia"; done) \
        -name "$1" \( -type f -o -type l \) 2>/dev/null | head -1)
  [ -n "$f" ] || f=$(find / -xdev -name "$1" \( -type f -o -type l \) -not -path '/proc/*' \
                       2>/dev/null | head -1)
  [ -n "$f" ] && dirname "$f"
}
LD_LIBRARY_PATH="$PWD/$RUN/lib:$(libdir libcublas.so.13):$(libdir libnccl.so.2)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
note "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
ldd "$RUN/clipgrid" 2>&1 | grep "not found" | sed 's/^/missing library: /' | tee -a "$SUMMARY"

# ---- 2. test_cuda_ops -------------------------------------------------------------------------
step cuda_ops.log 90 "$RUN/test_cuda_ops"
note "test_cuda_ops: rc=$? $(grep -E 'passed|failed|SKIPPED' "$OUT/cuda_ops.log" | tail -1)"

# ---- 3. golden on the GPU -----------------------------------------------------------------------
golden_all() { # BACKEND LIMIT FIXTURES...
  local backend=$1 limit=$2 fx rc
  shift 2
  for fx in "$@"; do
    CLIPGRID_BACKEND=$backend step golden.log "$limit" "$RUN/clipgrid" golden --vocab "$VOCAB" "$fx"
    rc=$?
    note "golden $backend $(basename "$fx"): rc=$rc $(tail -2 "$OUT/golden.log" | head -1)"
  done
}
golden_all cuda 40 "$FX"/*.h5
OTHER=.gpu/other
mkdir -p "$OTHER"
step golden.log 30 "$RUN/clipgrid" make-model "$OTHER/zs_other_model.safetensors" --vision-width 192 \
  --vision-layers 3 --patch 8 --image-res 48 --text-width 128 --text-layers 3 --embed 96 \
  --seed 5 --dtype f32 || note "make-model zs_other: FAILED"
for f in zs_other coop_other cocoop_other maple_other mmrl_other coop_bf16 coop_fp16 coop_tf32 \
         cocoop_bf16; do
  cp "tests/data/$f.h5" "$OTHER/"
done
golden_all cuda 30 "$OTHER"/*.h5

# ---- 4./5. benchmarks, PyTorch beside them ---------------------------------------------------------
export BENCH_PYTHON="$PY" CLIPGRID_BACKEND=cuda
for prec in fp32 bf16; do
  log=bench_$prec.log
  export CLIPGRID_PRECISION=$prec
  step "$log" 60 "$RUN/bench_clip" 0 128 3
  note "bench_clip $prec: rc=$?"
  grep -E "^(backend|GPU matmul|ViT-B/16|text tower)" "$OUT/$log" | tail -4 | sed 's/^/  /' | tee -a "$SUMMARY"
  step "$log" 120 "$RUN/bench_methods" 0 3
  note "bench_methods $prec: rc=$?"
  grep -E "^(coop|cocoop) " "$OUT/$log" | sed 's/^/  /' | tee -a "$SUMMARY"
  step "$log" 120 "$RUN/bench_methods_deep" 0 3
  note "bench_methods_deep $prec: rc=$?"
  grep -E "^(method|maple|mudpt|mmrl) " "$OUT/$log" | sed 's/^/  /' | tee -a "$SUMMARY"
done
unset CLIPGRID_PRECISION CLIPGRID_BACKEND

# ---- 6. PyTorch's own towers ---------------------------------------------------------------------
for half in "" --half; do
  step torch_ref.log 60 "$PY" tests/reference/clip_b16_ref.py --bench --device cuda --batch 128 $half
  note "clip_b16_ref --bench --device cuda $half: rc=$?"
  grep -E "^(torch.mm|vision fwd batch 128 |text fwd)" "$OUT/torch_ref.log" | tail -3 | sed 's/^/  /' |
    tee -a "$SUMMARY"
done

# ---- 7. the CPU backend on the same fixtures, while time is left ------------------------------------
if [ "$(elapsed)" -lt 420 ]; then
  golden_all cpu 30 "$FX"/*.h5
else
  note "golden cpu: skipped (at $(elapsed)s)"
fi
note "total $(elapsed)s; logs: $(cd "$OUT" && ls | tr '\n' ' ')"
