#!/usr/bin/env bash
# tests/run_tests.sh — runs every test program (build/tests/test_*) and every CLI test script
# (tests/cli_*.sh) from the repository root; prints a summary and exits non-zero on any failure.
# BUILD (default build) is the build folder; SANITIZE=1 (`make test SANITIZE=1`, BUILD=build-san)
# runs the ASan/UBSan build: any sanitizer report ends that program with an error, leaks included;
# Open MPI's own leaks are suppressed by tests/sanitize/lsan.supp (see tests/sanitize/README.md).
set -u
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
export CLIPGRID="$PWD/$BUILD/clipgrid"
export TEST_RESULTS="$PWD/$BUILD/tests/test_results"
if [ "${SANITIZE:-}" = 1 ]; then
  export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
  export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
fi
# The CLI scripts run clipgrid, which starts MPI: Open MPI dlclose()s its components at exit, so
# LeakSanitizer cannot attribute (or suppress) their allocations; leaks are checked in the test
# programs and by the fuzz harnesses, ASan's and UBSan's other checks everywhere.
[ "${SANITIZE:-}" = 1 ] && cli_asan=":detect_leaks=0"
# the scripts' own time limits (runs under mpirun, golden checks) are multiplied by this
[ "${SANITIZE:-}" = 1 ] && export TIMEOUT_SCALE="${TIMEOUT_SCALE:-6}"
# per program: 15 minutes; ASan/UBSan make the training tests several times slower
limit=900; [ "${SANITIZE:-}" = 1 ] && limit=2700
export SHARED="${CLIPGRID_SHARED:-$PWD/../shared}"
# RUN_ONLY (an extended regular expression): run only the programs and scripts whose name matches
# it, the others are listed as not run (CI's sanitizer pass uses it to fit its time)
selected() {
  [ -z "${RUN_ONLY:-}" ] && return 0
  basename "$1" | grep -qE "^(${RUN_ONLY})$" && return 0
  echo "=== $1: not run (RUN_ONLY)"; return 1
}
fail=0; passed=0; failed_names=()
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  selected "$t" || continue
  echo "=== $t"
  start=$(date +%s)
  if timeout "$limit" "$t"; then passed=$((passed+1)); else fail=1; failed_names+=("$t"); fi
  echo "    ($(( $(date +%s) - start )) s)"
done
for s in tests/cli_*.sh; do
  [ -f "$s" ] || continue
  selected "$s" || continue
  echo "=== $s"
  start=$(date +%s)
  if ASAN_OPTIONS="${ASAN_OPTIONS:-}${cli_asan:-}" timeout "$limit" bash "$s"; then
    passed=$((passed+1)); else fail=1; failed_names+=("$s"); fi
  echo "    ($(( $(date +%s) - start )) s)"
done
echo
echo "test programs passed: $passed, failed: ${#failed_names[@]} ${failed_names[*]:-}"
exit $fail
