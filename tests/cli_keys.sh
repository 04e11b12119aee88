#!/usr/bin/env bash
# tests/cli_keys.sh — runs known by their key (issue 12): re-running an OUT after editing one
# method's lr reruns exactly that method's cells (the others' files untouched, the stale count
# reported, the table from the new runs); a changed weights file or split file reruns every
# cell; zero-shot CLIP is one run across seeds; SIGTERM, change lr, run again: the old
# checkpoint is not used; two sweeps in one OUT (table/status --sweep, --all); `gc` removes the
# stale files; no OUT lock for `run`: a second run on the same OUT cooperates (per-run claims),
# flock not needed; gc's lock (flock, or a lock folder without it); provenance (sweep file copies, console log, --version, digests in the run file);
# at least 15 broken set-ups each answered by `plan` with one line naming the file or sweep key,
# exit 2 and nothing run. Run from the repository root; $CLIPGRID is the program.
set -u
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
fail=0
check() { if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
cd "$tmp"
model() { "$CLIPGRID" make-model "$1" --vision-width 64 --vision-layers 2 --patch 16 --image-res 32 \
  --text-width 64 --text-layers 2 --embed 32 --seed "$2" >/dev/null; }
model tiny.safetensors 3 || { echo "FAIL make-model"; exit 1; }
"$CLIPGRID" synth data --layout eurosat,dtd --classes 4 --per-class 4 --test 2 --min-side 36 \
  --max-side 40 >/dev/null || { echo "FAIL synth"; exit 1; }
sweep() { # name, coop lr, extra
  cat <<YAML
name: $1
model: {weights: tiny.safetensors}
data: {root: data}
setting: base2new
shots: 2
seeds: [1, 2]
datasets: [eurosat]
methods:
  zsclip: {}
  coop: {epochs: 2, batch: 2, lr: $2}
  cocoop: {epochs: 1, batch: 1}
threads: 1
loader_threads: 1
${3:-}
YAML
}
key_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"key":"\([0-9a-f]*\)".*/\1/'; }
# the training key of a cell: checkpoints are named by it
tkey_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed 's/.*"training_key":"\([0-9a-f]*\)".*/\1/'; }
run() { timeout 120 "$CLIPGRID" run "$1" -o out --progress 1000 >"$2" 2>&1; }
sweep a 0.002 >a.yaml
run a.yaml r1.out; rc=$?
[ "$rc" = 0 ] && grep -q "6 cells, 5 runs (1 cells share a run with another), 5 to do" r1.out
check "first run: 6 cells, zero-shot CLIP one run across seeds: 5 runs (rc $rc)" $?
[ "$(key_of out base2new/zsclip/eurosat/shots2/seed1)" = "$(key_of out base2new/zsclip/eurosat/shots2/seed2)" ]
check "zero-shot cells of two seeds share one key" $?
zs=$(key_of out base2new/zsclip/eurosat/shots2/seed1); cc=$(key_of out base2new/cocoop/eurosat/shots2/seed1)
co1=$(key_of out base2new/coop/eurosat/shots2/seed1)
touch -d '2001-01-01' out/runs/*.h5
"$CLIPGRID" table out --format csv >t1.csv

# ---- edit coop's lr: only coop's 2 cells run again ----------------------------------------------
sweep a 0.004 >a.yaml
run a.yaml r2.out; rc=$?
[ "$rc" = 0 ] && grep -q "5 runs (1 cells share a run with another), 2 to do (3 finished before)" r2.out &&
  grep -q "^2 results of this sweep's previous grid became stale" r2.out
check "lr of coop edited: exactly coop's 2 runs again, 2 stale results reported (rc $rc)" $?
co2=$(key_of out base2new/coop/eurosat/shots2/seed1)
[ "$co1" != "$co2" ] && [ "$(key_of out base2new/zsclip/eurosat/shots2/seed1)" = "$zs" ]; check "coop's key changed, zsclip's did not" $?
old=$(find out/runs -name '*.h5' ! -newermt '2002-01-01' | wc -l)
[ "$old" = 5 ] && [ "$(ls out/runs/*.h5 | wc -l)" = 7 ]; check "the 3 other runs and the 2 stale ones untouched on disk ($old old files)" $?
h5dump -a /config "out/runs/$co2.h5" | grep -q '"lr": 0.004' && h5dump -a /config "out/runs/$co1.h5" | grep -q '"lr": 0.002'
check "the new coop run records lr 0.004, the stale one 0.002" $?
"$CLIPGRID" table out --format csv >t2.csv
[ "$(grep -c EuroSAT,CoOp t2.csv)" = 1 ] && [ "$(grep -c 'EuroSAT,CLIP,2' t2.csv)" = 1 ]; check "table: one row per method from the current grid" $?
"$CLIPGRID" status out >s2.out
grep -q "cells: done 6   running 0   failed 0   pending 0   total 6" s2.out && grep -q "^other   2 run files" s2.out
check "status: 6 cells done, the 2 stale run files outside the grid" $?

# ---- a changed weights file, a changed split file: every run again --------------------------------
model tiny.safetensors 4
run a.yaml r3.out; rc=$?
grep -q "5 runs (1 cells share a run with another), 5 to do" r3.out; check "changed weights file: all 5 runs again (rc $rc)" $?
sed -i '0,/_test_0000.jpg/s//_test_0001.jpg/' data/eurosat/split_zhou_EuroSAT.json
run a.yaml r4.out; rc=$?
grep -q "5 to do" r4.out; check "changed split file: all 5 runs again (rc $rc)" $?
run a.yaml r5.out; rc=$?
grep -q "0 to do (5 finished before)" r5.out; check "unchanged: nothing to do (rc $rc)" $?

# ---- two sweeps in one OUT ----------------------------------------------------------------------
cat >b.yaml <<YAML
name: b
model: {weights: tiny.safetensors}
data: {root: data}
setting: base2new
shots: 2
seeds: [1]
datasets: [dtd]
methods: {zsclip: {}}
threads: 1
YAML
run b.yaml rb.out; rc=$?
grep -q "1 cells, 1 runs" rb.out; check "second sweep b into the same OUT (rc $rc)" $?
"$CLIPGRID" table out --format csv >tb.csv; "$CLIPGRID" table out --sweep a --format csv >ta.csv
"$CLIPGRID" table out --all --format csv >tall.csv
! grep -q EuroSAT tb.csv && grep -q DTD tb.csv && grep -q EuroSAT ta.csv && ! grep -q DTD ta.csv &&
  grep -q DTD tall.csv && grep -q EuroSAT tall.csv
check "table: default the last sweep (b), --sweep a, --all both" $?
"$CLIPGRID" status out | grep -q "cells: done 1 .* total 1" && "$CLIPGRID" status out --sweep a | grep -q "total 6" &&
  "$CLIPGRID" status out --all | grep -q "cells: done 7 .* total 7"
check "status: b 1 cell, --sweep a 6 cells, --all 7" $?
"$CLIPGRID" status out --sweep nosuch >/dev/null 2>st.err; rc=$?
[ "$rc" = 2 ] && grep -q "no sweep 'nosuch'.*sweeps: " st.err; check "status --sweep of an unknown sweep: error naming the sweeps (rc $rc)" $?
"$CLIPGRID" status outt >/dev/null 2>st.err; rc=$?; "$CLIPGRID" status . >/dev/null 2>>st.err; rc2=$?
[ "$rc" = 2 ] && [ "$rc2" = 2 ]; check "status on a path that is not an OUT: an error (rc $rc, $rc2)" $?

# ---- gc -------------------------------------------------------------------------------------------
n_before=$(ls out/runs/*.h5 | wc -l)
"$CLIPGRID" gc out --dry-run >gc1.out && "$CLIPGRID" gc out >gc2.out; rc=$?
n_after=$(ls out/runs/*.h5 | wc -l)
[ "$rc" = 0 ] && [ "$n_after" = 6 ] && grep -q "stale out/runs/$co1.h5" gc1.out && [ ! -e "out/runs/$co1.h5" ]
check "gc: lists and removes the stale runs ($n_before -> $n_after run files)" $?
"$CLIPGRID" table out --sweep a --format csv >ta2.csv; cmp -s ta.csv ta2.csv; check "gc: the table is unchanged" $?

# ---- SIGTERM, change lr, run again: the old checkpoint is not used -----------------------------------
sweep a 0.004 "overrides:
  - when: {method: coop, seed: 1}
    set: {epochs: 200, batch: 1}" >a.yaml
timeout 120 "$CLIPGRID" run a.yaml -o out --progress 1000 >t1.out 2>&1 &
job=$!
long=""
for i in $(seq 600); do long=$(tkey_of out base2new/coop/eurosat/shots2/seed1); [ -n "$long" ] && [ -f "out/ckpt/$long.h5" ] && break; sleep 0.05; done
kill -TERM $job; wait $job
[ -f "out/ckpt/$long.h5" ]; check "SIGTERM: the long run checkpointed" $?
sed -i 's/lr: 0.004/lr: 0.003/' a.yaml
run a.yaml t2.out; rc=$?
new=$(key_of out base2new/coop/eurosat/shots2/seed1); newt=$(tkey_of out base2new/coop/eurosat/shots2/seed1)
[ "$rc" = 0 ] && [ "$newt" != "$long" ] && ! grep -q "resumed from" "out/logs/$new.log" && [ -f "out/ckpt/$long.h5" ]
check "lr changed after SIGTERM: a new key, the old checkpoint not used (kept until gc) (rc $rc)" $?
lrmax=$(h5dump -d /curves/lr "out/runs/$new.h5" | sed -n 's/^ *([0-9]*): *//p' | tr ',' '\n' | sort -g | tail -1 | tr -d ' ')
h5dump -a /config "out/runs/$new.h5" | grep -q '"lr": 0.003' && [ "$lrmax" = 0.003 ]
check "the result's config (lr 0.003) and its curves (max lr $lrmax) agree" $?

# ---- SIGTERM and the same command: the resumed run's wall and train times add its segments ----------
# the long run made long enough (1000 epochs) that it is still training a second after its first
# checkpoint on a fast, quiet machine (with 200 it could finish before the signal)
sed 's/epochs: 200,/epochs: 1000,/' a.yaml >seg.yaml
grep -q 'epochs: 1000,' seg.yaml || echo "FAIL seg.yaml: the long run's epochs were not raised"
timeout 120 "$CLIPGRID" run seg.yaml -o seg --progress 1000 >seg1.out 2>&1 &
job=$!
k=""
for i in $(seq 600); do k=$(key_of seg base2new/coop/eurosat/shots2/seed1 2>/dev/null); t=$(tkey_of seg base2new/coop/eurosat/shots2/seed1 2>/dev/null); [ -n "$t" ] && [ -f "seg/ckpt/$t.h5" ] && break; sleep 0.05; done
# one SIGTERM to clipgrid itself: `timeout` forwards a signal it gets to its process group too,
# and clipgrid ends at once on a second SIGTERM while stopping (no segment recorded then)
sleep 1; kill -TERM $(pgrep -P $job) 2>/dev/null || kill -TERM $job; wait $job
timeout 120 "$CLIPGRID" run seg.yaml -o seg --progress 1000 >seg2.out 2>&1; rc=$?
attr() { h5dump -a "/$2" "$1" | sed -n 's/^ *(0): *//p'; }
w=$(attr "seg/runs/$k.h5" wall_seconds); g=$(attr "seg/runs/$k.h5" segments_wall_seconds)
grep -q "resumed from" "seg/logs/$k.log" && awk -v w="$w" -v g="$g" 'BEGIN { exit !(g > 0.5 && w > g) }'
check "resumed run: wall_seconds $w includes the earlier segment's $g s (rc $rc)" $?

# ---- no OUT lock (issue 16): a second run on the same OUT cooperates, flock is not needed -------------
CLIPGRID_NO_FLOCK=1 timeout 60 "$CLIPGRID" run a.yaml -o out >nf.out 2>&1; rc=$?
[ "$rc" = 0 ] && grep -q "0 to do" nf.out && [ ! -e out/.lock.d ] && ! grep -q "flock" nf.out
check "CLIPGRID_NO_FLOCK=1 (a file system without flock): the run goes on, no lock folder, no note (rc $rc)" $?
flock out/.lock sleep 5 & holder=$!
sleep 0.3
timeout 60 "$CLIPGRID" run a.yaml -o out >fl.out 2>&1; rc=$?
kill $holder 2>/dev/null; wait $holder 2>/dev/null
[ "$rc" = 0 ] && ! grep -q "another sweep is writing" fl.out; check "OUT/.lock held with flock (an older clipgrid): not a refusal any more (rc $rc)" $?
# gc still locks OUT (one gc at a time): with flock, or the lock folder where flock is missing
cp -r out gco
CLIPGRID_NO_FLOCK=1 timeout 60 "$CLIPGRID" gc gco >nf.out 2>&1; rc=$?
[ "$rc" = 0 ] && grep -q "does not support flock" nf.out && [ ! -e gco/.lock.d ]
check "gc, no flock: goes on with a lock folder, removed at the end (rc $rc)" $?
sleep 30 & holder=$!
mkdir gco/.lock.d; echo "host $(hostname) pid $holder" >gco/.lock.d/owner
CLIPGRID_NO_FLOCK=1 timeout 60 "$CLIPGRID" gc gco >nf2.out 2>&1; rc=$?
[ "$rc" = 1 ] && grep -q "is cleaning this output folder (held by host $(hostname) pid $holder" nf2.out
check "gc, no flock: a live holder of the lock folder is refused (rc $rc)" $?
kill $holder; wait $holder 2>/dev/null
CLIPGRID_NO_FLOCK=1 timeout 60 "$CLIPGRID" gc gco >nf3.out 2>&1; rc=$?
[ "$rc" = 0 ] && [ ! -e gco/.lock.d ]; check "gc, no flock: a lock folder left by a dead process is taken over (rc $rc)" $?
flock gco/.lock sleep 5 & holder=$!
sleep 0.3
timeout 60 "$CLIPGRID" gc gco >fl2.out 2>&1; rc=$?
kill $holder 2>/dev/null; wait $holder 2>/dev/null
[ "$rc" = 1 ] && grep -q "is cleaning this output folder" fl2.out; check "gc, with flock: a concurrent gc is refused (rc $rc)" $?
# two runs of the sweep on a new OUT, the second started while the first trains the long coop run:
# the second does the other runs and waits for the long one; each run done once
timeout 120 "$CLIPGRID" run a.yaml -o co --progress 1000 >co1.out 2>&1 & job=$!
kc=""
for i in $(seq 600); do kc=$(key_of co base2new/coop/eurosat/shots2/seed1 2>/dev/null); [ -n "$kc" ] && [ -f "co/claims/$kc.claim" ] && break; sleep 0.05; done
timeout 120 "$CLIPGRID" run a.yaml -o co --progress 1000 >co2.out 2>&1; rc2=$?
wait $job; rc1=$?
n1=$(sed -n 's/^\([0-9]*\) runs finished now.*/\1/p' co1.out); n2=$(sed -n 's/^\([0-9]*\) runs finished now.*/\1/p' co2.out)
starts=$(cat co/logs/*.log 2>/dev/null | grep -c '^== ')
[ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ $((${n1:-0} + ${n2:-0})) = 5 ] && [ "${n2:-0}" -ge 1 ] && [ "$starts" = 5 ] &&
  [ "$(ls co/runs/*.h5 | wc -l)" = 5 ] && [ -z "$(ls -A co/claims)" ]
check "a second run on an OUT while the first trains: both exit 0 (rc $rc1, $rc2), runs finished ${n1:-?} + ${n2:-?} = 5, $starts start lines, no claim left" $?
"$CLIPGRID" table co --format csv >tco.csv; "$CLIPGRID" table out --sweep a --format csv >tout.csv
cmp -s tco.csv tout.csv; check "the two runs' table equals that of the one-job OUT" $?

# ---- provenance -----------------------------------------------------------------------------------
[ "$(ls out/sweeps/a/sweep-*.yaml | wc -l)" -ge 3 ] && [ "$(wc -l <out/sweeps/a/history.tsv)" -ge 5 ] &&
  [ "$(ls out/console/*.log | wc -l)" -ge 7 ] && grep -q "5 runs" "$(ls out/console/*.log | head -1)"
check "provenance: every version of the sweep file, its history, a console log per run" $?
v=$("$CLIPGRID" --version); h5dump -a /program_version "out/runs/$new.h5" | grep -q "${v#clipgrid }" ||
  h5dump -a /program_version "out/runs/$new.h5" | grep -q "$(echo "$v" | awk '{print $2}')"
check "--version ($v) recorded in the run file" $?
sha=$(sha256sum tiny.safetensors | cut -c1-64)
h5dump -a /weights_sha256 "out/runs/$new.h5" | grep -q "$sha" && h5dump -a /n_train_images "out/runs/$new.h5" | grep -q "(0): 4"
check "the run file holds the weights' SHA-256 and the training images used (2 base classes x 2 shots)" $?

# ---- broken set-ups: one line naming the file or key, exit 2, nothing run ------------------------------
good() { sweep bad 0.002 "$1"; }
nb=0
broken() { # name, sweep file, expected text (grep -E)
  nb=$((nb+1))
  timeout 60 "$CLIPGRID" plan "$2" >/dev/null 2>pl.err; local rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l <pl.err)" = "${LINES_WANTED:-1}" ] && grep -qE "$3" pl.err && [ ! -d bad_out ]
  local ok=$?; check "broken $nb, $1: $(head -1 pl.err)" $ok
}
mk() { sed "s#^model: .*#model: {weights: ${W:-tiny.safetensors}${V:+, vocab: $V}}#; s#^data: .*#data: {root: ${R:-data}}#; s#^datasets: .*#datasets: [${D:-eurosat}]#; s#^setting: .*#setting: ${S:-base2new}#; s#^output: .*##" >"$1"; echo "output: bad_out" >>"$1"; }
good "" | R=nodata mk b1.yaml; broken "missing data.root" b1.yaml "b1.yaml:3:[0-9]+: data.root: no folder"
touch afile; good "" | R=afile mk b2.yaml; broken "data.root is a file" b2.yaml "b2.yaml:3:[0-9]+: data.root"
good "" | D=dtd,oxford_pets mk b3.yaml; broken "dataset folder missing" b3.yaml "b3.yaml:7:[0-9]+: datasets: no folder .*oxford_pets"
cp -r data data2; rm data2/dtd/split_zhou_DescribableTextures.json
good "" | R=data2 D=dtd mk b4.yaml; broken "split file missing" b4.yaml "DescribableTextures|dtd"
cp -r data data3; echo '{"train": [' >data3/dtd/split_zhou_DescribableTextures.json
good "" | R=data3 D=dtd mk b5.yaml; broken "split file corrupt" b5.yaml "split_zhou_DescribableTextures.json"
cp -r data data4; rm "$(find data4/dtd -name '*test_0001.jpg' | sort | head -1)"
good "" | R=data4 D=dtd mk b6.yaml; broken "a listed image missing" b6.yaml "test_0001.jpg: image listed by dataset dtd is missing"
good "" | S=cross_dataset D=eurosat mk b7.yaml; LINES_WANTED=10 broken "cross-dataset trains on imagenet: folder missing" b7.yaml "no folder .*imagenet"
"$CLIPGRID" synth data5 --layout imagenet,caltech101 --classes 4 --per-class 3 --test 2 --min-side 36 --max-side 40 >/dev/null
good "" | R=data5 S=cross_dataset D=imagenet mk b8.yaml; LINES_WANTED=9 broken "cross-dataset target missing" b8.yaml "setting cross_dataset evaluates on oxford_pets: no folder"
good "" | R=data5 S=domain_generalization D=imagenet mk b9.yaml; LINES_WANTED=4 broken "DG target missing" b9.yaml "setting domain_generalization evaluates on imagenetv2: no folder"
good "" | sed 's/^  cocoop: .*/  maple: {depth: 9, epochs: 1}/' | mk b10.yaml; broken "maple depth beyond the model" b10.yaml "b10.yaml:11:[0-9]+: maple: depth: 9 is beyond the model's 2 layers"
good "" | sed 's/^  cocoop: .*/  mmrl: {rep_layers: [1, 5], epochs: 1}/' | mk b11.yaml; broken "mmrl rep_layers out of range" b11.yaml "b11.yaml:11:[0-9]+: mmrl: rep_layers: layer 5 is outside 1..2"
good "" | sed 's/^  coop: .*/  coop@x: {n_ctx: 8}/' | mk b12.yaml; broken "n_ctx without effect beside ctx_init" b12.yaml "b12.yaml:10:[0-9]+: coop@x: n_ctx: 8 has no effect beside ctx_init"
good "" | W=no/such.safetensors mk b13.yaml; broken "weights file missing" b13.yaml "b13.yaml:2:[0-9]+: model.weights: cannot read 'no/such.safetensors'"
echo "not a safetensors file" >junk.safetensors
good "" | W=junk.safetensors mk b14.yaml; broken "weights file unreadable" b14.yaml "b14.yaml:2:[0-9]+: model.weights:"
good "" | V=no/vocab.txt.gz mk b15.yaml; broken "vocabulary missing" b15.yaml "b15.yaml:2:[0-9]+: model.vocab: cannot read"
good "" | sed 's/^  coop: .*/  coop: {epochs: 1}\n  coop@ctx8: {n_ctx: 8}/' | mk b16.yaml; broken "README variant from the base2new coop entry keeps ctx_init" b16.yaml "coop@ctx8: n_ctx: 8 has no effect"
cp -r data data6; img=$(find data6/dtd -name '*test_0001.jpg' | sort | head -1)
head -c 300 "$img" >trunc.jpg; cp trunc.jpg "$img"; nb=$((nb+1))
"$CLIPGRID" data verify data6/dtd --dataset dtd >ver.out 2>&1; rc=$?
[ "$rc" = 1 ] && [ "$(grep -c '^corrupt ' ver.out)" = 1 ] && grep -q "^corrupt test item .*test_0001.jpg: corrupt or truncated JPEG" ver.out &&
  grep -q "^test .* published 1692: DIFFERENT" ver.out
check "broken $nb, truncated JPEG found by data verify, split sizes compared with the published ones (rc $rc)" $?
"$CLIPGRID" data verify data/dtd --dataset dtd >ver2.out 2>&1
grep -q "decoded 32 images: 0 corrupt" ver2.out; check "data verify of an intact dataset: every image decodes" $?
[ "$nb" -ge 15 ]; check "at least 15 broken set-ups ($nb)" $?
timeout 60 "$CLIPGRID" run b6.yaml >/dev/null 2>run.err; rc=$?
[ "$rc" = 2 ] && [ ! -d bad_out/runs ] && grep -q "image listed by dataset dtd is missing" run.err; check "run: the same preflight, exit 2, nothing queued (rc $rc)" $?
timeout 60 "$CLIPGRID" plan b6.yaml --quick >/dev/null 2>&1; rc=$?
[ "$rc" = 0 ]; check "plan --quick skips the stat of every image (rc $rc)" $?
exit $fail
