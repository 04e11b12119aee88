#!/usr/bin/env bash
# tests/cli_pretrain.sh — `clipgrid pretrain` at a very small size (a few seconds): the captions
# (vocabulary, held-out compositions), a loss curve that falls on the synthetic pairs, the
# written model (readable, with the rebuilding command in its metadata), the same bits from the
# same command on the same and on another thread count, and bad options.
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# captions: the template, the vocabulary, and none of the demo classes' colour-shape pairs
timeout 60 "$CLIPGRID" pretrain --show 400 >"$tmp/captions"; rc=$?
check "pretrain --show: exit 0 (rc $rc)" $rc
n=$(grep -cE '^a photo of a ((small|large) )?((striped|dotted) )?(red|green|blue|yellow|purple|orange|cyan|pink|brown|black) (circle|square|triangle|star|ring|cross|diamond|crescent)( on the left| on the right| in the middle)?\.$' "$tmp/captions")
[ "$n" = 400 ]; check "captions: 400 of 400 in the caption grammar ($n)" $?
for w in small large striped dotted "on the left" "on the right" "in the middle"; do
  grep -q "$w" "$tmp/captions"; check "captions: '$w' occurs" $?
done
held="red circle|green square|blue triangle|yellow star|purple ring|orange cross|cyan diamond|pink crescent|brown circle|black square|red star|green ring"
! grep -qE "($held)" "$tmp/captions"; check "captions: no held-out class (the demo's 12) appears" $?
timeout 60 "$CLIPGRID" pretrain --show 400 --holdout 0 | grep -qE "($held)"
check "captions: --holdout 0 shows them" $?

# a tiny model learns: the mean loss of the last 25 steps well under the first 10's
small="--batch 16 --vision-width 64 --text-width 64 --embed 32 --vision-layers 1 --text-layers 1 --lr 1e-3"
timeout 300 "$CLIPGRID" pretrain "$tmp/m.safetensors" --steps 150 --warmup 15 $small --threads 2 \
  --every 50 --log "$tmp/curve.csv" >"$tmp/out" 2>&1; rc=$?
check "pretrain 150 steps: exit 0 (rc $rc)" $rc
[ "$(wc -l <"$tmp/curve.csv")" = 151 ]; check "loss curve: a CSV row per step" $?
read -r first last < <(awk -F, 'NR>1 && NR<=11 {a+=$3} NR>126 {b+=$3} END {printf "%.4f %.4f\n", a/10, b/25}' "$tmp/curve.csv")
echo "     mean loss: first 10 steps $first, last 25 steps $last (ln 16 = 2.7726)"
awk -v f="$first" -v l="$last" 'BEGIN {exit !(l < 0.8 * f && l < 2.7726 - 0.3)}'
check "loss curve falls: last 25 < 0.8 x first 10 and < ln 16 - 0.3" $?
"$CLIPGRID" model-info "$tmp/m.safetensors" >"$tmp/info" 2>&1; rc=$?
check "model-info reads the pretrained model (rc $rc)" $rc
grep -q "clipgrid.pretrain.command = clipgrid pretrain" "$tmp/info"; check "metadata: the command" $?

# the same command gives the same bits (run in two folders: the file name is in the metadata)
mkdir -p "$tmp/a" "$tmp/b"
(cd "$tmp/a" && timeout 120 "$CLIPGRID" pretrain m.safetensors --steps 8 --warmup 2 $small --threads 2 >/dev/null 2>&1)
(cd "$tmp/b" && timeout 120 "$CLIPGRID" pretrain m.safetensors --steps 8 --warmup 2 $small --threads 2 >/dev/null 2>&1)
cmp -s "$tmp/a/m.safetensors" "$tmp/b/m.safetensors"; check "same command, same threads: identical files" $?
# ... and on another thread count (kernels/cpu: no sum depends on the number of threads); at
# batch 32 with the demo's 3 blocks per tower, so every product is large enough to be tiled
mkdir -p "$tmp/t1" "$tmp/t2"
wide="--batch 32 --vision-width 64 --text-width 64 --embed 64 --lr 1e-3"
(cd "$tmp/t1" && timeout 120 "$CLIPGRID" pretrain m.safetensors --steps 4 --warmup 1 $wide --threads 1 >/dev/null 2>&1)
(cd "$tmp/t2" && timeout 120 "$CLIPGRID" pretrain m.safetensors --steps 4 --warmup 1 $wide --threads 2 >/dev/null 2>&1)
[ -s "$tmp/t1/m.safetensors" ] && cmp -s "$tmp/t1/m.safetensors" "$tmp/t2/m.safetensors"
check "same command on 1 and 2 threads: identical files" $?

# bad options
"$CLIPGRID" pretrain "$tmp/x.safetensors" --batch 1 >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "contrastive batch" "$tmp/err"; check "--batch 1 refused (rc $rc)" $?
"$CLIPGRID" pretrain --steps 10 >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "no output file" "$tmp/err"; check "no output file refused (rc $rc)" $?
"$CLIPGRID" pretrain x.safetensors --lr abc >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "\-\-lr: invalid value 'abc'" "$tmp/err"; check "--lr abc refused (rc $rc)" $?
"$CLIPGRID" pretrain --help | grep -q "usage: clipgrid pretrain"; check "pretrain --help" $?
exit $fail
