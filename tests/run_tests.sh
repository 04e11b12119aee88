#!/usr/bin/env bash
# tests/run_tests.sh — runs every test program (build/tests/test_*) and every CLI test script
# (tests/cli_*.sh) from the repository root; prints a summary and exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
export CLIPGRID="$PWD/build/clipgrid"
export SHARED="${CLIPGRID_SHARED:-$PWD/../shared}"
fail=0; passed=0; failed_names=()
for t in build/tests/test_*; do
  [ -x "$t" ] || continue
  echo "=== $t"
  start=$(date +%s)
  if timeout 900 "$t"; then passed=$((passed+1)); else fail=1; failed_names+=("$t"); fi
  echo "    ($(( $(date +%s) - start )) s)"
done
for s in tests/cli_*.sh; do
  [ -f "$s" ] || continue
  echo "=== $s"
  start=$(date +%s)
  if timeout 900 bash "$s"; then passed=$((passed+1)); else fail=1; failed_names+=("$s"); fi
  echo "    ($(( $(date +%s) - start )) s)"
done
echo
echo "test programs passed: $passed, failed: ${#failed_names[@]} ${failed_names[*]:-}"
exit $fail
