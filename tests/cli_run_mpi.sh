#!/usr/bin/env bash
# tests/cli_run_mpi.sh — `clipgrid run` under mpirun (every MPI step under `timeout`):
#   - the same sweep on 1, 2 and 3 ranks: the same runs with bit-identical metrics (loss and
#     accuracy curves, every evaluation's accuracy, counts, macro-F1, per-class accuracies),
#     whichever rank ran what;
#   - multi-rank runs (ranks: 2 on 2 ranks; ranks 3 and 2 beside single-rank runs on 3 ranks)
#     give the metrics of the 1-rank runs to fp tolerance (relative 1e-4), and record their
#     rank count;
#   - kill -9 of the rank in the middle of a run, then the same command: every run present
#     exactly once, metrics equal to the uninterrupted sweep, the killed run resumed from its
#     checkpoint; the same with SIGTERM to every rank and SIGUSR1 to mpirun (exit 0, "stopped by
#     signal");
#   - a run with a bad image is recorded as failed with its reason and the sweep goes on;
#   - an MPI job and a plain `clipgrid run` at once on one OUT share the runs (per-run claims):
#     every run done once, the metrics of np 1.
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
TS="${TIMEOUT_SCALE:-1}"  # run_tests.sh sets it under SANITIZE=1 (ASan makes runs slower)
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
MPIRUN=(mpirun --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
cd "$tmp"

"$CLIPGRID" make-model tiny.safetensors --vision-width 64 --vision-layers 2 --patch 8 --image-res 32 \
  --text-width 64 --text-layers 2 --embed 64 --seed 3 >/dev/null || { echo "FAIL make-model"; exit 1; }
"$CLIPGRID" synth data --layout eurosat,dtd --classes 6 --per-class 8 --test 4 --min-side 40 \
  --max-side 64 >/dev/null || { echo "FAIL synth"; exit 1; }

# 16 cells (14 runs: zero-shot CLIP is one run per dataset across seeds) of uneven cost; coop/eurosat/seed1 is long (300 epochs of 12 steps) so that it can be
# interrupted in the middle
sweep() { # name, extra lines
  cat <<YAML
name: $1
model: {weights: tiny.safetensors}
data: {root: data}
setting: base2new
shots: 4
seeds: [1, 2]
datasets: [eurosat, dtd]
methods:
  zsclip: {}
  coop: {epochs: 3, batch: 4}
  maple: {depth: 2, epochs: 2, batch: 4}
  cocoop: {epochs: 1, batch: 1}
loader_threads: 1
threads: 1
$2
YAML
}
sweep mpitest "overrides:
  - when: {method: coop, dataset: eurosat, seed: 1}
    set: {epochs: 300, batch: 1}" >s.yaml

# metrics FILE: the numbers of a run file that must not depend on the ranks
metrics() {
  local f=$1 args=(-m %.9g -d /curves/loss -d /curves/accuracy)
  for g in $(h5ls -r "$f" | awk '$2=="Group" && $1 ~ /^\/evals\// {print $1}'); do
    args+=(-a "$g/accuracy" -a "$g/correct" -a "$g/total" -a "$g/macro_f1" -d "$g/per_class")
  done
  h5dump "${args[@]}" "$f" 2>/dev/null | sed -n 's/^ *([0-9,]*): *//p' | tr ',' '\n' | tr -d ' ' | grep -v '^$'
}
# same_metrics A B TOL [RUN-FILE-NAMES…]: every run file of A (or the names given) in B with
# the same metrics (|a−b| <= TOL·max(1,|a|)); prints the number of files compared
same_metrics() {
  local a=$1 b=$2 tol=$3 n=0 bad=0; shift 3
  local names=("$@")
  [ ${#names[@]} = 0 ] && names=($(cd "$a/runs" && ls *.h5))
  for f in "${names[@]}"; do
    n=$((n+1))
    [ -f "$b/runs/$f" ] || { echo "  missing $b/runs/$f" >&2; bad=1; continue; }
    metrics "$a/runs/$f" >"$tmp/ma"; metrics "$b/runs/$f" >"$tmp/mb"
    [ -s "$tmp/ma" ] || { echo "  no metrics in $a/runs/$f" >&2; bad=1; continue; }
    paste "$tmp/ma" "$tmp/mb" | awk -v t="$tol" '
      { if ($1 == $2) next; d = $1 - $2; if (d < 0) d = -d; m = $1 < 0 ? -$1 : $1; if (m < 1) m = 1
        if ($1 ~ /nan/ || $2 ~ /nan/ || d > t * m) { bad = 1; print "  " FILENAME ": " $1 " vs " $2 } }
      END { exit bad }' >&2 || { echo "  differs: $f" >&2; bad=1; }
    [ "$(wc -l <"$tmp/ma")" = "$(wc -l <"$tmp/mb")" ] || { echo "  count differs: $f" >&2; bad=1; }
  done
  echo $n
  return $bad
}
runs_in() { ls "$1/runs" | grep -c '\.h5$'; }
# key_of OUT ID: the run key of a cell (run files, checkpoints and logs are named by it)
key_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"key":"\([0-9a-f]*\)".*/\1/'; }
# tkey_of OUT ID: its training key (checkpoints are named by it)
tkey_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"training_key":"\([0-9a-f]*\)".*/\1/'; }
pids_of() { awk '/^ *rank +host/ {t=1; next} t && $4 ~ /^[0-9]+\/[0-9]+$/ {print $3; next} t {t=0}' "$1"; }
ranks_that_ran() { grep -ho "rank [0-9]* on" "$1"/logs/*.log | sort -u | wc -l; }

# ---- 1, 2, 3 ranks: the same metrics -------------------------------------------------------------
for np in 1 2 3; do
  timeout $((120 * TS)) "${MPIRUN[@]}" -np $np "$CLIPGRID" run s.yaml -o np$np --progress 100 >np$np.out 2>&1
  rc=$?; check "np $np: exit 0 (rc $rc)" $rc
  [ "$(runs_in np$np)" = 14 ]; check "np $np: 14 run files for 16 cells ($(runs_in np$np))" $?
done
for np in 2 3; do
  n=$(same_metrics np1 np$np 0); ok=$?
  check "np $np: metrics of all $n runs identical to np 1" $ok
  [ "$(ranks_that_ran np$np)" = $np ]; check "np $np: runs done by all $np ranks ($(ranks_that_ran np$np))" $?
  [ "$(pids_of np$np.out | wc -l)" = $np ]; check "np $np: start table lists $np ranks" $?
done
grep -q "^\[14/14\]" np2.out; check "rank 0 printed a line per finished run" $?
grep -q "^progress: 14/14 runs finished" np2.out; check "progress line" $?
h5ls np3/results.h5/index | grep -q "Dataset {14"; check "results.h5 /index: 14 rows" $?

# ---- multi-rank runs ------------------------------------------------------------------------------
# m2: every run on a group of 2 ranks; m3 (3 ranks): coop on 3 ranks, maple on 2 (rounds),
# zsclip and cocoop on single ranks (the shared counter)
sweep mpitest "ranks: 2" >m2.yaml
sweep mpitest "overrides:
  - when: {method: coop}
    set: {ranks: 3}
  - when: {method: maple}
    set: {ranks: 2}" >m3.yaml
sed -i 's/^seeds: \[1, 2\]/seeds: [2]/; s/^datasets: \[eurosat, dtd\]/datasets: [dtd]/' m2.yaml m3.yaml
ranks_of() { h5dump -a /ranks "$1/runs/$(key_of $1 base2new/$2/dtd/shots4/seed2).h5" | sed -n 's/^ *(0): *//p'; }
for r in 2 3; do
  timeout $((120 * TS)) "${MPIRUN[@]}" -np $r "$CLIPGRID" run m$r.yaml -o m$r --progress 100 >m$r.out 2>&1
  rc=$?; check "multi-rank runs on $r ranks: exit 0 (rc $rc)" $rc
  n=$(same_metrics m$r np1 1e-4); ok=$?
  check "multi-rank runs on $r ranks: metrics of its $n runs equal to the 1-rank runs (rel 1e-4)" $ok
done
got="$(ranks_of m2 coop) $(ranks_of m2 maple) $(ranks_of m2 zsclip)"
[ "$got" = "2 2 2" ]; check "ranks: 2 on 2 ranks: the run files record 2 ranks ($got)" $?
got="$(ranks_of m3 coop) $(ranks_of m3 maple) $(ranks_of m3 zsclip) $(ranks_of m3 cocoop)"
[ "$got" = "3 2 1 1" ]; check "mixed on 3 ranks: coop 3, maple 2, zsclip and cocoop 1 ($got)" $?

# ---- kill -9 in the middle, then the same command ---------------------------------------------------
long=$(key_of np1 base2new/coop/eurosat/shots4/seed1)      # its run file and log
longt=$(tkey_of np1 base2new/coop/eurosat/shots4/seed1)    # its checkpoint
interrupted() { # out-dir, signal: start np 2, wait for the long run's first checkpoint, signal
  local out=$1 sig=$2
  timeout $((120 * TS)) "${MPIRUN[@]}" -np 2 "$CLIPGRID" run s.yaml -o "$out" --progress 100 >"$out.out" 2>&1 &
  local job=$! i
  for i in $(seq 600); do [ -f "$out/ckpt/$longt.h5" ] && break; sleep 0.05; done
  [ -f "$out/ckpt/$longt.h5" ] || echo "  no checkpoint appeared" >&2
  if [ "$sig" = KILL ]; then
    local pid=$(grep -o '"pid": *[0-9]*' "$out/state/base2new_coop_eurosat_shots4_seed1.running" | grep -o '[0-9]*$')
    kill -KILL "$pid"
  elif [ "$sig" = USR1 ]; then
    kill -USR1 $(pgrep -P $job)     # mpirun (the child of timeout) forwards it to every rank
  else
    kill -TERM $(pids_of "$out.out")
  fi
  wait $job
}
interrupted k9 KILL; rc=$?
[ "$rc" != 0 ]; check "kill -9 of the rank running a run: the job ends (rc $rc)" $?
[ ! -f "k9/runs/$long.h5" ] && [ -f "k9/ckpt/$longt.h5" ]; check "kill -9: the run is unfinished, its checkpoint is there" $?
timeout $((120 * TS)) "${MPIRUN[@]}" -np 2 "$CLIPGRID" run s.yaml -o k9 --progress 100 >k9b.out 2>&1
rc=$?; check "kill -9: the same command again: exit 0 (rc $rc)" $rc
[ "$(runs_in k9)" = 14 ]; check "kill -9: every run present exactly once ($(runs_in k9) files)" $?
h5ls k9/results.h5/index | grep -q "Dataset {14"; check "kill -9: results.h5 /index has 14 rows" $?
grep -q "resumed from" "k9/logs/$long.log"; check "kill -9: the run resumed from its checkpoint" $?
n=$(same_metrics np1 k9 0); ok=$?; check "kill -9: metrics of all $n runs equal to the uninterrupted sweep" $ok
[ ! -e "k9/ckpt/$longt.h5" ]; check "kill -9: the checkpoint is removed once the run is done" $?

interrupted st TERM; rc=$?
check "SIGTERM to every rank: exit 0 (rc $rc)" $rc
grep -q "stopped by signal" st.out; check "SIGTERM: 'stopped by signal' reported" $?
[ ! -f "st/runs/$long.h5" ] && [ -f "st/ckpt/$longt.h5" ]; check "SIGTERM: the run checkpointed, not recorded" $?
timeout $((120 * TS)) "${MPIRUN[@]}" -np 2 "$CLIPGRID" run s.yaml -o st --progress 100 >stb.out 2>&1
rc=$?; check "SIGTERM: the same command again: exit 0 (rc $rc)" $rc
[ "$(runs_in st)" = 14 ]; check "SIGTERM: every run present exactly once ($(runs_in st) files)" $?
grep -q "resumed from" "st/logs/$long.log"; check "SIGTERM: the run resumed from its checkpoint" $?
n=$(same_metrics np1 st 0); ok=$?; check "SIGTERM: metrics of all $n runs equal to the uninterrupted sweep" $ok

interrupted u1 USR1; rc=$?
[ "$rc" = 0 ] && grep -q "stopped by signal" u1.out; check "SIGUSR1 to mpirun: every rank stops, exit 0 (rc $rc)" $?
timeout $((120 * TS)) "${MPIRUN[@]}" -np 2 "$CLIPGRID" run s.yaml -o u1 --progress 100 >u1b.out 2>&1
rc=$?; n=$(same_metrics np1 u1 0); ok=$?
[ "$rc" = 0 ] && [ "$ok" = 0 ] && [ "$(runs_in u1)" = 14 ]
check "SIGUSR1: the same command again completes the sweep with equal metrics (rc $rc, $n runs)" $?

# ---- a run that fails is recorded and the sweep goes on; --retry-failed redoes it --------------
cp -r data data_bad
bad=$(find data_bad/dtd -name '*test_0002.jpg' | sort | head -1)
echo "not an image" >"$bad"
sed 's#^data: {root: data}#data: {root: data_bad}#; s/epochs: 300/epochs: 3/' s.yaml >bad.yaml
timeout $((60 * TS)) "$CLIPGRID" run bad.yaml -o bad --progress 100 >bad.out 2>&1; rc=$?
nf=$(grep -c "^\[[0-9]*/14\] .*: failed: .*not an image" bad.out)
[ "$rc" = 1 ] && [ "$(runs_in bad)" = 14 ] && [ "$nf" = 7 ]
check "a bad image fails the 7 dtd runs (8 cells), recorded with the reason; the other runs finish (rc $rc, $nf failed)" $?
cp "${bad/data_bad/data}" "$bad"
timeout $((60 * TS)) "$CLIPGRID" run bad.yaml -o bad --progress 100 >bad2.out 2>&1; rc=$?
[ "$rc" = 1 ] && grep -q "16 cells, 14 runs (2 cells share a run with another), 0 to do" bad2.out; check "failed runs are finished runs: not redone by default (rc $rc)" $?
timeout $((60 * TS)) "$CLIPGRID" run bad.yaml -o bad --progress 100 --retry-failed >bad3.out 2>&1; rc=$?
[ "$rc" = 0 ] && grep -q "14 runs (2 cells share a run with another), 7 to do" bad3.out; check "--retry-failed redoes the 7 failed runs (rc $rc)" $?

# ---- two jobs on one OUT: an MPI job and a plain process cooperate (per-run claims) ------------
timeout $((120 * TS)) "${MPIRUN[@]}" -np 2 "$CLIPGRID" run s.yaml -o co --progress 100 >co_mpi.out 2>&1 &
job=$!
timeout $((120 * TS)) "$CLIPGRID" run s.yaml -o co --progress 100 >co_one.out 2>&1; rc1=$?
wait $job; rc2=$?
n1=$(sed -n 's/^\([0-9]*\) runs finished now.*/\1/p' co_one.out); n2=$(sed -n 's/^\([0-9]*\) runs finished now.*/\1/p' co_mpi.out)
[ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ $((${n1:-0} + ${n2:-0})) = 14 ]
check "mpirun -np 2 and a plain run on one OUT at once: both exit 0 (rc $rc2, $rc1), runs finished ${n2:-?} + ${n1:-?} = 14" $?
starts=$(cat co/logs/*.log 2>/dev/null | grep -c '^== ')
[ "$(runs_in co)" = 14 ] && [ "$starts" = 14 ] && h5ls co/results.h5/index | grep -q "Dataset {14"
r=$?; check "two jobs: every run once ($(runs_in co) files, $starts start lines), results.h5 /index 14 rows" $r
n=$(same_metrics np1 co 0); ok=$?; check "two jobs: metrics of all $n runs identical to np 1" $ok
timeout $((60 * TS)) "$CLIPGRID" run s.yaml -o np1 >again.out 2>&1; rc=$?
[ "$rc" = 0 ] && grep -q "16 cells, 14 runs (2 cells share a run with another), 0 to do" again.out; check "rerun of a finished sweep: nothing to do (rc $rc)" $?
exit $fail
