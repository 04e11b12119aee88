#!/usr/bin/env bash
# .ci/mpich_demo.sh — the portable build with another MPI: build clipgrid a second time with
# Debian's MPICH in its own folder (build-mpich/), finding MPI and HDF5 the way a module system
# offers them (the compiler wrapper mpicc.mpich and h5pcc.mpich, not pkg-config), run the demo
# under MPICH's `mpiexec -n 2`, and compare its table with the demo of the default (Open MPI)
# build under `mpirun -n 2`: the same table, digit for digit. Run by .ci/run after `make test`
# (needs the default build in build/); every MPI step under `timeout`.
set -u
cd "$(dirname "$0")/.."
fail=0
check() { if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
for p in mpicc.mpich mpiexec.mpich h5pcc.mpich; do
  command -v "$p" >/dev/null 2>&1 || { echo "SKIP MPICH build: $p not found (Debian: mpich, libhdf5-mpich-dev)"; exit 0; }
done
[ -x build/clipgrid ] || { echo "FAIL build/clipgrid missing: run make first"; exit 1; }
MPICH_MAKE=(BUILD=build-mpich MPI_PC=none HDF5_PC=none MPICC=mpicc.mpich H5PCC=h5pcc.mpich CUDA=0)
mkdir -p build-mpich; LOG=build-mpich/make.log
make "${MPICH_MAKE[@]}" deps
make -j"$(nproc)" "${MPICH_MAKE[@]}" build-mpich/clipgrid >"$LOG" 2>&1
rc=$?; check "make ${MPICH_MAKE[*]} build-mpich/clipgrid (rc $rc)" $rc
[ "$rc" = 0 ] || { tail -n 30 "$LOG"; exit 1; }
libs=$(ldd build-mpich/clipgrid | grep -oE 'lib(mpich|mpi|hdf5_[a-z]+)\.so[.0-9]*' | sort -u | tr '\n' ' ')
echo "$libs" | grep -q "libmpich.so" && echo "$libs" | grep -q "libhdf5_mpich.so" &&
  ! echo "$libs" | grep -qE "libmpi\.so|libhdf5_openmpi"
r=$?; check "build-mpich/clipgrid links MPICH and HDF5 for MPICH only ($libs)" $r

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ROOT_OPT=(); [ "$(id -u)" = 0 ] && ROOT_OPT=(--allow-run-as-root)
timeout 600 mpiexec.mpich -n 2 build-mpich/clipgrid demo -o "$tmp/mpich" --threads 1 >"$tmp/mpich.out" 2>&1
rc=$?; check "mpiexec.mpich -n 2 build-mpich/clipgrid demo (rc $rc)" $rc
[ "$rc" = 0 ] || tail -n 20 "$tmp/mpich.out"
timeout 600 mpirun.openmpi "${ROOT_OPT[@]}" --oversubscribe -n 2 build/clipgrid demo -o "$tmp/ompi" \
  --threads 1 >"$tmp/ompi.out" 2>&1
rc=$?; check "mpirun.openmpi -n 2 build/clipgrid demo (rc $rc)" $rc
grep -Eq "^ +1 +[^ ]+ +[0-9]+ +1/2 " "$tmp/mpich.out"
r=$?; check "the MPICH demo ran on 2 ranks (start table)" $r
for f in md csv; do
  build-mpich/clipgrid table "$tmp/mpich/out/results.h5" --format "$f" >"$tmp/mpich.$f" 2>&1
  build/clipgrid table "$tmp/ompi/out/results.h5" --format "$f" >"$tmp/ompi.$f" 2>&1
  [ -s "$tmp/ompi.$f" ] && cmp -s "$tmp/mpich.$f" "$tmp/ompi.$f"; r=$?
  check "the $f table of the MPICH demo equals Open MPI's ($(grep -c . "$tmp/ompi.$f") lines)" $r
  [ "$r" = 0 ] || diff "$tmp/ompi.$f" "$tmp/mpich.$f" | head -n 10
done
sed -n '/^| Dataset/,$p' "$tmp/mpich.md" | head -n 4
exit $fail
