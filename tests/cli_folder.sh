#!/usr/bin/env bash
# tests/cli_folder.sh — issue 14 end to end at demo size: a user's dataset of kind `folder`
# (train/<class>/, test/<class>/, val/, classnames.txt, a template) runs through base2new and
# fewshot; the ImageNet few-shot run takes Dassl's cache (tests/data/dassl) and its run file
# records the cache and its SHA-256; the tiny model is an exact-GELU one with 32-wide heads
# whose metadata the sweep's model keys give; `clipgrid convert` and `model-info` on a .pt;
# `clipgrid data --shots` compares a Dassl cache with clipgrid's sampling.
set -u
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
REPO="$PWD"
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a folder dataset from a synthetic ImageNet layout: images/train -> train, images/val -> test
"$CLIPGRID" synth "$tmp/syn" --layout imagenet --classes 6 --per-class 8 --test 3 --seed 5 \
  --min-side 40 --max-side 64 >/dev/null 2>&1
f="$tmp/data/shapes"
mkdir -p "$f" && cp -r "$tmp/syn/imagenet/images/train" "$f/train" && cp -r "$tmp/syn/imagenet/images/val" "$f/test"
mkdir -p "$f/val" && for c in "$f"/train/*; do mkdir -p "$f/val/$(basename "$c")"; done
for c in "$f"/train/*; do ls "$c" | head -1 | while read -r x; do mv "$c/$x" "$f/val/$(basename "$c")/"; done; done
cp "$tmp/syn/imagenet/classnames.txt" "$f/classnames.txt"
touch "$f/train/$(ls "$f/train" | head -1)/notes.txt"   # not an image: skipped
"$CLIPGRID" data "$f" --dataset folder >"$tmp/data.out" 2>&1; rc=$?
check "data --dataset folder: exit 0 (rc $rc)" $rc
grep -q "^classes 6" "$tmp/data.out" && grep -q "train 42  val 6  test 18" "$tmp/data.out"
check "folder dataset: 6 classes, train 42 / val 6 / test 18 ($(grep '^train' "$tmp/data.out"))" $?
first=$(ls "$f/train" | head -1); name=$(grep "^$first " "$f/classnames.txt" | cut -d' ' -f2-)
grep -q "^  0 $name\$" "$tmp/data.out"; check "folder dataset: label 0 = first folder in sorted order, named by classnames.txt ($name)" $?

# the model: exact GELU, 32-wide heads; the file's own metadata would say so, so strip it by
# converting (convert keeps tensors only) and let the sweep's keys say it
"$CLIPGRID" make-model "$tmp/m.safetensors" --vision-width 64 --vision-layers 2 --patch 16 \
  --image-res 32 --text-width 64 --text-layers 2 --embed 64 --activation gelu \
  --vision-heads 2 --text-heads 2 --seed 3 >/dev/null
"$CLIPGRID" model-info "$tmp/m.safetensors" | grep -q "clip.activation = gelu"
check "make-model --activation gelu: in the file's metadata" $?
"$CLIPGRID" convert "$tmp/m.safetensors" "$tmp/bare.safetensors" >/dev/null
"$CLIPGRID" model-info "$tmp/bare.safetensors" >"$tmp/mi" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "set \`model: {activation: quick_gelu | gelu}\`" "$tmp/mi"
check "model without metadata and non-OpenAI shapes: refused naming the key (rc $rc)" $?
"$CLIPGRID" model-info "$REPO/tests/data/arch/gelu64/model_jit.pt" >"$tmp/mi" 2>&1
grep -q "^mlp act   gelu" "$tmp/mi" && grep -q "open_clip_config.json" "$tmp/mi"
check "model-info on a TorchScript .pt: activation and where it came from" $?

cat >"$tmp/s.yaml" <<EOF
name: folder
model:   {weights: $tmp/bare.safetensors, activation: gelu, head_width: 32}
data:
  root: $tmp/data
  fewshot_dir: $REPO/tests/data/dassl
  folders:
    shapes: {path: shapes, template: "a picture of a {}."}
output:  $tmp/out
setting: [base2new, fewshot]
shots:   2
seeds:   [1]
datasets: [shapes]
methods:
  zsclip: {}
  coop:   {ctx_init: "a photo of", epochs: 2, batch: 4, lr: 0.002}
threads: 1
loader_threads: 1
EOF
timeout 300 "$CLIPGRID" run "$tmp/s.yaml" --progress 1000 >"$tmp/run.out" 2>&1; rc=$?
[ "$rc" = 0 ] || tail -n 5 "$tmp/run.out"
check "folder sweep (base2new + fewshot): exit 0 (rc $rc)" $rc
n=$(ls "$tmp/out/runs" 2>/dev/null | grep -c '\.h5$')
[ "$n" = 4 ]; check "folder sweep: 4 run files ($n)" $?
for r in "$tmp"/out/runs/*.h5; do
  h5dump -a /status "$r" | grep -q '"done"' || { echo "not done: $r"; false; }
done; check "folder sweep: every run done" $?
grep -q "coop" "$tmp/run.out" && "$CLIPGRID" table "$tmp/out" >"$tmp/table" 2>&1 && grep -qi "shapes" "$tmp/table"
check "folder sweep: table lists the folder dataset" $?

# ImageNet few-shot from Dassl's cache: the run file says so
cat >"$tmp/i.yaml" <<EOF
name: dasslcache
model:   {weights: $tmp/bare.safetensors, activation: gelu, head_width: 32}
data:    {root: $REPO/tests/data/dassl}
output:  $tmp/iout
setting: fewshot
shots:   2
seeds:   [1]
datasets: [imagenet]
methods:
  coop:   {ctx_init: "a photo of", epochs: 1, batch: 4, lr: 0.002}
threads: 1
loader_threads: 1
EOF
timeout 300 "$CLIPGRID" run "$tmp/i.yaml" --progress 1000 >"$tmp/irun.out" 2>&1; rc=$?
[ "$rc" = 0 ] || tail -n 5 "$tmp/irun.out"
check "imagenet fewshot with Dassl's cache: exit 0 (rc $rc)" $rc
r=$(ls "$tmp"/iout/runs/*.h5 2>/dev/null | head -1)
h5dump -a /fewshot_source "$r" 2>/dev/null | grep -q "cache .*imagenet/split_fewshot/shot_2-seed_1.pkl" \
  && h5dump -a /fewshot_sha256 "$r" | grep -q e43a39a6f11745ebdf770cc9b51f62a8d724052f74c20b8b3bddb43731aa0f75
check "run file records the cache file and its sha256" $?

"$CLIPGRID" data "$REPO/tests/data/dassl/imagenet" --dataset imagenet --shots 4 --seed 3 >"$tmp/d" 2>&1
grep -q "clipgrid's own sampling (shots 4, seed 3) differs from the cache" "$tmp/d"
check "data --shots: ImageNet cache differs from clipgrid's sampling" $?
"$CLIPGRID" data "$REPO/tests/data/dassl/oxford_pets" --dataset oxford_pets --shots 16 --seed 3 >"$tmp/d" 2>&1
grep -q "clipgrid's own sampling (shots 16, seed 3) equals the cache" "$tmp/d"
check "data --shots: OxfordPets cache equals clipgrid's sampling" $?

"$CLIPGRID" convert "$REPO/tests/data/arch/gelu64/model_jit.pt" "$tmp/jit.safetensors" >/dev/null 2>&1 \
  && "$CLIPGRID" convert "$REPO/tests/data/torch_bad/reduce_os_system.pt" "$tmp/x.safetensors" 2>"$tmp/err"
[ $? = 1 ] && grep -q "posix.system' is not allowed" "$tmp/err" && [ ! -e "$tmp/x.safetensors" ]
check "convert: TorchScript archive converted; a malicious pickle refused, nothing written" $?
exit $fail
