#!/usr/bin/env bash
# tests/bench/bench_sched.sh — the scheduler on the demo sweep (45 runs of uneven cost: zero-shot
# runs of a second beside CoCoOp and MMRL runs of several): wall time on 1 rank against 2 ranks
# with one CPU thread each (target: 2 ranks >= 1.8x faster), 1 rank with both threads for
# reference, and the time the scheduler adds per run (the shared-counter take, as `run` reports
# it). Every mpirun under `timeout`.
set -u
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CLIPGRID="${CLIPGRID:-$REPO/build/clipgrid}"
MPIRUN=(mpirun --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# the demo's tiny model and synthetic datasets (and a first run, which also warms the caches)
"$CLIPGRID" demo --progress 1000 >demo.out 2>&1 || { echo "bench_sched: demo failed"; tail demo.out; exit 1; }
wall() { # label, command…
  local label=$1; shift
  local t0=$(date +%s.%N)
  "$@" >"$label.out" 2>&1 || { echo "bench_sched: $label failed"; tail "$label.out"; exit 1; }
  echo "$(date +%s.%N) - $t0" | bc -l
}
t1=$(wall r1 timeout 600 "${MPIRUN[@]}" -np 1 "$CLIPGRID" run "$REPO/sweeps/demo.yaml" -o r1 --threads 1 --progress 1000)
t2=$(wall r2 timeout 600 "${MPIRUN[@]}" -np 2 "$CLIPGRID" run "$REPO/sweeps/demo.yaml" -o r2 --threads 1 --progress 1000)
t12=$(wall r12 timeout 600 "${MPIRUN[@]}" -np 1 "$CLIPGRID" run "$REPO/sweeps/demo.yaml" -o r12 --threads 2 --progress 1000)
busy() { grep -h "^result" "$1"/logs/*.log | grep -o "([0-9.]*s)$" | tr -d '(s)' | awk '{s+=$1} END {printf "%.2f", s}'; }
elapsed() { sed -n 's/^progress: .*elapsed \([0-9.]*\)s.*/\1/p' "$1.out" | tail -1; }
b1=$(busy r1) b2=$(busy r2) e2=$(elapsed r2)
printf 'scheduler (demo sweep, 45 runs of uneven cost, %s cores, load average %s):\n' "$(nproc)" \
  "$(cut -d' ' -f1 /proc/loadavg)"
printf '  1 rank x 1 thread   %6.1f s\n' "$t1"
printf '  2 ranks x 1 thread  %6.1f s   speed-up %.2fx (target >= 1.8x)\n' "$t2" "$(echo "$t1 / $t2" | bc -l)"
printf '  1 rank x 2 threads  %6.1f s   (2 ranks are %.2fx faster than one rank on both cores)\n' \
  "$t12" "$(echo "$t12 / $t2" | bc -l)"
printf '  2 ranks: runs busy %.1f s of 2 x %.1f s of scheduling time: %.0f%% efficiency; a run takes %.2fx\n' \
  "$b2" "$e2" "$(echo "100 * $b2 / (2 * $e2)" | bc -l)" "$(echo "$b2 / $b1" | bc -l)"
printf '           as long as on 1 rank (the cores are shared with whatever else runs)\n'
grep -h "^scheduler:" r2.out | sed 's/^/  2 ranks: /'
