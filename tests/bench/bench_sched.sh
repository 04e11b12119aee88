#!/usr/bin/env bash
# tests/bench/bench_sched.sh — the scheduler on the demo sweep (45 runs of uneven cost: zero-shot
# runs of a second beside CoCoOp and MMRL runs of several): wall time on 1 rank against 2 ranks
# with one CPU thread each (target: 2 ranks >= 1.8x faster), 1 rank with both threads for
# reference, and the time the scheduler adds per run (the shared-counter take, as `run` reports
# it). Every mpirun under `timeout`. Fair measurement: the same sweep into fresh folders, the file
# cache warmed by the demo, each configuration run twice in turn (1, 2, 1+2 threads, again) and the
# faster of the two kept, so that a burst of other work on the shared cores hits one sample only;
# `--mca pml ob1` (the pml Open MPI picks anyway with btl self,vader on one node) spares each
# launch the 0.2 s of UCX probing in MPI_Init, a fixed cost that is not the scheduler's.
set -u
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CLIPGRID="${CLIPGRID:-$REPO/build/clipgrid}"
MPIRUN=(mpirun --oversubscribe --bind-to none --mca pml ob1 --mca btl self,vader
        --mca btl_vader_single_copy_mechanism none)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# the demo's tiny model and synthetic datasets (and a first run, which also warms the caches)
"$CLIPGRID" demo --progress 1000 >demo.out 2>&1 || { echo "bench_sched: demo failed"; tail demo.out; exit 1; }
TIMEFORMAT='%R %U %S'
wall() { # label, command…: "wall cpu" seconds (cpu: user + system of every process)
  local label=$1; shift
  local t
  t=$( { time "$@" >"$label.out" 2>&1; } 2>&1 ) || { echo "bench_sched: $label failed"; tail "$label.out"; exit 1; }
  echo "$t" | awk '{printf "%.3f %.3f", $1, $2 + $3}'
}
pick() { # label "wall cpu" of sample a, of sample b: keeps the faster one's folder and log as
         # LABEL; prints "wall cpu other_wall"
  local label=$1 a=$2 b=$3 k=a o=$3
  awk -v a="${a%% *}" -v b="${b%% *}" 'BEGIN {exit !(a > b)}' && k=b o=$2
  mv "${label}_$k" "$label"; mv "${label}_$k.out" "$label.out"
  [ $k = a ] && echo "$a ${o%% *}" || echo "$b ${o%% *}"
}
sweep() { # label, ranks, threads
  wall "$1" timeout 600 "${MPIRUN[@]}" -np "$2" "$CLIPGRID" run "$REPO/sweeps/demo.yaml" -o "$1" --verbose \
    --threads "$3" --progress 1000
}
s1a=$(sweep r1_a 1 1) s2a=$(sweep r2_a 2 1) s12a=$(sweep r12_a 1 2)
s1b=$(sweep r1_b 1 1) s2b=$(sweep r2_b 2 1) s12b=$(sweep r12_b 1 2)
read -r t1 c1 t1b <<<"$(pick r1 "$s1a" "$s1b")"
read -r t2 c2 t2b <<<"$(pick r2 "$s2a" "$s2b")"
read -r t12 c12 t12b <<<"$(pick r12 "$s12a" "$s12b")"
busy() { grep -h "^result" "$1"/logs/*.log | grep -o "([0-9.]*s)$" | tr -d '(s)' | awk '{s+=$1} END {printf "%.2f", s}'; }
elapsed() { sed -n 's/^progress: .*elapsed \([0-9.]*\)s.*/\1/p' "$1.out" | tail -1; }
b1=$(busy r1) b2=$(busy r2) e2=$(elapsed r2)
printf 'scheduler (demo sweep, 45 runs of uneven cost, %s cores, load average %s):\n' "$(nproc)" \
  "$(cut -d' ' -f1 /proc/loadavg)"
printf '  (wall time: the faster of two runs, the other in brackets; cores: CPU time / wall time)\n'
printf '  1 rank x 1 thread   %6.2f s (%.2f)  %.2f cores\n' "$t1" "$t1b" "$(echo "$c1 / $t1" | bc -l)"
printf '  2 ranks x 1 thread  %6.2f s (%.2f)  %.2f cores   speed-up %.2fx (target >= 1.8x)\n' \
  "$t2" "$t2b" "$(echo "$c2 / $t2" | bc -l)" "$(echo "$t1 / $t2" | bc -l)"
printf '  1 rank x 2 threads  %6.2f s (%.2f)  %.2f cores   (2 ranks are %.2fx faster than one rank on both cores)\n' \
  "$t12" "$t12b" "$(echo "$c12 / $t12" | bc -l)" "$(echo "$t12 / $t2" | bc -l)"
printf '  2 ranks: runs busy %.1f s of 2 x %.1f s of scheduling time: %.0f%% efficiency; a run takes %.2fx\n' \
  "$b2" "$e2" "$(echo "100 * $b2 / (2 * $e2)" | bc -l)" "$(echo "$b2 / $b1" | bc -l)"
printf '           as long as on 1 rank (the cores are shared with whatever else runs)\n'
grep -h "^scheduler:" r2.out | sed 's/^/  2 ranks: /'
grep -h "^timing" r1.out | sed 's/^/  1 rank:  /'
grep -h "^timing" r2.out | sed 's/^/  2 ranks: /'
printf '  (the rest of each wall time: mpirun, loading the program and its libraries, MPI_Finalize)\n'
