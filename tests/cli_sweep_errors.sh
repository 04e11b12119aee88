#!/usr/bin/env bash
# tests/cli_sweep_errors.sh — malformed sweep files (tests/data/sweeps_bad/*.yaml): `clipgrid
# plan` answers each with exactly one line "FILE:LINE:COLUMN: message" and exit status 2. The
# first line of every bad file says what is expected: "# expect: LINE:COLUMN: message start".
# Also: the shipped sweeps parse, and a good sweep plans with exit status 0.
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
TS="${TIMEOUT_SCALE:-1}"  # run_tests.sh sets it under SANITIZE=1 (ASan makes runs slower)
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a real (tiny) weights file so that only the intended error is found
"$CLIPGRID" make-model "$tmp/tiny.safetensors" --vision-width 64 --vision-layers 1 --patch 16 \
  --image-res 32 --text-width 64 --text-layers 1 --embed 32 >/dev/null || { echo "FAIL make-model"; exit 1; }

n=0
for f in tests/data/sweeps_bad/*.yaml; do
  n=$((n+1))
  want=$(sed -n '1s/^# expect: //p' "$f")
  (cd "$tmp" && "$CLIPGRID" plan "$OLDPWD/$f" >"$tmp/out" 2>"$tmp/err"); rc=$?
  lines=$(wc -l <"$tmp/err")
  msg=$(cat "$tmp/err")
  [ "$rc" = 2 ] && [ "$lines" = 1 ] && [ ! -s "$tmp/out" ] && case "$msg" in
    "$PWD/$f:$want"*) true ;; *) false ;; esac
  ok=$?; check "$(basename "$f"): rc $rc: $msg" $ok
done
[ "$n" -ge 20 ]; check "at least 20 malformed sweeps ($n)" $?

for f in sweeps/*.yaml; do
  [ -f "$f" ] || continue
  # the shipped sweeps name models/ViT-B-16.safetensors and demo/model/tiny.safetensors
  mkdir -p "$tmp/models" "$tmp/demo/model"
  ln -sf "$tmp/tiny.safetensors" "$tmp/models/ViT-B-16.safetensors"
  ln -sf "$tmp/tiny.safetensors" "$tmp/demo/model/tiny.safetensors"
  out=$(cd "$tmp" && "$CLIPGRID" plan "$OLDPWD/$f" --ranks 8 --no-data 2>&1)
  case "$out" in "sweep "*) true ;; *) false ;; esac
  ok=$?; check "$f plans ($(echo "$out" | head -1))" $ok
done

# `run` answers the same way (every rank; rank 0 prints), and checks the dataset folders too
f=tests/data/sweeps_bad/09_unknown_method.yaml
(cd "$tmp" && timeout $((60 * TS)) "$CLIPGRID" run "$OLDPWD/$f" -o "$tmp/o" >"$tmp/out" 2>"$tmp/err"); rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^$PWD/$f:8:3: methods: unknown method" "$tmp/err"
ok=$?; check "run: bad sweep: rc $rc: $(cat "$tmp/err")" $ok
mkdir -p "$tmp/data/eurosat"
cat >"$tmp/nodata.yaml" <<YAML
name: nodata
model: {weights: $tmp/tiny.safetensors}
data: {root: $tmp/data}
setting: base2new
datasets: [eurosat, dtd]
methods: {zsclip: {}}
YAML
timeout $((60 * TS)) "$CLIPGRID" run "$tmp/nodata.yaml" -o "$tmp/o" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "^$tmp/nodata.yaml:5:21: datasets: no folder '$tmp/data/dtd' for dataset dtd" "$tmp/err"
ok=$?; check "run: missing dataset folder: rc $rc: $(cat "$tmp/err")" $ok

# the shipped sweeps resolve to the published configurations (defaults, method keys, overrides)
cfg() { # sweep, run id, "key": value …  — every pair present in the resolved configuration
  local j; j=$(cd "$tmp" && "$CLIPGRID" plan "$OLDPWD/sweeps/$1" --config "$2" | tr -d ' \n'); shift 2
  for kv in "$@"; do case "$j" in *"$kv"[,}]*) ;; *) echo "  missing $kv" >&2; return 1 ;; esac; done
}
cfg base2new.yaml base2new/coop/imagenet/shots16/seed1 '"epochs":50' '"ranks":4' '"n_ctx":4'
check "base2new: coop on imagenet 50 epochs on 4 ranks" $?
cfg base2new.yaml base2new/coop/caltech101/shots16/seed2 '"epochs":200' '"ranks":1' '"batch":32' '"lr":0.002'
check "base2new: coop elsewhere 200 epochs, batch 32, lr 0.002" $?
cfg base2new.yaml base2new/mmrl/eurosat/shots16/seed1 '"rep_dim":2048' '"reg_weight":0.01' '"optim":"adamw"' '"batch":4'
check "base2new: mmrl on eurosat rep_dim 2048, reg_weight 0.01" $?
cfg base2new.yaml base2new/mmrl/imagenet/shots16/seed1 '"batch":32' '"epochs":5' '"reg_weight":0.5'
check "base2new: mmrl on imagenet batch 32, 5 epochs" $?
cfg base2new.yaml base2new/maple/dtd/shots16/seed3 '"depth":9' '"n_ctx":2' '"epochs":5' '"batch":4' '"lr":0.0035'
check "base2new: maple depth 9, 2 ctx, 5 epochs, batch 4, lr 0.0035" $?
cfg base2new.yaml base2new/cocoop/dtd/shots16/seed3 '"epochs":10' '"batch":1'
check "base2new: cocoop 10 epochs, batch 1" $?
cfg fewshot.yaml fewshot/coop/dtd/shots1/seed1 '"epochs":50' '"n_ctx":16' '"ctx_init":""'
check "fewshot: coop 1 shot 50 epochs, 16 random ctx" $?
cfg fewshot.yaml fewshot/coop/dtd/shots4/seed1 '"epochs":100' && cfg fewshot.yaml fewshot/coop/dtd/shots16/seed1 '"epochs":200' \
  && cfg fewshot.yaml fewshot/coop/imagenet/shots16/seed1 '"epochs":50'
check "fewshot: coop 4 shots 100 epochs, 16 shots 200, imagenet 50" $?
cfg fewshot.yaml fewshot/mmrl/dtd/shots8/seed1 '"epochs":50' '"batch":32'
check "fewshot: mmrl 50 epochs, batch 32" $?
cfg cross_dataset.yaml cross_dataset/maple/imagenet/shots16/seed1 '"depth":3' '"epochs":2' '"lr":0.0026' '"ranks":4'
check "cross_dataset: maple depth 3, 2 epochs, lr 0.0026" $?
cfg domain_generalization.yaml domain_generalization/mmrl/imagenet/shots16/seed2 '"epochs":1' '"warmup_epochs":0' '"reg_weight":0.2'
check "domain_generalization: mmrl 1 epoch, no warm-up, reg_weight 0.2" $?

cat >"$tmp/good.yaml" <<YAML
name: good
model: {weights: $tmp/tiny.safetensors}
data: {root: $tmp/nodata}
setting: [base2new, fewshot]
shots: [1, 4]
seeds: [1, 2]
datasets: [eurosat, imagenet]
methods:
  zsclip: {}
  coop: {n_ctx: 4, epochs: 2}
  coop@ctx8: {n_ctx: 8, ctx_init: "", precision: fp32}
overrides:
  - when: {dataset: imagenet}
    set: {ranks: 2}
  - when: {dataset: imagenet, method: zsclip}
    set: {precision: fp16}
precision: bf16
YAML
# the products' precision: the sweep's for every method, a variant's own, an override's
prec() { "$CLIPGRID" plan "$tmp/good.yaml" --config "$1" | tr -d ' \n' | grep -o '"precision":"[a-z0-9]*"'; }
[ "$(prec base2new/coop/eurosat/shots1/seed1)" = '"precision":"bf16"' ] &&
  [ "$(prec base2new/coop@ctx8/eurosat/shots1/seed1)" = '"precision":"fp32"' ] &&
  [ "$(prec base2new/zsclip/imagenet/shots1/seed1)" = '"precision":"fp16"' ] &&
  [ "$(prec base2new/zsclip/eurosat/shots1/seed1)" = '"precision":"bf16"' ]
check "precision: sweep bf16, variant fp32, override fp16" $?
out=$("$CLIPGRID" plan "$tmp/good.yaml" --ranks 3 -o "$tmp/out" --no-data); rc=$?
[ "$rc" = 0 ]; check "good sweep: exit 0" $?
nruns=$(echo "$out" | grep -c "shots")
[ "$nruns" = 48 ]; check "good sweep: 2 settings x 2 datasets x 3 methods x 2 shots x 2 seeds = 48 runs ($nruns)" $?
echo "$out" | grep -qE "base2new/coop@ctx8/imagenet/shots4/seed2 +[0-9a-f]{20} +2 " ; check "variant id, imagenet on 2 ranks" $?
echo "$out" | grep "fewshot/coop/eurosat/shots1/seed1 " | grep -q " 1 " ; check "eurosat on 1 rank" $?
first=$(echo "$out" | sed -n '3p')
case "$first" in *imagenet*) true ;; *) false ;; esac; ok=$?; check "largest (imagenet) first: $first" $ok
# the cost model of runner/grid.h by hand for this model (d 64, mlp 256, 1 layer per tower,
# 2x2 patches of 16 px + class token, text 12 (+ n_ctx) tokens) with eurosat's published sizes
# (10 classes, 8,100 test images; no data folder): image = 1·(2·5·(4·64²+2·64·256) + 4·5²·64)
# + 2·4·3·16²·64 = 891,136; text(12) = 2·12·49,152 + 4·144·64 = 1,216,512; text(16) = 1,638,400
# zsclip fewshot: 8100·image + 10·text(12) = 7.230 GFLOP; coop fewshot, 1 shot, 2 epochs, batch
# 32: 2·(10·image + 2·10·text(16)) + 8100·image + 10·text(16) = 7.318 GFLOP
echo "$out" | grep -qE "fewshot/zsclip/eurosat/shots1/seed1 +[0-9a-f]{20} +1 +7\.23 GFLOP "; ok=$?
check "cost model: zsclip $(echo "$out" | grep "fewshot/zsclip/eurosat/shots1/seed1 " | awk '{print $5}') GFLOP (7.23)" $ok
echo "$out" | grep -qE "fewshot/coop/eurosat/shots1/seed1 +[0-9a-f]{20} +1 +7\.32 GFLOP "; ok=$?
check "cost model: coop $(echo "$out" | grep "fewshot/coop/eurosat/shots1/seed1 " | awk '{print $5}') GFLOP (7.32)" $ok
"$CLIPGRID" plan --help | grep -q "usage: clipgrid plan"; check "plan --help" $?
exit $fail
