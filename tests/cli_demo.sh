#!/usr/bin/env bash
# tests/cli_demo.sh — `clipgrid demo` end to end: it puts the shipped pretrained tiny model and
# the synthetic datasets in place, runs sweeps/demo.yaml (54 runs: 6 methods x 3 datasets x 3
# seeds) and prints the base-to-new table; a second call finds everything done and prints the
# same table. On that table, the papers' qualitative results that hold at this scale (README
# "The demo": measured values there; the margins asserted here are about half of them, since
# another CPU's BLAS kernels change the last bits and so the trajectories a little).
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

timeout $((600 * TS)) "$CLIPGRID" demo -o "$tmp/demo" --progress 1000 >"$tmp/out" 2>&1; rc=$?
check "demo: exit 0 (rc $rc)" $rc
[ -f "$tmp/demo/model/tiny.safetensors" ] && [ -d "$tmp/demo/data/eurosat" ] && [ -d "$tmp/demo/data/dtd" ] \
  && [ -d "$tmp/demo/data/oxford_pets" ]; check "demo: model and synthetic datasets made" $?
n=$(ls "$tmp/demo/out/runs" | grep -c '\.h5$')
[ "$n" = 48 ]; check "demo: 48 run files for 54 cells (zero-shot CLIP once per dataset) ($n)" $?
grep -q "^\[48/48\]" "$tmp/out"; check "demo: a line per finished run" $?
rows=$(grep -cE '^\| (EuroSAT|DTD|OxfordPets) +\| (CLIP|CoOp|CoCoOp|KgCoOp|MaPLe|MMRL) +\| 3 ' "$tmp/out")
[ "$rows" = 18 ]; check "demo: table rows for 3 datasets x 6 methods over 3 seeds ($rows)" $?
grep -qE '^\| Average \(3\) +\| MMRL ' "$tmp/out"; check "demo: average rows" $?
sed -n '/^| Dataset/,$p' "$tmp/out" >"$tmp/table1"
cmp -s "$tmp/demo/model/tiny.safetensors" demo/model/tiny.safetensors
check "demo: the shipped pretrained model was copied" $?

# the table's accuracy (first number of the Base or New cell) of a dataset row and method
acc() { # row-label method column(5 base, 6 new)
  awk -F'|' -v r="$1" -v m="$2" -v c="$3" '{d=$2; me=$3; gsub(/^ +| +$/, "", d); gsub(/^ +| +$/, "", me)}
    d == r && me == m {split($c, a, " "); print a[1]; exit}' "$tmp/table1"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 >= b + 0)}'; } # a >= b
avg="Average (3)"
zs_new=$(acc "$avg" CLIP 6); coop_new=$(acc "$avg" CoOp 6)
# zero-shot far above chance on every dataset (chance: 1 / classes of each half)
for dc in EuroSAT:20 DTD:33.33 OxfordPets:25; do
  d=${dc%%:*} chance=${dc#*:}
  b=$(acc "$d" CLIP 5); n=$(acc "$d" CLIP 6)
  ge "$b" "$(awk -v c="$chance" 'BEGIN {print c + 45}')" && ge "$n" "$(awk -v c="$chance" 'BEGIN {print c + 45}')"
  check "zero-shot $d: base $b, new $n >= chance $chance + 45" $?
done
# CoOp forgets new classes (the papers' first observation)
ge "$zs_new" "$(awk -v c="$coop_new" 'BEGIN {print c + 8}')"
check "CoOp new $coop_new <= zero-shot new $zs_new - 8" $?
# KgCoOp stays close to zero-shot on new classes, CoOp does not
kg_new=$(acc "$avg" KgCoOp 6)
read -r gkg gcoop < <(awk -v z="$zs_new" -v k="$kg_new" -v c="$coop_new" \
  'BEGIN {a = z - k; b = z - c; printf "%.2f %.2f\n", a < 0 ? -a : a, b < 0 ? -b : b}')
ge "$gcoop" "$(awk -v g="$gkg" 'BEGIN {print g + 8}')"
check "KgCoOp's new-class gap to zero-shot $gkg <= CoOp's $gcoop - 8" $?
# MaPLe and MMRL keep new-class accuracy better than CoOp; the three together on average
sum=0
for m in CoCoOp MaPLe MMRL; do
  n=$(acc "$avg" "$m" 6); sum=$(awk -v s="$sum" -v n="$n" 'BEGIN {print s + n}')
  [ "$m" = CoCoOp ] && continue
  ge "$n" "$(awk -v c="$coop_new" 'BEGIN {print c + 3}')"; check "$m new $n >= CoOp new $coop_new + 3" $?
done
mean=$(awk -v s="$sum" 'BEGIN {printf "%.2f", s / 3}')
ge "$mean" "$(awk -v c="$coop_new" 'BEGIN {print c + 2}')"
check "CoCoOp, MaPLe, MMRL mean new $mean >= CoOp new $coop_new + 2" $?
# not asserted: they do not hold at this scale (README "The demo" says why)
echo "     not asserted: CoOp base $(acc "$avg" CoOp 5) vs zero-shot base $(acc "$avg" CLIP 5);" \
     "CoCoOp new $(acc "$avg" CoCoOp 6) vs CoOp new $coop_new"

timeout $((120 * TS)) "$CLIPGRID" demo -o "$tmp/demo" --progress 1000 >"$tmp/out2" 2>&1; rc=$?
check "demo again: exit 0 (rc $rc)" $rc
grep -q "54 cells, 48 runs (6 cells share a run with another), 0 to do" "$tmp/out2"; check "demo again: nothing to redo" $?
sed -n '/^| Dataset/,$p' "$tmp/out2" >"$tmp/table2"
cmp -s "$tmp/table1" "$tmp/table2"; check "demo again: the same table" $?
"$CLIPGRID" demo --help | grep -q "usage: clipgrid demo"; check "demo --help" $?
"$CLIPGRID" run --help | grep -q "usage: clipgrid run"; check "run --help" $?
exit $fail
