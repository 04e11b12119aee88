#!/usr/bin/env bash
# tests/cli_demo.sh — `clipgrid demo` end to end: it makes the tiny model and the synthetic
# datasets, runs sweeps/demo.yaml (54 runs: 6 methods x 3 datasets x 3 seeds) and prints the
# base-to-new table; a second call finds everything done and prints the same table.
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

timeout $((120 * TS)) "$CLIPGRID" demo -o "$tmp/demo" --progress 1000 >"$tmp/out2" 2>&1; rc=$?
check "demo again: exit 0 (rc $rc)" $rc
grep -q "54 cells, 48 runs (6 cells share a run with another), 0 to do" "$tmp/out2"; check "demo again: nothing to redo" $?
sed -n '/^| Dataset/,$p' "$tmp/out2" >"$tmp/table2"
cmp -s "$tmp/table1" "$tmp/table2"; check "demo again: the same table" $?
"$CLIPGRID" demo --help | grep -q "usage: clipgrid demo"; check "demo --help" $?
"$CLIPGRID" run --help | grep -q "usage: clipgrid run"; check "run --help" $?
exit $fail
