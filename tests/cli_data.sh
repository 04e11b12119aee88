#!/usr/bin/env bash
# tests/cli_data.sh — `clipgrid synth` and `clipgrid data`: synthetic datasets in eight layouts
# read back by the real readers (classes, names, list sizes), the same files from the same seed,
# few-shot picks (count, order stable, base/new relabelling), --dump to HDF5 (shape, labels),
# --help, and bad input (non-JSON split file, unknown dataset) with exit status 1 and the file
# named. Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
CLIPGRID="${CLIPGRID:-build/clipgrid}"
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
tmp=$(mktemp -d /tmp/cli_data.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$CLIPGRID" synth --help | grep -q "usage: clipgrid synth"; check "synth --help" $?
"$CLIPGRID" data --help | grep -q "usage: clipgrid data"; check "data --help" $?

layouts=oxford_pets,stanford_cars,fgvc_aircraft,imagenet,imagenetv2,imagenet_sketch,imagenet_a,imagenet_r
"$CLIPGRID" synth "$tmp/a" --layout "$layouts" --classes 6 --seed 5 >/dev/null; check "synth 8 layouts" $?
"$CLIPGRID" synth "$tmp/b" --layout oxford_pets --classes 6 --seed 5 >/dev/null
diff -r "$tmp/a/oxford_pets" "$tmp/b/oxford_pets" >/dev/null; check "same seed, same files" $?
"$CLIPGRID" synth "$tmp/c" --layout oxford_pets --classes 6 --seed 6 >/dev/null
! diff -rq "$tmp/a/oxford_pets" "$tmp/c/oxford_pets" >/dev/null; check "other seed, other images" $?
[ "$(head -c 4 "$tmp/a/oxford_pets/images/red_circle/red_circle_train_0002.jpg" | tail -c 3)" = PNG ]
check "a PNG under a .jpg name" $?

out=$("$CLIPGRID" data "$tmp/a/oxford_pets" --dataset oxford_pets)
echo "$out" | grep -q "^classes 6$" && echo "$out" | grep -q "^  0 red circle$" &&
  echo "$out" | grep -q "^  5 orange cross$" && echo "$out" | grep -q "^train 48  val 12  test 24$"
check "data oxford_pets: classes, names, sizes" $?

for spec in "stanford_cars stanford_cars 6 48 12 24" "fgvc_aircraft fgvc_aircraft 6 48 12 24" \
            "imagenet imagenet 6 48 24 24" "imagenetv2 imagenetv2 6 24 0 24" \
            "imagenet-sketch imagenet_sketch 6 24 0 24" "imagenet-adversarial imagenet_a 3 12 0 12" \
            "imagenet-rendition imagenet_r 3 12 0 12"; do
  set -- $spec
  out=$("$CLIPGRID" data "$tmp/a/$1" --dataset "$2" 2>&1)
  echo "$out" | grep -q "^classes $3$" && echo "$out" | grep -q "^train $4  val $5  test $6$"
  check "data $2: $3 classes, $4/$5/$6" $?
done
out=$("$CLIPGRID" data "$tmp/a/imagenet-adversarial" --dataset imagenet_a)
echo "$out" | grep -q "^  1 blue triangle$"; check "imagenet_a: the even classes, names by wnid" $?

picks=$("$CLIPGRID" data "$tmp/a/oxford_pets" --dataset oxford_pets --shots 2 --seed 1)
again=$("$CLIPGRID" data "$tmp/a/oxford_pets" --dataset oxford_pets --shots 2 --seed 1)
[ "$picks" = "$again" ]; check "few-shot picks are stable" $?
n=$(echo "$picks" | grep -c "^$tmp/a/oxford_pets/images/.* [0-9]$")
[ "$n" = 12 ]; check "2 shots x 6 classes = 12 items ($n)" $?
other=$("$CLIPGRID" data "$tmp/a/oxford_pets" --dataset oxford_pets --shots 2 --seed 2)
[ "$picks" != "$other" ]; check "another seed, other picks" $?
new=$("$CLIPGRID" data "$tmp/a/oxford_pets" --dataset oxford_pets --shots 4 --seed 1 --subset new)
echo "$new" | grep -q "^classes 3$" && echo "$new" | grep -q "^  0 yellow star$" &&
  echo "$new" | grep -q "yellow_star_train_[0-9]*\.jpg 0$" && ! echo "$new" | grep -q "red_circle"
check "--subset new: 3 classes relabelled from 0" $?

# the picks of Python's random + Dassl's algorithm on the same split file
# (tests/reference/fewshot_split_ref.py → tests/data/fewshot_synth_expected.txt)
"$CLIPGRID" synth "$tmp/f" --classes 3 --per-class 90 --val 5 --test 1 --min-side 16 --max-side 24 \
  --seed 9 >/dev/null
for c in "16 1 all" "4 2 base" "1 3 new" "16 3 new" "8 7 all"; do
  set -- $c; echo "case $1 $2 $3"
  "$CLIPGRID" data "$tmp/f/oxford_pets" --dataset oxford_pets --shots $1 --seed $2 --subset $3 |
    grep "^/" | sed "s|^$tmp/f/oxford_pets/images/||"
done > "$tmp/picks.txt"
cmp -s "$tmp/picks.txt" tests/data/fewshot_synth_expected.txt
check "few-shot picks from a split file equal Python's (5 cases)" $?

"$CLIPGRID" data "$tmp/a/oxford_pets" --dataset oxford_pets --subset base --dump 5 "$tmp/d.h5" >/dev/null
check "--dump runs" $?
h5ls "$tmp/d.h5" | grep -q "images *Dataset {5, 3, 224, 224}" && h5ls "$tmp/d.h5" | grep -q "labels *Dataset {5}"
check "--dump: images {5, 3, 224, 224} and labels {5}" $?
[ "$(h5dump -d labels -y -w 0 "$tmp/d.h5" | grep -o '[0-9], *[0-9].*' | tr -d ' ')" = "0,0,0,0,1" ]
check "--dump labels (base subset, list order)" $?

echo "{not json" > "$tmp/a/oxford_pets/split_zhou_OxfordPets.json"
"$CLIPGRID" data "$tmp/a/oxford_pets" --dataset oxford_pets 2>"$tmp/err"; rc=$?
[ "$rc" = 1 ] && grep -q "split_zhou_OxfordPets.json: not valid JSON" "$tmp/err"
check "non-JSON split: exit 1 naming the file ($(cat "$tmp/err"))" $?
"$CLIPGRID" data "$tmp/a/oxford_pets" --dataset cifar10 2>"$tmp/err"; rc=$?
[ "$rc" = 1 ] && grep -q "unknown dataset 'cifar10'" "$tmp/err"; check "unknown dataset" $?
"$CLIPGRID" synth "$tmp/e" --layout nope 2>"$tmp/err"; rc=$?
[ "$rc" = 1 ] && grep -q "unknown layout 'nope'" "$tmp/err"; check "synth: unknown layout" $?
exit $fail
