#!/usr/bin/env bash
# kernels/cuda/dev/gpu_session_prep.sh — run HERE (the developer machine, nvcc present), from
# anywhere in the repository, before using the device tool. Two problems it solves:
# - the device image has CUDA but not this project's -dev packages (Open MPI, HDF5, OpenBLAS, …)
#   and nothing can be fetched there, so the program and test_cuda_ops are built here (portable
#   -march=x86-64-v3, in /tmp) and shipped with the shared libraries they need except glibc and
#   the CUDA ones (cuBLAS and NCCL are found there: /usr/local/cuda/lib64 or pip's nvidia-*);
# - the official fixtures (~137 MB with the model) exceed one call's 64 MiB (the repository is
#   ~10 MB of it).
# So three carry folders under .gpu/ (ignored through .git/info/exclude), each ≤ ~52 MB:
#   .gpu/a  bundle.tar.xz (programs + libraries) + the small fixtures + model bytes [0, 20 MB)
#   .gpu/b  mudpt.h5 + model bytes [20, 44 MB)
#   .gpu/c  model bytes [44 MB, end) + its SHA-256
# On the device machine ignored paths carried by earlier calls stay while it is warm (30 s
# idle): three calls in a row, printed at the end.
# Usage: kernels/cuda/dev/gpu_session_prep.sh [FIXTURE_DIR (default ../shared/fixtures/official)]
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
FIX="${1:-../shared/fixtures/official}"
B=/tmp/clipgrid-gpu-build
EXCLUDE="$(git rev-parse --git-dir)/info/exclude"
mkdir -p "$(dirname "$EXCLUDE")"
grep -qx '/.gpu/' "$EXCLUDE" 2>/dev/null || echo '/.gpu/' >> "$EXCLUDE"

echo "== build (portable x86-64-v3) in $B"
make -j2 BUILD="$B" OPT='-O3 -march=x86-64-v3' "$B/clipgrid" "$B/tests/test_cuda_ops" \
    "$B/tests/test_kernels" > "$B.log" 2>&1 || { tail -20 "$B.log"; exit 1; }

echo "== bundle"
rm -rf .gpu "$B/bundle" && mkdir -p .gpu/a/fx .gpu/b/fx .gpu/c "$B/bundle/lib"
cp "$B/clipgrid" "$B/tests/test_cuda_ops" "$B/tests/test_kernels" "$B/bundle/"
ldd "$B/clipgrid" "$B/tests/test_cuda_ops" | awk '/=>/ {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libpthread|libdl|librt)\.so|ld-linux|/usr/local/cuda|libcuda' |
    while read -r lib; do cp -L "$lib" "$B/bundle/lib/"; done
tar -C "$B/bundle" -cf - . | xz -T2 -6 > .gpu/a/bundle.tar.xz

echo "== fixtures"
M="$FIX/tiny768.safetensors"
cut_() { dd if="$M" of="$1" iflag=skip_bytes,count_bytes skip="$2" ${3:+count=$3} bs=1M status=none; }
cut_ .gpu/a/model.part0 0 20000000
cut_ .gpu/b/model.part1 20000000 24000000
cut_ .gpu/c/model.part2 44000000
sha256sum "$M" | cut -d' ' -f1 > .gpu/c/model.sha256
for f in zsclip coop_ctx4_init coop_ctx16_rand cocoop maple mmrl mmrl_rep12; do
  cp "$FIX/$f.h5" .gpu/a/fx/
done
cp "$FIX/mudpt.h5" .gpu/b/fx/
du -sh .gpu/a .gpu/b .gpu/c

cat <<'EOF'
device calls (kind nvidia-h100-x1), one right after the other (the machine stays warm 30 s);
each command is one line in the tool's `command`:
 1. carry [".gpu/a"]:
    nvidia-smi -L; mkdir -p .gpu/run && tar -C .gpu/run -xJf .gpu/a/bundle.tar.xz && N=$(dirname "$(find / -name libnccl.so.2 -not -path '/proc/*' 2>/dev/null | head -1)") && C=$(dirname "$(find / -name libcublas.so.13 -not -path '/proc/*' 2>/dev/null | head -1)") && echo "$C:$N" > .gpu/run/ldpath && LD_LIBRARY_PATH=.gpu/run/lib:$C:$N .gpu/run/test_cuda_ops 2>&1 | tee $OUT/test_cuda_ops.log | tail -40
 2. carry [".gpu/b"]:
    ls -la .gpu/a .gpu/b .gpu/run
 3. carry [".gpu/c"]:
    export LD_LIBRARY_PATH=.gpu/run/lib:$(cat .gpu/run/ldpath); mkdir -p .gpu/fx && cp .gpu/a/fx/*.h5 .gpu/b/fx/*.h5 .gpu/fx/ && cat .gpu/a/model.part0 .gpu/b/model.part1 .gpu/c/model.part2 > .gpu/fx/tiny768.safetensors && echo "$(cat .gpu/c/model.sha256)  .gpu/fx/tiny768.safetensors" | sha256sum -c && CLIPGRID_BACKEND=cuda .gpu/run/clipgrid golden .gpu/fx/*.h5 > $OUT/golden_cuda.log 2>&1; echo "cuda rc=$?"; tail -1 $OUT/golden_cuda.log; grep FAIL $OUT/golden_cuda.log | head -30; .gpu/run/clipgrid golden .gpu/fx/*.h5 > $OUT/golden_cpu.log 2>&1; echo "cpu rc=$?"; tail -1 $OUT/golden_cpu.log
EOF
