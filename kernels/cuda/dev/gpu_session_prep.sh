#!/usr/bin/env bash
# kernels/cuda/dev/gpu_session_prep.sh — run HERE (the developer machine, nvcc present), from
# anywhere in the repository, before using the device tool. Two problems it solves:
# - the device image has CUDA but not this project's -dev packages (Open MPI, HDF5, OpenBLAS, …)
#   and nothing can be fetched there, so the program, test_cuda_ops and the benchmarks
#   (bench_clip, bench_methods, bench_methods_deep) are built here (portable
#   -march=x86-64-v3, in /tmp) and shipped with the shared libraries they need except glibc and
#   the CUDA ones (cuBLAS and NCCL are found there: /usr/local/cuda/lib64 or pip's nvidia-*);
# - the official fixtures (~137 MB with the model) exceed one call's 64 MiB (the repository is
#   ~10 MB of it).
# So four carry folders under .gpu/ (ignored through .git/info/exclude), each ≤ ~42 MB, as each
# call copies the repository too (~13 MB) and a call holds 64 MiB:
#   .gpu/a  bundle.tar.xz (programs + libraries, ~15 MB) + the small fixtures (~16 MB)
#   .gpu/b  mudpt.h5 + model bytes [0, 12 MB)
#   .gpu/c  model bytes [12, 53 MB)
#   .gpu/d  model bytes [53 MB, end) + its SHA-256
# On the device machine ignored paths carried by earlier calls stay while it is warm (30 s
# idle): four calls in a row, printed at the end; the fourth runs kernels/cuda/dev/gpu_session.sh
# (unpack, test_cuda_ops, golden on the GPU, the benchmarks next to PyTorch; ~5 min on an H100).
# Usage: kernels/cuda/dev/gpu_session_prep.sh [FIXTURE_DIR (default ../shared/fixtures/official)]
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
FIX="${1:-../shared/fixtures/official}"
B=/tmp/clipgrid-gpu-build
EXCLUDE="$(git rev-parse --git-dir)/info/exclude"
mkdir -p "$(dirname "$EXCLUDE")"
grep -qx '/.gpu/' "$EXCLUDE" 2>/dev/null || echo '/.gpu/' >> "$EXCLUDE"

echo "== build (portable x86-64-v3) in $B"
BENCH_BIN="$B/bench/bench_clip $B/bench/bench_methods $B/bench/bench_methods_deep"
# shellcheck disable=SC2086
make -j2 BUILD="$B" OPT='-O3 -march=x86-64-v3' "$B/clipgrid" "$B/tests/test_cuda_ops" \
    "$B/tests/test_kernels" $BENCH_BIN > "$B.log" 2>&1 || { tail -20 "$B.log"; exit 1; }

echo "== bundle"
rm -rf .gpu "$B/bundle" && mkdir -p .gpu/a/fx .gpu/b/fx .gpu/c .gpu/d "$B/bundle/lib"
# shellcheck disable=SC2086
cp "$B/clipgrid" "$B/tests/test_cuda_ops" "$B/tests/test_kernels" $BENCH_BIN "$B/bundle/"
strip --strip-debug "$B"/bundle/clipgrid "$B"/bundle/test_* "$B"/bundle/bench_*  # no -g: smaller carry
# shellcheck disable=SC2086
ldd "$B/clipgrid" "$B/tests/test_cuda_ops" $BENCH_BIN | awk '/=>/ {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libpthread|libdl|librt)\.so|ld-linux|/usr/local/cuda|libcuda' |
    while read -r lib; do cp -L "$lib" "$B/bundle/lib/"; done
tar -C "$B/bundle" -cf - . | xz -T2 -6 > .gpu/a/bundle.tar.xz

echo "== fixtures"
M="$FIX/tiny768.safetensors"
cut_() { dd if="$M" of="$1" iflag=skip_bytes,count_bytes skip="$2" ${3:+count=$3} bs=1M status=none; }
cut_ .gpu/b/model.part0 0 12000000
cut_ .gpu/c/model.part1 12000000 41000000
cut_ .gpu/d/model.part2 53000000
sha256sum "$M" | cut -d' ' -f1 > .gpu/d/model.sha256
for f in zsclip coop_ctx4_init coop_ctx16_rand cocoop maple mmrl mmrl_rep12; do
  cp "$FIX/$f.h5" .gpu/a/fx/
done
cp "$FIX/mudpt.h5" .gpu/b/fx/
du -sh .gpu/a .gpu/b .gpu/c .gpu/d

REPO=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
for d in a b c d; do
  n=$((REPO + $(du -sb .gpu/$d | cut -f1)))
  echo "call with .gpu/$d: $((n / 1048576)) MiB of 64 (repository $((REPO / 1048576)) MiB)"
  [ "$n" -lt $((63 * 1048576)) ] || echo "WARNING: .gpu/$d + the repository exceed 63 MiB: move the cuts"
done

cat <<'EOF'
device calls, one right after the other (the machine stays warm ~30 s between calls); give each
its `command` and `carry` exactly as below (kind nvidia-h100-x1, or leave kind out):
 1. carry [".gpu/a"], timeout_s 120:
    nvidia-smi -L; ls -la .gpu/a; python3 -c "import torch; print(torch.__version__, torch.cuda.is_available())"
 2. carry [".gpu/b"], timeout_s 60:
    ls -la .gpu/a .gpu/b
 3. carry [".gpu/c"], timeout_s 60:
    ls -la .gpu/c
 4. carry [".gpu/d"], timeout_s 600:
    bash kernels/cuda/dev/gpu_session.sh
 The logs come back in $OUT (summary.txt, cuda_ops.log, golden.log, bench_fp32.log, bench_bf16.log,
 torch_ref.log); the summary is also the tail of the call's output. If the machine went cold
 between calls (the .gpu folders are gone: "unpack: FAILED" / "sha256 MISMATCH"), start again at 1.
EOF
