#!/usr/bin/env bash
# tests/cli_table.sh — `clipgrid table` and `clipgrid status` on a results folder of known values
# (written by `build/tests/test_results --write DIR`: base2new, fewshot, cross_dataset and
# domain_generalization runs, one failed run, grid.json with pending cells, a live-then-dead
# marker), the option errors, and the results file read by h5dump and by h5py/pandas (the
# schema's promise; skipped with a message where /usr/bin/python3 has no h5py).
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
CLIPGRID="${CLIPGRID:-build/clipgrid}"
WRITER="${TEST_RESULTS:-build/tests/test_results}"
T=$((60 * ${TIMEOUT_SCALE:-1}))  # TIMEOUT_SCALE: set by run_tests.sh under SANITIZE=1
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
has() { # text, fixed string
  printf '%s\n' "$1" | grep -qF -- "$2"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
h5="$out/results.h5"

timeout $T "$WRITER" --write "$out" >/dev/null
check "test_results --write made $h5" $?

echo "-- 1. table, Markdown (default): every setting"
md=$(timeout $T "$CLIPGRID" table "$h5"); rc=$?
echo "$md" | sed 's/^/     /'
[ "$rc" = 0 ]; check "exit 0 (got $rc)" $?
row=$(printf '%s\n' "$md" | grep '^| Caltech101 *| CoOp')
has "$row" "92.00 ± 1.63" && has "$row" "72.00 ± 10.23" && has "$row" "80.78 |"
check "base2new Caltech101 CoOp: 92.00 ± 1.63, 72.00 ± 10.23, HM 80.78" $?
row=$(printf '%s\n' "$md" | grep '^| Average (2) *| CoOp *| – *| *86.00 ')
has "$row" "62.00 |" && has "$row" "72.05 |"
check "base2new average row: 86.00, 62.00, HM 72.05" $?
has "$md" "1 failed run not included"; check "failed run noted" $?
row=$(printf '%s\n' "$md" | grep '^| EuroSAT *| CoOp')
has "$row" "55.00 ± 5.00" && has "$row" "82.00 ± 2.00"; check "fewshot EuroSAT 1 and 16 shots" $?
row=$(printf '%s\n' "$md" | grep '^| MaPLe')
has "$row" "70.72" && has "$row" "62.69 |"; check "cross-dataset MaPLe row, target avg 62.69" $?
has "$md" "| ImageNet-Sketch"; check "domain generalisation header" $?

echo "-- 2. --format csv --setting base2new"
csv=$(timeout $T "$CLIPGRID" table "$h5" --format csv --setting base2new); rc=$?
echo "$csv" | sed 's/^/     /'
[ "$rc" = 0 ] && [ "$(printf '%s\n' "$csv" | head -n 1)" = \
  "setting,dataset,method,seeds,base_mean,base_std,new_mean,new_std,hm_mean,hm_std" ]
check "csv header" $?
has "$csv" "base2new,DTD,CoOp,3,80.0000,0.0000,52.0000,1.6330,63.0303,"; check "csv DTD CoOp row" $?
[ "$(printf '%s\n' "$csv" | wc -l)" = 7 ]; check "csv: header + 6 rows, no notes" $?

a=$(timeout $T "$CLIPGRID" table "$out" --format csv --setting fewshot)
b=$(timeout $T "$CLIPGRID" table "$h5" --format csv --setting fewshot)
[ -n "$a" ] && [ "$a" = "$b" ]; check "the OUT folder instead of OUT/results.h5" $?

echo "-- 3. --format tex --setting domain_generalization --mean-only"
tex=$(timeout $T "$CLIPGRID" table "$h5" --format=tex --setting=domain_generalization --mean-only); rc=$?
echo "$tex" | sed 's/^/     /'
[ "$rc" = 0 ] && has "$tex" 'CoOp & 2 & 71.00 & 64.50 & 48.00 & 50.00 & 75.50 & 59.50 \\'
check "tex DG row, means only" $?

echo "-- 3b. statistics options: --std sample, --ci t, contradictions"
row=$(timeout $T "$CLIPGRID" table "$h5" --setting base2new --std sample | grep '^| Caltech101 *| CoOp')
has "$row" "92.00 ± 2.00" && has "$row" "72.00 ± 12.53"; check "--std sample: 2.00 and 12.53 (ddof 1)" $?
out_t=$(timeout $T "$CLIPGRID" table "$h5" --setting base2new --ci t)
has "$out_t" "92.00 ± 4.97" && has "$out_t" "t(0.975, n−1)"; check "--ci t: 4.97, named in the title" $?
csv_m=$(timeout $T "$CLIPGRID" table "$h5" --setting base2new --format csv --mean-only | head -n 1)
[ "$csv_m" = "setting,dataset,method,seeds,base_mean,new_mean,hm_mean" ]; check "--mean-only CSV: no std columns" $?
for bad in "--mean-only --std sample" "--mean-only --ci z" "--ci t --std population" "--ci95 --ci t" "--std median"; do
  timeout $T "$CLIPGRID" table "$h5" $bad >/dev/null 2>"$tmp/err"; rc=$?
  [ "$rc" = 2 ] && [ -s "$tmp/err" ]; check "table $bad: exit 2 with a message (got $rc: $(head -c 90 "$tmp/err"))" $?
done

echo "-- 4. errors: exit 2 for usage, 1 for an unreadable file"
timeout $T "$CLIPGRID" table "$h5" --format xml >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "xml" "$tmp/err"; check "unknown format: exit 2 (got $rc), names it" $?
timeout $T "$CLIPGRID" table "$h5" --setting zeroshot >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "zeroshot" "$tmp/err"; check "unknown setting: exit 2 (got $rc)" $?
timeout $T "$CLIPGRID" table "$tmp/none.h5" >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 1 ] && grep -qF "$tmp/none.h5" "$tmp/err"; check "missing file: exit 1 (got $rc), names it" $?
timeout $T "$CLIPGRID" table --help | grep -q "usage: clipgrid table"; check "table --help" $?

echo "-- 5. status"
st=$(timeout $T "$CLIPGRID" status "$h5"); rc=$?
echo "$st" | sed 's/^/     /'
[ "$rc" = 0 ]; check "status exit 0 (got $rc)" $?
# the writer's marker process has exited: both markers are stale, so 4 cells are pending
has "$st" "done 21   running 0   failed 1   pending 4   total 26"; check "status counts" $?
has "$st" "base2new/coop/dtd/shots16/seed4: NaN loss at epoch 3 (step 17)"; check "failed run and reason" $?
has "$st" "STALE"; check "stale markers shown" $?
timeout $T "$CLIPGRID" status "$tmp/none/results.h5" >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ]; check "status of a missing folder (not an output folder): exit 2 (got $rc)" $?

echo "-- 6. h5dump reads results.h5"
if command -v h5dump >/dev/null; then
  timeout $T h5dump -H "$h5" >/dev/null; check "h5dump -H exit 0" $?
  timeout $T h5dump -d /index "$h5" | grep -q '"base2new/coop/caltech101/shots16/seed1"'
  check "h5dump -d /index shows a run id" $?
else
  echo "SKIP h5dump: not installed"
fi

echo "-- 7. h5py (and pandas) read /index and /evals in one call"
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c "import h5py" 2>/dev/null; then
  "$PY" - "$h5" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    ix, ev = f["/index"][()], f["/evals"][()]
    assert len(ix) == 22 and len(ev) == 46, (len(ix), len(ev))
    ids = [x.decode() for x in ix["id"]]
    r = ids.index("base2new/coop/caltech101/shots16/seed3")
    assert ix["base"][r] == 94 and ix["new"][r] == 85, ix[r]
    assert f[ix["group"][r].decode()].attrs["status"] == "done"
    assert list(f[ix["group"][r].decode()]["curves/loss"][()]) == [2.0, 1.0, 2.0 / 3]
    fail = [i for i in range(len(ix)) if ix["status"][i] == b"failed"]
    assert len(fail) == 1 and ix["error"][fail[0]].decode() == "NaN loss at epoch 3 (step 17)"
    sel = (ev["method"] == b"coop") & (ev["dataset"] == b"caltech101") & (ev["label"] == b"base")
    assert abs(ev["accuracy"][sel].mean() - 92) < 1e-12 and abs(ev["accuracy"][sel].std() - (8 / 3) ** 0.5) < 1e-12
try:
    import pandas as pd
except ImportError:
    print("SKIP pandas: not installed (h5py checks passed)")
else:
    with h5py.File(sys.argv[1], "r") as f:
        df = pd.DataFrame(f["/index"][()])
    assert df.shape[0] == 22 and "hm" in df.columns
    print("pandas: /index as a DataFrame of", df.shape)
EOF
  check "h5py reads /index, /evals and the run groups" $?
else
  echo "SKIP h5py: /usr/bin/python3 with h5py not found (the product needs no Python)"
fi

exit $fail
