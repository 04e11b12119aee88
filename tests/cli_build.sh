#!/usr/bin/env bash
# tests/cli_build.sh — the portable build's choices and the instruction-set check at start:
#   - the default instruction set is -march=x86-64-v3, NATIVE=1 gives -march=native, ARCH=…
#     any other (make -n, nothing built);
#   - a CPU-only build (CUDA=0, or no nvcc) links no CUDA library and carries no CUDA rpath;
#   - BLAS=blis|mkl select their library and header, a wrong BLAS is refused by name;
#   - kernels/cpu/cpu_target.c: a program built for a level this CPU lacks (x86-64-v4, AVX-512,
#     where the CPU has none) stops before main with a message naming the missing extensions and
#     exit status 70 instead of dying with SIGILL; built for the baseline it runs; the real
#     program (built for the default level) starts here.
# Run from the repository root; $CLIPGRID is the program.
set -u
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
fail=0
check() { if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
skip() { echo "SKIP $1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the compile line make would use for one object, in a scratch build folder
compile_line() { make -s -n -B BUILD="$tmp/b" "$@" "$tmp/b/base/util.o" 2>&1 | grep -- ' -c base/util.c'; }
if [ "$(uname -m)" = x86_64 ]; then
  compile_line | grep -q -- '-march=x86-64-v3 '; r=$?
  check "default build: -march=x86-64-v3" $r
fi
compile_line NATIVE=1 | grep -q -- '-march=native '; r=$?; check "NATIVE=1: -march=native" $r
compile_line ARCH=-march=x86-64-v2 | grep -q -- '-march=x86-64-v2 '; r=$?; check "ARCH=-march=x86-64-v2 is used as given" $r
link=$(make -s -n -B BUILD="$tmp/b" CUDA=0 "$tmp/b/clipgrid" 2>&1 | grep -- "-o $tmp/b/clipgrid")
[ -n "$link" ] && ! echo "$link" | grep -qE -- '-lcudart|-lcublas|-lnccl|rpath,[^ ]*cuda'; r=$?
check "CUDA=0: the program's link line has no CUDA library or rpath" $r
line=$(compile_line BLAS=blis); echo "$line" | grep -q -- '-DCG_BLAS_blis'; r=$?
check "BLAS=blis: compiled against BLIS (-DCG_BLAS_blis)" $r
make -s -n -B BUILD="$tmp/b" BLAS=mkl "$tmp/b/clipgrid" 2>&1 | grep -- "-o $tmp/b/clipgrid" | grep -qE -- '-lmkl|mkl_'
r=$?; check "BLAS=mkl: linked against MKL" $r
out=$(make -s -n BUILD="$tmp/b" BLAS=atlas deps 2>&1); echo "$out" | grep -q "BLAS=atlas: must be openblas, blis or mkl"
r=$?; check "BLAS=atlas is refused by name" $r

"$CLIPGRID" --help >/dev/null 2>&1; r=$?; check "the program built for the default level starts on this CPU" $r

if [ "$(uname -m)" != x86_64 ]; then
  skip "the instruction-set check: not an x86-64 machine"
  exit $fail
fi
cat >"$tmp/main.c" <<'EOF'
#include <stdio.h>
int main(void) { puts("main reached"); return 0; }
EOF
CC=${CC:-cc}
$CC -O2 -march=x86-64 -DCG_BUILD_ARCH='"-march=x86-64"' -o "$tmp/base" "$tmp/main.c" kernels/cpu/cpu_target.c
out=$("$tmp/base" 2>&1); r=$?
[ "$r" = 0 ] && [ "$out" = "main reached" ]; r=$?; check "built for the x86-64 baseline: runs (no message)" $r
if grep -qw avx512f /proc/cpuinfo; then
  skip "a program for a level this CPU lacks: this CPU has AVX-512 (x86-64-v4), nothing newer to test"
  exit $fail
fi
$CC -O2 -march=x86-64-v4 -DCG_BUILD_ARCH='"-march=x86-64-v4"' -o "$tmp/v4" "$tmp/main.c" kernels/cpu/cpu_target.c
"$tmp/v4" >"$tmp/v4.out" 2>"$tmp/v4.err"; r=$?
echo "     $(cat "$tmp/v4.err")"
[ "$r" = 70 ] && ! grep -q "main reached" "$tmp/v4.out"; r2=$?
check "built for x86-64-v4 on a CPU without AVX-512: exit status 70 before main (got $r), no SIGILL" $r2
grep -q "built for -march=x86-64-v4, but the CPU of .* lacks:.* avx512f.*make NATIVE=1" "$tmp/v4.err"; r=$?
check "the message names the build's target, the missing extensions and the way out" $r
exit $fail
