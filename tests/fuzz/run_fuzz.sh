#!/usr/bin/env bash
# tests/fuzz/run_fuzz.sh SECONDS NAME… — runs each libFuzzer harness build-fuzz/fuzz/fuzz_NAME,
# one at a time under nice 19, for SECONDS seconds, after replaying its committed crash inputs
# (tests/fuzz/regress/NAME/, each must now pass). The working corpus build-fuzz/corpus/NAME is
# kept between runs (seeded from tests/fuzz/corpus/NAME); crashes, leaks, timeouts and
# out-of-memory inputs land in build-fuzz/artifacts/NAME/. Prints per harness: executions,
# edges covered (libFuzzer's "cov", clipgrid's instrumented code only), corpus size, crashes
# (crash and leak inputs) and slow inputs (timeouts, out-of-memory; tests/fuzz/NAME.options may
# tell libFuzzer to go on after them, for libhdf5's own defects), crashes inside libhdf5 (moved to
# build-fuzz/artifacts-hdf5/NAME/),
# and the executions of every run so far (build-fuzz/fuzz-stats.tsv). Exits 1 when a harness
# crashed or a regression input failed.
# Environment: FUZZ_FLAGS adds libFuzzer flags (e.g. "-fork=1 -ignore_crashes=1" to go on after a
# crash in a long campaign); FUZZ_NICE (default 19).
set -u
cd "$(dirname "$0")/../.."
secs="${1:?usage: run_fuzz.sh SECONDS NAME...}"
shift
B=build-fuzz
# HDF5 asks malloc for whatever size a damaged header names: a refused allocation is its error
# path (it returns an error), not a crash; clipgrid's own cg_malloc still aborts on NULL
export ASAN_OPTIONS="allocator_may_return_null=1:${ASAN_OPTIONS:-}"
stats="$B/fuzz-stats.tsv"
mkdir -p "$B/logs"
fail=0
summary=()
for name in "$@"; do
  bin="$B/fuzz/fuzz_$name"
  if [ ! -x "$bin" ]; then echo "run_fuzz: $bin not built (make fuzz builds it)"; fail=1; continue; fi
  work="$B/corpus/$name" art="$B/artifacts/$name/" log="$B/logs/$name.log"
  # the harness's temporary files (tests/fuzz/fuzz_util.h), removed after it
  tmpbase=/dev/shm; [ -d /dev/shm ] && [ -w /dev/shm ] || tmpbase="${TMPDIR:-/tmp}"
  export FUZZ_TMPDIR; FUZZ_TMPDIR=$(mktemp -d "$tmpbase/clipgrid-fuzz-$name.XXXXXX")
  mkdir -p "$work" "$art"
  reg=()
  [ -d "tests/fuzz/regress/$name" ] && mapfile -t reg < <(find "tests/fuzz/regress/$name" -type f | sort)
  regress="-"
  if [ ${#reg[@]} -gt 0 ]; then
    if "$bin" -runs=1 "${reg[@]}" > "$B/logs/$name.regress.log" 2>&1; then regress="${#reg[@]} ok"
    else regress="FAILED"; fail=1; echo "run_fuzz: $name: a regression input fails again:"; tail -30 "$B/logs/$name.regress.log"; fi
  fi
  dict=(); [ -f "tests/fuzz/$name.dict" ] && dict=("-dict=tests/fuzz/$name.dict")
  opts=""; [ -f "tests/fuzz/$name.options" ] && opts=$(grep -v '^#' "tests/fuzz/$name.options")
  touch "$log.start"
  echo "=== fuzz_$name for $secs s"
  # shellcheck disable=SC2086
  nice -n "${FUZZ_NICE:-19}" "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=20 \
      -rss_limit_mb=2560 -artifact_prefix="$art" "${dict[@]}" $opts ${FUZZ_FLAGS:-} \
      "$work" "tests/fuzz/corpus/$name" > "$log" 2>&1
  rc=$?
  execs=$(grep -a 'stat::number_of_executed_units:' "$log" | awk '{s+=$2} END {print s+0}')
  if [ "$execs" = 0 ]; then  # fork mode prints no final stats: take the last status line
    execs=$(grep -aoE '^#[0-9]+' "$log" | tail -1 | tr -d '#'); execs=${execs:-0}
  fi
  edges=$(grep -aoE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  corpus=$(find "$work" -type f | wc -l)
  found=$(find "$art" -type f -newer "$log.start" | sed 's|.*/||')
  # a crash or leak whose first frame outside the sanitizer runtime, the allocator and libc
  # (memcpy and its kin included, whatever name libc's debug symbols give them) is in libhdf5 is
  # HDF5's own defect (tests/fuzz/README.md): counted apart, not a failure of clipgrid's
  # readers. An input that neither crashes nor leaks when run again on its own is "unrepro":
  # in fork mode a leak can need the library state earlier inputs left (libhdf5 keeps free
  # lists and caches; clipgrid's readers keep none), so it is kept apart too, for a person to
  # look at, and does not fail the run.
  hdf5=0 unrepro=0
  for f in $(printf '%s\n' "$found" | grep -E '^(crash|leak)-'); do
    out=$("$bin" -runs=3 "$art$f" 2>&1); rrc=$?
    top=$(printf '%s\n' "$out" | grep -E '^    #[0-9]+ ' |
          grep -vE 'interceptor|sanitizer|libc\.so|libclang_rt|sysdeps/|/string/| in (malloc|calloc|realloc|free|memcpy|memmove|memset|strlen) ' | head -1)
    dest=""
    if [ $rrc -eq 0 ] && [ -z "$top" ]; then unrepro=$((unrepro+1)); dest="$B/artifacts-unrepro/$name"
    else case "$top" in *libhdf5*) hdf5=$((hdf5+1)); dest="$B/artifacts-hdf5/$name" ;; esac
    fi
    [ -n "$dest" ] && { mkdir -p "$dest"; mv "$art$f" "$dest/"; }
  done
  crashes=$(( $(printf '%s\n' "$found" | grep -cE '^(crash|leak)-') - hdf5 - unrepro ))
  rm -rf "$FUZZ_TMPDIR"
  slow=$(printf '%s\n' "$found" | grep -cE '^(timeout|oom|slow-unit)-')
  [ $rc -ne 0 ] && [ $crashes -eq 0 ] && [ $slow -eq 0 ] && [ $((hdf5+unrepro)) -eq 0 ] && crashes=1
  # a timeout or out-of-memory input fails the run unless the harness's .options ignore them
  if [ $crashes -gt 0 ] || { [ $rc -ne 0 ] && [ $((hdf5+unrepro)) -eq 0 ]; }; then
    fail=1
    echo "run_fuzz: fuzz_$name found $crashes crash/leak/timeout input(s) in $art (log $log):"
    grep -aE 'ERROR: |SUMMARY: |runtime error|Test unit written' "$log" | head -8
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$secs" "$execs" "${edges:-0}" "$crashes/$slow/$hdf5/$unrepro" >> "$stats"
  total=$(awk -F'\t' -v n="$name" '$2 == n {s += $4} END {printf "%d", s}' "$stats")
  summary+=("$(printf '%-12s %12s %8s %8s %8s %8s %8s %8s  %-9s %14s' "$name" "$execs" "${edges:-0}" "$corpus" "$crashes" "$slow" "$hdf5" "$unrepro" "$regress" "$total")")
done
echo
printf '%-12s %12s %8s %8s %8s %8s %8s %8s  %-9s %14s\n' harness execs edges corpus crashes slow libhdf5 unrepro regress "execs(all runs)"
printf '%s\n' "${summary[@]}"
exit $fail
