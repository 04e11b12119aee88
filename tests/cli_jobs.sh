#!/usr/bin/env bash
# tests/cli_jobs.sh — cooperating jobs on one OUT (issue 16): separate `clipgrid run` processes
# (no mpirun, no shared MPI world) on the same output folder claim each run (OUT/claims/<key>.claim)
# and finish the sweep together. Every clipgrid call under `timeout`.
#   a. three processes started at once: every run done exactly once (one start line in each run's
#      log, no take-over), OUT/runs holds exactly the sweep's keys, results.h5's /index every key,
#      and the metrics bit for bit those of one process on another OUT;
#   b. the same with one of them killed with -9 while it trains the long run: its claim (a dead
#      process of this host) is taken over at once by another job, which resumes the run from the
#      dead job's checkpoint; metrics, the killed run's included, equal the uninterrupted sweep's;
#   c. the three processes with flock() failing with ENOSYS (LD_PRELOAD of tests/flock_enosys.c,
#      as on Lustre without -o flock): the sweep completes with the same metrics;
#   d. a claim of another host written by hand: an hour-old heartbeat is shown `stale` by status
#      and taken over by `CLIPGRID_CLAIM_STALE=5 clipgrid run` (the log names the heartbeat's age);
#      a fresh one is shown running, is left alone by another job, and `gc` refuses meanwhile.
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
ROOT=$PWD
TS="${TIMEOUT_SCALE:-1}"  # run_tests.sh sets it under SANITIZE=1 (ASan makes runs slower)
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
fail=0
# (the status is taken before the message is built: a $(…) in the message would reset $?)
check() { if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
skip() { echo "SKIP $1"; }
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

"$CLIPGRID" make-model tiny.safetensors --vision-width 64 --vision-layers 2 --patch 8 --image-res 32 \
  --text-width 64 --text-layers 2 --embed 64 --seed 3 >/dev/null || { echo "FAIL make-model"; exit 1; }
"$CLIPGRID" synth data --layout eurosat,dtd --classes 6 --per-class 8 --test 4 --min-side 40 \
  --max-side 64 >/dev/null || { echo "FAIL synth"; exit 1; }
# 12 cells, 10 runs (zero-shot CLIP is one run per dataset across seeds); coop/eurosat/seed1 is
# long (400 epochs of 12 steps, a checkpoint after each) so that it can be killed in the middle
cat >s.yaml <<YAML
name: jobs
model: {weights: $tmp/tiny.safetensors}
data: {root: $tmp/data}
setting: base2new
shots: 4
seeds: [1, 2]
datasets: [eurosat, dtd]
methods:
  zsclip: {}
  coop: {epochs: 40, batch: 1}
  cocoop: {epochs: 4, batch: 1}
loader_threads: 1
threads: 1
overrides:
  - when: {method: coop, dataset: eurosat, seed: 1}
    set: {epochs: 400}
YAML
N=10
long_id=base2new/coop/eurosat/shots4/seed1

# key_of OUT ID / tkey_of OUT ID: a cell's run key (run files, logs, claims) and training key
# (checkpoints), from grid.json
key_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"key":"\([0-9a-f]*\)".*/\1/'; }
tkey_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"training_key":"\([0-9a-f]*\)".*/\1/'; }
grid_keys() { tr -d '\n ' <"$1/grid.json" | grep -o '"key":"[0-9a-f]*"' | cut -d'"' -f4 | sort -u; }
run_keys() { (cd "$1/runs" && ls -- *.h5 2>/dev/null) | sed 's/\.h5$//' | sort; }
index_keys() { h5dump -d /index "$1/results.h5" 2>/dev/null | grep -o '"[0-9a-f]\{20\}"' | tr -d '"' | sort -u; }
# metrics FILE: a run file's numbers that must not depend on who ran it (%.17g: every bit)
metrics() {
  local f=$1 args=(-m %.17g -d /curves/loss -d /curves/accuracy)
  for g in $(h5ls -r "$f" | awk '$2=="Group" && $1 ~ /^\/evals\// {print $1}'); do
    args+=(-a "$g/accuracy" -a "$g/correct" -a "$g/total" -a "$g/macro_f1" -d "$g/per_class")
  done
  h5dump "${args[@]}" "$f" 2>/dev/null | sed -n 's/^ *([0-9,]*): *//p' | tr ',' '\n' | tr -d ' ' | grep -v '^$'
}
# export_core OUT: `clipgrid export` without the columns of where and when (host, times)
export_core() {
  timeout $((30 * TS)) "$CLIPGRID" export "$1" --format csv 2>/dev/null | awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i !~ /^(host|device|start_time|end_time|wall_seconds|train_seconds|eval_seconds)$/) keep[i] = 1 }
    { line = ""; for (i = 1; i <= NF; i++) if (i in keep) line = line "," $i; print substr(line, 2) }' | sort
}
# same_as_ref OUT: every run file of ref in OUT with the same metrics, and the same export rows;
# prints the number of run files compared
same_as_ref() {
  local n=0 bad=0 f
  for f in $(cd ref/runs && ls -- *.h5); do
    n=$((n+1))
    if [ ! -f "$1/runs/$f" ] || [ -z "$(metrics "ref/runs/$f")" ] ||
       ! cmp -s <(metrics "ref/runs/$f") <(metrics "$1/runs/$f"); then
      bad=1; echo "  differs or missing: $1/runs/$f" >&2
    fi
  done
  if ! cmp -s <(export_core ref) <(export_core "$1"); then
    bad=1; echo "  clipgrid export differs:" >&2; diff <(export_core ref) <(export_core "$1") | head -n 6 >&2
  fi
  echo "$n"
  return $bad
}
# once_each OUT [KEY-WITH-TWO-STARTS]: every run file and its log; one start line ("== ID") per
# log (two for the key given: the killed start and the resumed one); OUT/runs = the grid's keys
once_each() {
  local out=$1 two=${2:-} k want n bad=0
  [ "$(run_keys "$out")" = "$(grid_keys "$out")" ] || { echo "  runs/ differs from grid.json's keys" >&2; bad=1; }
  for k in $(grid_keys "$out"); do
    want=1; [ "$k" = "$two" ] && want=2
    n=$(grep -c '^== ' "$out/logs/$k.log" 2>/dev/null)
    [ "${n:-0}" = "$want" ] || { echo "  $out/logs/$k.log: ${n:-0} start lines, not $want" >&2; bad=1; }
  done
  return $bad
}
# index_complete OUT: results.h5's /index has every key of the grid
index_complete() { [ -n "$(index_keys "$1")" ] && [ "$(index_keys "$1")" = "$(grid_keys "$1")" ]; }
# runs_done_by JOB-OUTPUT: how many runs that process finished itself ("N runs finished now";
# its "[k/n]" lines count the runs other jobs finished too)
runs_done_by() { local n; n=$(sed -n 's/^\([0-9]*\) runs finished now.*/\1/p' "$1" | tail -n 1); echo "${n:-0}"; }
# three OUT PREFIX [ENV...]: starts three `clipgrid run` processes on OUT at once; their pids
# (of `timeout`) in JOBS, their outputs PREFIX1.out..PREFIX3.out
three() {
  local out=$1 pre=$2 i; shift 2
  JOBS=()
  for i in 1 2 3; do
    env "$@" timeout $((180 * TS)) "$CLIPGRID" run s.yaml -o "$out" --threads 1 --progress 1000 \
      >"$pre$i.out" 2>&1 &
    JOBS+=($!)
  done
}
# wait_jobs: waits for JOBS; their exit statuses in RCS
wait_jobs() { local p; RCS=(); for p in "${JOBS[@]}"; do wait "$p"; RCS+=($?); done; }
claim_field() { # claim-file field: the value after the word FIELD in the claim's line
  awk -v f="$2" '{ for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); exit } }' "$1" 2>/dev/null
}

# ---- the reference: one process ------------------------------------------------------------------
t0=$(date +%s)
timeout $((180 * TS)) "$CLIPGRID" run s.yaml -o ref --threads 1 --progress 1000 >ref.out 2>&1; rc=$?
t_ref=$(( $(date +%s) - t0 ))
[ "$rc" = 0 ] && [ "$(run_keys ref | wc -l)" = $N ] && index_complete ref
check "reference: one process, $N runs in ${t_ref} s (rc $rc)" $?
long=$(key_of ref "$long_id"); longt=$(tkey_of ref "$long_id")
[ -n "$long" ] && [ -n "$longt" ] || { echo "FAIL no key for $long_id in ref/grid.json"; exit 1; }

# ---- a. three processes at once ------------------------------------------------------------------
echo "-- a. three \`clipgrid run\` processes on one OUT ($(elapsed))"
t0=$(date +%s)
three a a
wait_jobs
t_a=$(( $(date +%s) - t0 ))
[ "${RCS[*]}" = "0 0 0" ]; check "a: all three exit 0 (${RCS[*]}) in ${t_a} s" $?
once_each a; check "a: OUT/runs holds exactly the $N keys of the grid, each run's log one start line" $?
! grep -q "claim: took over" a/logs/*.log a?.out; check "a: no claim taken over (no job died)" $?
index_complete a; r=$?; check "a: results.h5 /index lists every key ($(index_keys a | wc -l))" $r
n=$(same_as_ref a); r=$?; check "a: metrics of all $n runs and the export rows bit for bit those of one process" $r
d1=$(runs_done_by a1.out); d2=$(runs_done_by a2.out); d3=$(runs_done_by a3.out)
[ $((d1 + d2 + d3)) = $N ]; check "a: the runs finished by each job add up to $N ($d1 + $d2 + $d3)" $?
busy=0; for d in $d1 $d2 $d3; do [ "$d" -gt 0 ] && busy=$((busy + 1)); done
[ "$busy" -ge 2 ]; check "a: the work was shared: $busy of 3 jobs finished runs" $?
[ ! -e a/claims ] || [ -z "$(ls -A a/claims)" ]; check "a: no claim left in OUT/claims" $?

# ---- b. one of three killed with -9 mid-run --------------------------------------------------------
echo "-- b. the same, the job training $long_id killed with -9 ($(elapsed))"
three b b
victim=""; epoch_seen=""
for i in $(seq $((1200 * TS))); do
  if [ -f "b/claims/$long.claim" ] && [ -f "b/ckpt/$longt.h5" ] &&
     grep -q '^epoch [3-9]/' "b/logs/$long.log" 2>/dev/null; then
    victim=$(claim_field "b/claims/$long.claim" pid); epoch_seen=$(grep '^epoch ' "b/logs/$long.log" | tail -n 1)
    break
  fi
  sleep 0.05
done
if [ -n "$victim" ] && kill -0 "$victim" 2>/dev/null; then
  kill -KILL "$victim"
  echo "     killed pid $victim at '${epoch_seen%% (*}' (claim: $(cat "b/claims/$long.claim" 2>/dev/null))"
else
  echo "  no claim of $long with a live pid and a checkpoint appeared (pid '$victim')" >&2
fi
wait_jobs
killed=0; others=0
for r in "${RCS[@]}"; do [ "$r" = 137 ] && killed=$((killed + 1)); [ "$r" = 0 ] && others=$((others + 1)); done
[ "$killed" = 1 ] && [ "$others" = 2 ]; check "b: one job killed (137), the other two exit 0 (${RCS[*]})" $?
grep -q "^claim: took over .*dead process on this host" "b/logs/$long.log"
r=$?; check "b: the run's log: $(grep -m1 '^claim: took over' "b/logs/$long.log" 2>/dev/null | sed "s|$tmp/||g")" $r
grep -q "pid $victim" <(grep '^claim: took over' "b/logs/$long.log" 2>/dev/null)
check "b: the take-over line names the killed pid $victim" $?
[ "$(grep -l "took over" b?.out 2>/dev/null | wc -l)" = 1 ]; check "b: one of the surviving jobs said on stderr that it took the run over" $?
grep -q "resumed from .* at epoch" "b/logs/$long.log"
r=$?; check "b: the run resumed from the dead job's checkpoint ($(grep -o 'resumed from .*' "b/logs/$long.log" | sed "s|$tmp/||" | head -n 1))" $r
d1=$(runs_done_by b1.out); d2=$(runs_done_by b2.out); d3=$(runs_done_by b3.out)
[ $((d1 + d2 + d3)) = $N ]; check "b: the runs finished by the two surviving jobs add up to $N ($d1 + $d2 + $d3)" $?
once_each b "$long"; check "b: every run present once; one start line per log, two for the killed run" $?
index_complete b; check "b: results.h5 /index lists every key" $?
n=$(same_as_ref b); r=$?; check "b: metrics of all $n runs (the resumed one too) bit for bit those of the uninterrupted sweep" $r
[ ! -e "b/ckpt/$longt.h5" ] && { [ ! -e b/claims ] || [ -z "$(ls -A b/claims)" ]; }
check "b: the checkpoint and every claim are gone once the sweep is done" $?

# ---- c. flock failing with ENOSYS ------------------------------------------------------------------
echo "-- c. three processes with flock() failing with ENOSYS (LD_PRELOAD) ($(elapsed))"
if ldd "$CLIPGRID" 2>/dev/null | grep -q 'lib[at]san\|libubsan' || [ "${SANITIZE:-}" = 1 ]; then
  skip "c. flock made to fail: the program is built with sanitizers (ASan must come first in LD_PRELOAD)"
elif ! cc -shared -fPIC -O1 -o flock_enosys.so "$ROOT/tests/flock_enosys.c"; then
  check "c: cc tests/flock_enosys.c" 1
else
  LD_PRELOAD="$tmp/flock_enosys.so" FLOCK_ENOSYS_LOG=/dev/null timeout 10 flock probe.lock true 2>probe.err
  rc=$?
  [ "$rc" != 0 ] && grep -q "Function not implemented" probe.err
  r=$?; check "c: the shim works: flock(1) under it fails with ENOSYS (rc $rc: $(cat probe.err))" $r
  t0=$(date +%s)
  three c c LD_PRELOAD="$tmp/flock_enosys.so" FLOCK_ENOSYS_LOG="$tmp/flock.calls"
  wait_jobs
  t_c=$(( $(date +%s) - t0 ))
  [ "${RCS[*]}" = "0 0 0" ]; r=$?
  check "c: all three exit 0 (${RCS[*]}) in ${t_c} s; flock() refused $(cat flock.calls 2>/dev/null | wc -l) times" $r
  d1=$(runs_done_by c1.out); d2=$(runs_done_by c2.out); d3=$(runs_done_by c3.out)
  [ $((d1 + d2 + d3)) = $N ]; check "c: the runs finished by each job add up to $N ($d1 + $d2 + $d3)" $?
  once_each c; check "c: every run present once, one start line per log" $?
  index_complete c; check "c: results.h5 /index lists every key" $?
  n=$(same_as_ref c); r=$?; check "c: metrics of all $n runs bit for bit those of one process" $r
fi

# ---- d. claims of another host ---------------------------------------------------------------------
echo "-- d. claims written by another host: stale (an hour old) and fresh ($(elapsed))"
stale_id=base2new/coop/dtd/shots4/seed2; fresh_id=base2new/coop/dtd/shots4/seed1
ks=$(key_of ref "$stale_id"); kf=$(key_of ref "$fresh_id")
# the sweep done except two runs, whose claims another host holds
cp -r ref d && rm -f "d/runs/$ks.h5" "d/runs/$kf.h5" && mkdir -p d/claims d/state
# what a job on ghost-node leaves: its claim and its running marker (state/<id with _>.running)
ghost() { # id key pid job start epoch
  echo "host ghost-node pid $3 job $4 start $5" >"d/claims/$2.claim"
  printf '{"id": "%s", "key": "%s", "host": "ghost-node", "pid": %s, "rank": 0, "ranks": 1, "device": "cpu (8 threads)", "start_time": %s, "update_time": %s, "epoch": %s, "epochs": 40, "cost_estimate": 0.6}\n' \
    "$1" "$2" "$3" "$5" "$5" "$6" >"d/state/$(echo "$1" | tr / _).running"
}
old=$(( $(date +%s) - 3600 ))
ghost "$stale_id" "$ks" 4242 999 "$old" 12
touch -d '1 hour ago' "d/claims/$ks.claim"
ghost "$fresh_id" "$kf" 4343 1000 "$(date +%s)" 3
timeout $((30 * TS)) "$CLIPGRID" status d >d_status.out 2>&1; rc=$?
sed 's/^/     | /' d_status.out | grep -E "ghost|$stale_id|$fresh_id|running|stale"
grep "$stale_id" d_status.out | grep -q "ghost-node" && grep "$stale_id" d_status.out | grep -qi "stale"
check "d: status shows the hour-old claim of ghost-node as stale (rc $rc)" $?
grep "$fresh_id" d_status.out | grep -q "ghost-node" && ! grep "$fresh_id" d_status.out | grep -qi "stale"
check "d: status shows the fresh claim of ghost-node running, not stale" $?
timeout $((30 * TS)) "$CLIPGRID" gc d >d_gc.out 2>&1; rc=$?
[ "$rc" != 0 ] && [ -f "d/claims/$kf.claim" ]
r=$?; check "d: gc refuses while a live claim exists (rc $rc: $(head -n 1 d_gc.out | sed "s|$tmp/||g"))" $r
# a job with the default bound (600 s) takes the stale claim over but leaves the fresh one alone:
# it finishes the stale run, then waits for the fresh one until its time limit
timeout -s TERM $((10 * TS)) "$CLIPGRID" run s.yaml -o d --threads 1 --progress 1000 >d1.out 2>&1; rc=$?
grep -q "^claim: took over .*ghost-node.*heartbeat [0-9]* s old" "d/logs/$ks.log"
r=$?; check "d: the hour-old claim taken over: $(grep -m1 '^claim: took over' "d/logs/$ks.log" 2>/dev/null)" $r
age=$(grep -m1 '^claim: took over' "d/logs/$ks.log" 2>/dev/null | grep -o 'heartbeat [0-9]*' | head -n 1 | grep -o '[0-9]*')
[ "${age:-0}" -ge 3600 ] && [ "${age:-0}" -lt 3700 ]; check "d: the age named is the heartbeat's (${age:-?} s, set to 3600 s)" $?
[ -f "d/runs/$ks.h5" ] && [ ! -f "d/runs/$kf.h5" ] && grep -q "ghost-node pid 4343" "d/claims/$kf.claim"
check "d: the stale run finished; the freshly claimed one left to its holder (claim untouched; rc $rc after the time limit)" $?
# the fresh claim's heartbeat stops: with CLIPGRID_CLAIM_STALE=5 it is stale 5 s later
touch -d '10 seconds ago' "d/claims/$kf.claim"
CLIPGRID_CLAIM_STALE=5 timeout $((60 * TS)) "$CLIPGRID" run s.yaml -o d --threads 1 --progress 1000 >d2.out 2>&1; rc=$?
grep -q "^claim: took over .*ghost-node.*heartbeat [0-9]* s old" "d/logs/$kf.log"
r=$?; check "d: CLIPGRID_CLAIM_STALE=5: a claim 10 s old taken over: $(grep -m1 '^claim: took over' "d/logs/$kf.log" 2>/dev/null) (rc $rc)" $r
[ "$rc" = 0 ] && [ "$(run_keys d)" = "$(grid_keys d)" ] && index_complete d
check "d: the sweep complete, results.h5 /index every key" $?
n=$(same_as_ref d); r=$?; check "d: metrics of all $n runs equal those of the reference" $r

echo "cli_jobs: done in $(elapsed)"
exit $fail
