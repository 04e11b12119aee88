#!/usr/bin/env bash
# tests/cli_export.sh — `clipgrid export` of the results of known values (build/tests/test_results
# --write): one CSV / JSON-lines row per run with every /index column, acc_<label> per evaluation
# set and cfg_<key> from the run's config; per-class rows with the class names; and, where
# /usr/bin/python3 has pandas and h5py, the documented one-liners: pandas.read_csv of the export,
# pandas.read_json(lines=True), and pd.DataFrame(f["index"][()]) with the byte columns decoded in
# one expression (results/SCHEMA.md "Reading it") giving str columns.
set -u
CLIPGRID="${CLIPGRID:-build/clipgrid}"
WRITER="${TEST_RESULTS:-build/tests/test_results}"
T=60
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
timeout $T "$WRITER" --write "$out" >/dev/null; check "test_results --write" $?

timeout $T "$CLIPGRID" export "$out" --format csv -o "$tmp/runs.csv"; rc=$?
[ "$rc" = 0 ] && [ "$(wc -l <"$tmp/runs.csv")" = 23 ]; check "csv: exit 0, 22 runs + header (rc $rc)" $?
head -n 1 "$tmp/runs.csv" | grep -q '^id,group,sweep,setting,dataset,method,variant,seed,shots,status,error,host,ranks,device,start_time,end_time,wall_seconds,train_seconds,eval_seconds,cost_estimate,n_params,steps,epochs,n_evals,base,new,hm,accuracy,acc_base,f1_base,acc_new,f1_new,cfg_n_ctx,cfg_ctx_init'
check "csv header: /index columns, then acc_/f1_ per set, cfg_ keys" $?
grep -q '^base2new/coop/caltech101/shots16/seed3,/runs/base2new_coop_caltech101_shots16_seed3,known,base2new,caltech101,coop,,3,16,done,,node07,2,cpu (4 threads),.*,94,85,89.2737[0-9]*,,94,93,85,84,4,a photo of a' "$tmp/runs.csv"
check "csv row: base 94, new 85, HM, acc_base/f1_base, cfg_n_ctx 4 (sweep: the grid's, known)" $?
# the rows of a sweep of OUT: the last run's by default (= --sweep known), --all every one; an
# unknown sweep is an error naming those OUT has
timeout $T "$CLIPGRID" export "$out" --format csv --sweep known >"$tmp/known.csv" &&
  timeout $T "$CLIPGRID" export "$out" --format csv --all >"$tmp/all.csv" &&
  cmp -s "$tmp/known.csv" "$tmp/runs.csv" && cmp -s "$tmp/all.csv" "$tmp/runs.csv"
check "--sweep known and --all (one sweep in OUT) give the default rows" $?
timeout $T "$CLIPGRID" export "$out" --format csv --sweep nosuch >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 1 ] && grep -q "nosuch" "$tmp/err" && grep -q "known" "$tmp/err"
check "--sweep nosuch: exit 1 naming the sweeps OUT has (rc $rc: $(head -c 160 "$tmp/err"))" $?
grep -q '^base2new/coop/dtd/shots16/seed4,.*,failed,NaN loss at epoch 3 (step 17),' "$tmp/runs.csv"; check "failed run with its error" $?

timeout $T "$CLIPGRID" export "$out" --format jsonl >"$tmp/runs.jsonl"; rc=$?
[ "$rc" = 0 ] && [ "$(wc -l <"$tmp/runs.jsonl")" = 22 ] &&
  grep -q '"id":"fewshot/coop/eurosat/shots16/seed2".*"accuracy":84.0.*"acc_test":84.0' "$tmp/runs.jsonl" &&
  grep -q '"base":null' "$tmp/runs.jsonl"
check "jsonl: 22 lines, accuracy 84 of fewshot EuroSAT 16 shots seed 2, NaN as null" $?

timeout $T "$CLIPGRID" export "$out" --format csv --per-class >"$tmp/pc.csv"; rc=$?
[ "$rc" = 0 ] && [ "$(wc -l <"$tmp/pc.csv")" = 139 ] && head -n 1 "$tmp/pc.csv" | grep -q '^id,setting,dataset,method,variant,seed,shots,label,class_index,class_name,accuracy$' &&
  grep -q '^base2new/coop/caltech101/shots16/seed1,base2new,caltech101,coop,,1,16,base,0,tabby cat,90$' "$tmp/pc.csv" &&
  grep -q '^base2new/coop/caltech101/shots16/seed1,base2new,caltech101,coop,,1,16,base,1,dog,$' "$tmp/pc.csv"
check "per-class: 46 sets x 3 classes, class names, NaN empty" $?

timeout $T "$CLIPGRID" export "$out" --format xlsx >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ]; check "unknown format: exit 2 (got $rc)" $?
timeout $T "$CLIPGRID" export "$out" >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ]; check "no --format: exit 2 (got $rc)" $?

PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c "import pandas, h5py" 2>/dev/null; then
  "$PY" - "$out/results.h5" "$tmp/runs.csv" "$tmp/runs.jsonl" <<'PYEOF'
import sys, h5py, pandas as pd
h5, csv, jsonl = sys.argv[1:]
# the one line of SCHEMA.md / README
with h5py.File(h5, "r") as f:
    index = pd.DataFrame(f["index"][()]).apply(lambda c: c.str.decode("utf-8") if c.dtype == object else c)
assert index.shape == (22, 29), index.shape  # with the run key column
assert all(isinstance(x, str) for x in index["id"]) and all(isinstance(x, str) for x in index["error"])
r = index[index.id == "base2new/coop/caltech101/shots16/seed3"].iloc[0]
assert r.method == "coop" and r.base == 94 and r.new == 85, r
with h5py.File(h5, "r") as f:
    names = f[r.group]["evals/base"].attrs["class_names"]
    assert [str(n) for n in names] == ["tabby cat", "dog", "bird"], names
runs = pd.read_csv(csv, keep_default_na=False, na_values=[""])
assert runs.shape[0] == 22 and runs["id"].map(type).eq(str).all()
assert (runs.set_index("id").loc["base2new/coop/caltech101/shots16/seed3", "acc_new"] == 85)
j = pd.read_json(jsonl, lines=True)
assert j.shape[0] == 22 and j["method"].map(type).eq(str).all()
print("pandas: /index", index.shape, "str columns; export csv", runs.shape, "jsonl", j.shape)
PYEOF
  check "pandas/h5py: one-line DataFrame of /index with str columns, read_csv, read_json" $?
else
  echo "SKIPPED pandas/h5py checks: /usr/bin/python3 lacks pandas or h5py (Debian python3-pandas, python3-h5py; the product needs no Python)"
fi
exit $fail
