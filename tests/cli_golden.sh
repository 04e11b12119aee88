#!/usr/bin/env bash
# tests/cli_golden.sh — `clipgrid golden`: the official zero-shot fixture, a second zero-shot
# fixture with another model, sizes, class names and template (tests/data/zs_other.h5, made by
# tests/reference/zs_fixture_ref.py), the official CoOp and CoCoOp fixtures and two more made with
# that other model by tests/reference/methods_fixture_ref.py (class-specific context with the class
# token in the middle; CoCoOp with random context), MaPLe and MMRL fixtures with that model and
# other depths and layers (tests/reference/methods_deep_fixture_ref.py), a tampered fixture that must fail on exactly
# one tensor, and the failure paths (missing fixture, missing model file).
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid) and $SHARED the
# shared folder (default ../shared). Steps that need $SHARED/fixtures/official say SKIP without it.
set -u
CLIPGRID="${CLIPGRID:-build/clipgrid}"
SHARED="${SHARED:-../shared}"
OFFICIAL="$SHARED/fixtures/official"
T=$((300 * ${TIMEOUT_SCALE:-1}))   # seconds per command  # TIMEOUT_SCALE: set by run_tests.sh under SANITIZE=1
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the make-model call that gives the model of tests/data/zs_other.h5 (its /config model_file)
make_other_model() {
  timeout $T "$CLIPGRID" make-model "$1/zs_other_model.safetensors" --vision-width 192 \
    --vision-layers 3 --patch 8 --image-res 48 --text-width 128 --text-layers 3 --embed 96 \
    --seed 5 --dtype f32 >/dev/null
}

# runs golden on $@; sets rc and out (stdout and stderr together)
golden() {
  out=$(timeout $T "$CLIPGRID" golden "$@" 2>&1); rc=$?
}

echo "-- 1. official zero-shot fixture (tiny768, 5 classes, 32x32): exit 0, 8 tensors, 0 failed"
if [ -f "$OFFICIAL/zsclip.h5" ] && [ -f "$OFFICIAL/tiny768.safetensors" ]; then
  golden "$OFFICIAL/zsclip.h5"
  echo "$out" | sed 's/^/     /'
  [ "$rc" = 0 ]; check "zsclip.h5: exit status 0 (got $rc)" $?
  echo "$out" | grep -q "^8 passed, 0 failed$"; check "zsclip.h5: 8 passed, 0 failed" $?
else
  echo "SKIP zsclip.h5: $OFFICIAL not found"
fi

echo "-- 2. tests/data/zs_other.h5 (make-model seed 5: vision 192x3, patch 8, 48x48; text 128x3;"
echo "      embed 96; 7 classes, UCF101 template): exit 0, 8 tensors, 0 failed"
mkdir -p "$tmp/other"
make_other_model "$tmp/other"; check "make-model for zs_other.h5 (exit $?)" $?
cp tests/data/zs_other.h5 "$tmp/other/"
golden "$tmp/other/zs_other.h5"
echo "$out" | sed 's/^/     /'
[ "$rc" = 0 ]; check "zs_other.h5: exit status 0 (got $rc)" $?
echo "$out" | grep -q "^8 passed, 0 failed$"; check "zs_other.h5: 8 passed, 0 failed" $?
echo "$out" | grep -q "inputs/tokenized_prompts .*7 classes, 0 ids differ .*ok"
check "zs_other.h5: our tokenizer gives the fixture's 7 prompts" $?

echo "-- 2c. tests/data/coop_other.h5 (CSC, class token in the middle, 3 random vectors) and"
echo "      cocoop_other.h5 (2 random vectors, meta-net 96-6-128), the zs_other model and class names,"
echo "      batch 3 / test 5 (made by tests/reference/methods_fixture_ref.py): exit 0, 0 failed"
cp tests/data/coop_other.h5 tests/data/cocoop_other.h5 "$tmp/other/"
for fx in coop_other:14 cocoop_other:32; do
  name=${fx%%:*}; count=${fx##*:}
  golden "$tmp/other/$name.h5"
  echo "$out" | sed 's/^/     /'
  [ "$rc" = 0 ] && echo "$out" | grep -q "^$count passed, 0 failed$"
  check "$name.h5: exit $rc, $(echo "$out" | tail -n 1) (expected $count passed)" $?
done

echo "-- 2c'. the same CoOp / CoCoOp runs with reduced-precision products (coop_{bf16,fp16,tf32}.h5,"
echo "      cocoop_bf16.h5 from tests/reference/precision_ref.py): every dataset within 3 x its"
echo "      p_noise_rel; computed in bf16 against the fp16 reference, they fail; a bad name is refused"
cp tests/data/coop_bf16.h5 tests/data/coop_fp16.h5 tests/data/coop_tf32.h5 tests/data/cocoop_bf16.h5 "$tmp/other/"
for fx in coop_bf16:14 coop_fp16:14 coop_tf32:14 cocoop_bf16:32; do
  name=${fx%%:*}; count=${fx##*:}
  golden "$tmp/other/$name.h5"
  echo "$out" | grep -v " ok$" | sed 's/^/     /'
  [ "$rc" = 0 ] && echo "$out" | grep -q "^$count passed, 0 failed$" &&
    echo "$out" | grep -q "products in ${name#*_}: each dataset within 3 x its p_noise_rel"
  check "$name.h5: exit $rc, $(echo "$out" | tail -n 1) (expected $count passed)" $?
done
golden --precision bf16 "$tmp/other/coop_fp16.h5"
nfail=$(echo "$out" | grep -c "FAIL")
[ "$rc" = 1 ] && [ "$nfail" -ge 5 ] && echo "$out" | grep -q "step0/image_features .*FAIL"
check "coop_fp16.h5 computed in bf16: exit $rc, $nfail datasets fail (image features among them)" $?
golden --precision fp8 "$tmp/other/coop_fp16.h5"
[ "$rc" = 1 ] && echo "$out" | grep -q "precision 'fp8' must be fp32, tf32, bf16 or fp16"
check "--precision fp8 refused: exit $rc" $?

echo "-- 2d. tests/data/maple_other.h5 (n_ctx 2 from \"a photo of a\", prompt depth 3, couplings 128->192)"
echo "      and mmrl_other.h5 (rep_layers [2, 3], 3 tokens, rep_dim 64), the zs_other model, batch 3 / test 2,"
echo "      large tensors as digests (made by tests/reference/methods_deep_fixture_ref.py): exit 0, 0 failed"
cp tests/data/maple_other.h5 tests/data/mmrl_other.h5 "$tmp/other/"
for fx in maple_other:108 mmrl_other:169; do
  name=${fx%%:*}; count=${fx##*:}
  golden "$tmp/other/$name.h5"
  echo "$out" | sed 's/^/     /'
  [ "$rc" = 0 ] && echo "$out" | grep -q "^$count passed, 0 failed$"
  check "$name.h5: exit $rc, $(echo "$out" | tail -n 1) (expected $count passed)" $?
done

echo "-- 2b. both fixtures in one call (the model is reloaded when model_file changes)"
if [ -f "$OFFICIAL/zsclip.h5" ] && [ -f "$OFFICIAL/tiny768.safetensors" ]; then
  golden "$OFFICIAL/zsclip.h5" "$tmp/other/zs_other.h5" "$OFFICIAL/zsclip.h5"
  [ "$rc" = 0 ] && echo "$out" | grep -q "^24 passed, 0 failed$"
  check "zsclip, zs_other, zsclip: exit $rc, $(echo "$out" | tail -n 1)" $?
else
  echo "SKIP two fixtures: $OFFICIAL not found"
fi

echo "-- 3. a missing fixture: non-zero exit, the message names the file"
missing="$tmp/no_such_fixture.h5"
golden "$missing"
echo "$out" | sed 's/^/     /'
[ "$rc" != 0 ] && [ "$rc" -lt 124 ]; check "missing fixture: failure exit status (got $rc)" $?
echo "$out" | grep -F "$missing" | grep -q FAIL; check "missing fixture: a FAIL line names $missing" $?

echo "-- 4. the CoOp, CoCoOp and KgCoOp fixtures: exit 0, every tensor within tolerance"
for fx in coop_ctx4_init:14 coop_ctx16_rand:14 cocoop:32 kgcoop:17; do
  name=${fx%%:*}; count=${fx##*:}
  if [ -f "$OFFICIAL/$name.h5" ] && [ -f "$OFFICIAL/tiny768.safetensors" ]; then
    golden "$OFFICIAL/$name.h5"
    echo "$out" | sed 's/^/     /'
    [ "$rc" = 0 ]; check "$name.h5: exit status 0 (got $rc)" $?
    echo "$out" | grep -q "^$count passed, 0 failed$"; check "$name.h5: $count passed, 0 failed" $?
  else
    echo "SKIP $name.h5: $OFFICIAL not found"
  fi
done

echo "-- 4b. a tampered CoOp fixture (params_after_step1 replaced by step 2's, with h5copy):"
echo "       exit 1, that tensor FAILs and every other check passes"
if [ -f "$OFFICIAL/coop_ctx4_init.h5" ] && [ -f "$OFFICIAL/tiny768.safetensors" ] && command -v h5copy >/dev/null; then
  mkdir -p "$tmp/tampered"
  ln -s "$(cd "$OFFICIAL" && pwd)/tiny768.safetensors" "$tmp/tampered/tiny768.safetensors"
  f="$tmp/tampered/coop_tampered.h5"
  ok=0
  for g in /config /inputs /init /step0 /eval /steps/losses /steps/lr_per_step /steps/params_after_step2 /steps/params_after_step3; do
    h5copy -p -i "$OFFICIAL/coop_ctx4_init.h5" -o "$f" -s "$g" -d "$g" || ok=1
  done
  h5copy -p -i "$OFFICIAL/coop_ctx4_init.h5" -o "$f" -s /steps/params_after_step2 -d /steps/params_after_step1 || ok=1
  [ "$ok" = 0 ]; check "h5copy made the tampered fixture" $?
  golden "$f"
  echo "$out" | sed 's/^/     /'
  [ "$rc" = 1 ]; check "tampered: exit status 1 (got $rc)" $?
  echo "$out" | grep -q "^13 passed, 1 failed$"; check "tampered: 13 passed, 1 failed" $?
  echo "$out" | grep "params_after_step1/prompt_learner.ctx" | grep -q FAIL
  check "tampered: the FAIL line names params_after_step1/prompt_learner.ctx" $?
else
  echo "SKIP tampered fixture: $OFFICIAL or h5copy not found"
fi

echo "-- 5. a fixture whose model file is missing: non-zero exit, the message names the model path"
mkdir -p "$tmp/nomodel"
cp tests/data/zs_other.h5 "$tmp/nomodel/"
golden "$tmp/nomodel/zs_other.h5"
echo "$out" | sed 's/^/     /'
[ "$rc" != 0 ] && [ "$rc" -lt 124 ]; check "missing model: failure exit status (got $rc)" $?
echo "$out" | grep -F "$tmp/nomodel/zs_other_model.safetensors" | grep -q FAIL
check "missing model: a FAIL line names $tmp/nomodel/zs_other_model.safetensors" $?

exit $fail
