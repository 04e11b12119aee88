#!/usr/bin/env bash
# tests/cli_write_fault.sh — a checkpoint or result file that cannot be written (full disk, I/O
# error) is not the run's fault: the run stays resumable (not failed), the rank that hit it stops
# cleanly with a message naming the path, and the next `run` takes the run up. Every step under
# `timeout`:
#   A. ENOSPC for real: OUT on a 6 MiB tmpfs (in a private mount namespace, gone with the test)
#      filled up while the long run is between checkpoints; one rank;
#   B. EIO on a checkpoint (an LD_PRELOAD shim, tests/fault/write_fault_shim.c) in the middle of
#      the long run on 2 ranks: that rank stops, the other finishes every other run;
#   C. EIO on a result file (the same shim) of a zero-shot run.
# After each, the same command again: every run present exactly once, the metrics equal to those
# of an uninterrupted sweep. Run from the repository root; $CLIPGRID is the program.
set -u
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
ROOT=$PWD
fail=0
# (the status is taken before the message is built: a $(…) in the message would reset $?)
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
skip() { echo "SKIP $1"; }
MPIRUN=(mpirun --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
tmp=$(mktemp -d)
cleanup() {
  mountpoint -q "$tmp/fs" 2>/dev/null && umount "$tmp/fs"
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

cc -shared -fPIC -O1 -o shim.so "$ROOT/tests/fault/write_fault_shim.c" -ldl ||
  { echo "FAIL cc tests/fault/write_fault_shim.c"; exit 1; }
"$CLIPGRID" make-model tiny.safetensors --vision-width 64 --vision-layers 2 --patch 8 --image-res 32 \
  --text-width 64 --text-layers 2 --embed 64 --seed 3 >/dev/null || { echo "FAIL make-model"; exit 1; }
"$CLIPGRID" synth data --layout eurosat,dtd --classes 6 --per-class 8 --test 4 --min-side 40 \
  --max-side 64 >/dev/null || { echo "FAIL synth"; exit 1; }
# 8 cells, 6 runs (zero-shot CLIP once per dataset across seeds); coop/eurosat/seed1 is long (60 epochs of 12 steps, a checkpoint after each)
cat >s.yaml <<YAML
name: wf
model: {weights: $tmp/tiny.safetensors}
data: {root: $tmp/data}
setting: base2new
shots: 4
seeds: [1, 2]
datasets: [eurosat, dtd]
methods:
  zsclip: {}
  coop: {epochs: 2, batch: 4}
loader_threads: 1
threads: 1
overrides:
  - when: {method: coop, dataset: eurosat, seed: 1}
    set: {epochs: 60, batch: 1}
YAML
N=6
# run files and logs are named by run key, checkpoints by training key (runner/run_key.c); keys
# depend on content only, so the reference OUT's grid.json tells them
key_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"key":"\([0-9a-f]*\)".*/\1/'; }
tkey_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"training_key":"\([0-9a-f]*\)".*/\1/'; }
long_id=base2new/coop/eurosat/shots4/seed1 zs_id=base2new/zsclip/dtd/shots4/seed1  # zero-shot: seed 1 is the run of both seeds

metrics() { # a run file's numbers that must not depend on how the sweep went
  local f=$1 args=(-m %.9g -d /curves/loss -d /curves/accuracy)
  for g in $(h5ls -r "$f" | awk '$2=="Group" && $1 ~ /^\/evals\// {print $1}'); do
    args+=(-a "$g/accuracy" -a "$g/correct" -a "$g/total" -d "$g/per_class")
  done
  h5dump "${args[@]}" "$f" 2>/dev/null | sed -n 's/^ *([0-9,]*): *//p' | tr ',' '\n' | tr -d ' ' | grep -v '^$'
}
same_as_ref() { # out: every run file equal in metrics to ref's; prints the count compared
  local n=0 bad=0 f
  for f in $(cd ref/runs && ls *.h5); do
    n=$((n+1))
    if [ ! -f "$1/runs/$f" ] || ! cmp -s <(metrics "ref/runs/$f") <(metrics "$1/runs/$f") ||
       [ -z "$(metrics "ref/runs/$f")" ]; then bad=1; echo "  differs or missing: $1/runs/$f" >&2; fi
  done
  echo "$n"
  return $bad
}
runs_in() { find "$1/runs" -maxdepth 1 -name '*.h5' 2>/dev/null | wc -l; }
status_of() { h5dump -a /status "$1" 2>/dev/null | sed -n 's/^ *(0): *"\(.*\)"$/\1/p'; }
none_failed() { # out: no run file records a failed run
  local f; for f in "$1"/runs/*.h5; do [ "$(status_of "$f")" = failed ] && return 1; done; return 0
}
again() { # out label: the same command again finishes the sweep
  local out=$1 label=$2 rc n
  timeout 300 "$CLIPGRID" run s.yaml -o "$out" --progress 100 >"$out.again" 2>&1; rc=$?
  check "$label: the same command again: exit 0 (rc $rc)" $rc
  [ "$(runs_in "$out")" = $N ] && none_failed "$out"
  r=$?; check "$label: all $N runs present once, none failed ($(runs_in "$out") run files)" $r
  n=$(same_as_ref "$out"); r=$?; check "$label: metrics of all $n runs equal those of the uninterrupted sweep" $r
}

timeout 300 "$CLIPGRID" run s.yaml -o ref --progress 100 >ref.out 2>&1
rc=$?; check "reference: uninterrupted sweep, exit 0 (rc $rc)" $rc
[ "$(runs_in ref)" = $N ]; r=$?; check "reference: $N run files" $r
long=$(key_of ref "$long_id"); longt=$(tkey_of ref "$long_id"); zs=$(key_of ref "$zs_id")

# ---- A. ENOSPC on a small tmpfs -----------------------------------------------------------------
if [ -z "${CG_IN_MOUNT_NS:-}" ] && [ "$(id -u)" = 0 ] && timeout 10 unshare -m true 2>/dev/null; then
  echo "-- A. ENOSPC (a 6 MiB tmpfs filled while the long run is between checkpoints)"
  mkdir -p fs
  # the part that mounts runs in its own mount namespace: the tmpfs disappears with it
  CG_IN_MOUNT_NS=1 TMPDIR_A="$tmp" timeout 300 unshare -m --propagation private bash -c '
    set -u; cd "$TMPDIR_A" && mount -t tmpfs -o size=6m cgtest fs || exit 3
    "$0" run s.yaml -o fs/out --progress 100 >a.out 2>&1 & job=$!
    for i in $(seq 600); do [ -f "fs/out/ckpt/$1.h5" ] && break; sleep 0.05; done
    dd if=/dev/zero of=fs/filler bs=64k 2>/dev/null   # until the disk is full
    wait $job; echo "rc $?" >a.rc
    rm -f fs/filler
    # take the (possibly half-written) OUT off the tmpfs for the second run
    cp -a fs/out a_out' "$CLIPGRID" "$longt"
  mrc=$?
  if [ "$mrc" = 3 ]; then
    skip "A. ENOSPC on a tmpfs: mounting a tmpfs is not allowed here"
  else
    rc=$(sed -n 's/^rc //p' a.rc 2>/dev/null)
    [ -n "$rc" ] && [ "$rc" -lt 128 ]; r=$?; check "A: the run ended by itself, not by a signal (rc $rc)" $r
    grep -q "run ${long_id}: .*fs/out/ckpt/$longt.h5[.a-z]*: cannot .*(No space left on device).*stays pending" a.out
    r=$?; check "A: the message names the run, the checkpoint path and ENOSPC" $r
    grep "stays pending" a.out | head -n 1 | sed "s|$tmp/||g; s/^/     /"
    [ ! -f "a_out/runs/$long.h5" ] && [ -f "a_out/ckpt/$longt.h5" ] && none_failed a_out
    r=$?; check "A: the long run is not recorded (not failed) and its last checkpoint is there" $r
    grep -q "^stopped: .*No space left on device" a_out/logs/$long.log 2>/dev/null ||
      grep -q "stopped" a.out
    r=$?; check "A: the run's log or the output says it stopped" $r
    again a_out "A"
    grep -q "resumed from .* at epoch" "a_out/logs/$long.log"
    r=$?; check "A: the long run resumed from its checkpoint ($(grep -o 'resumed from .*' "a_out/logs/$long.log" | sed "s|$tmp/||" | head -n 1))" $r
  fi
else
  skip "A. ENOSPC on a tmpfs: needs root and a private mount namespace (unshare -m)"
fi

# ---- B. EIO on a checkpoint, 2 ranks ------------------------------------------------------------
echo "-- B. EIO on the long run's checkpoint after 5 good checkpoints, 2 ranks (LD_PRELOAD shim)"
if command -v mpirun >/dev/null 2>&1; then
  CG_FAULT_MATCH="ckpt/$longt.h5.tmp" CG_FAULT_ERRNO=5 CG_FAULT_AFTER=5 LD_PRELOAD="$tmp/shim.so" \
    timeout 300 "${MPIRUN[@]}" -x LD_PRELOAD -x CG_FAULT_MATCH -x CG_FAULT_ERRNO -x CG_FAULT_AFTER \
    -np 2 "$CLIPGRID" run s.yaml -o b --progress 100 >b.out 2>&1
  rc=$?
  [ "$rc" -lt 128 ]; r=$?; check "B: the job ended by itself, not by a signal or timeout (rc $rc)" $r
  grep -q "^clipgrid: rank [01] on [^:]*: run ${long_id}: b/ckpt/$longt.h5[.a-z]*: cannot .*(Input/output error).*stays pending" b.out
  r=$?; check "B: the message names rank, host, run, checkpoint path and EIO" $r
  [ ! -f "b/runs/$long.h5" ] && [ -f "b/ckpt/$longt.h5" ] && none_failed b
  r=$?; check "B: the long run is not recorded (not failed); its last good checkpoint is there" $r
  [ "$(runs_in b)" = $((N - 1)) ]
  r=$?; check "B: the other rank finished every other run ($(runs_in b) of $((N - 1)))" $r
  again b "B"
  grep -Eq "resumed from .* at epoch ([2-9]|[1-5][0-9])," "b/logs/$long.log"
  r=$?; check "B: the long run resumed from its last good checkpoint ($(grep -o 'resumed from .*' "b/logs/$long.log" | sed "s|$tmp/||" | head -n 1))" $r
else
  skip "B. EIO on a checkpoint with 2 ranks: mpirun not found"
fi

# ---- C. EIO on a result file ---------------------------------------------------------------------
echo "-- C. EIO on the result file of $zs (LD_PRELOAD shim)"
CG_FAULT_MATCH="runs/.$zs" CG_FAULT_ERRNO=5 LD_PRELOAD="$tmp/shim.so" \
  timeout 300 "$CLIPGRID" run s.yaml -o c --progress 100 >c.out 2>&1
rc=$?
[ "$rc" -lt 128 ]; r=$?; check "C: the run ended by itself, not by a signal (rc $rc)" $r
grep -q "run ${zs_id}: c/runs/.$zs.h5.tmp: cannot .*(Input/output error).*stays pending" c.out
r=$?; check "C: the message names the run, the result file's path and EIO" $r
grep "stays pending" c.out | head -n 1 | sed "s|$tmp/||g; s/^/     /"
[ ! -f "c/runs/$zs.h5" ] && [ ! -f "c/runs/.$zs.h5.tmp" ] && none_failed c
r=$?; check "C: the run is not recorded (not failed), no temporary file left" $r
again c "C"

exit $fail
