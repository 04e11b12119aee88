#!/usr/bin/env bash
# tests/cli_plot.sh — `clipgrid plot`:
#   1. the results of known values (build/tests/test_results --write): every figure written as PNG,
#      SVG, PDF and CSV; the plotted numbers (the CSV beside each figure) equal the table's for
#      base2new, fewshot and cross_dataset, with the default spread and with --ci t / --std sample;
#      per-class figures carry the class names, sorted; --mean-only drops the error bars;
#   2. an OUT with failed runs and missing seeds (build/tests/test_stats --write-gaps): no crash,
#      the failed runs with their errors and the missing seeds are listed;
#   3. every figure kind for the demo OUT (`clipgrid demo`), a fewshot OUT and a cross_dataset OUT
#      (small sweeps on synthetic data with the demo's tiny model);
#   4. option errors.
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
WRITER="${TEST_RESULTS:-build/tests/test_results}"
STATS="${TEST_STATS:-build/tests/test_stats}"
T=120
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fig.csv table.csv DATASET_DISPLAY KIND: every number of the table's rows for that dataset
# (KIND b2n: base/new/hm columns; fewshot: shots<k> columns; xd: every <key>_mean column) equals
# the figure's value for (method, group or x) within 5e-5, and the spread too where seeds > 1
same_numbers() {
  awk -F, -v ds="$3" -v kind="$4" '
    function norm(t) { t = tolower(t); gsub(/[^a-z0-9]/, "", t); return t }
    NR == FNR { if (FNR > 1) { v[$2 "|" $3] = $5; s[$2 "|" $3] = $6; g[$2 "|" norm($4)] = $5; gs[$2 "|" norm($4)] = $6 } next }
    FNR == 1 { for (i = 1; i <= NF; i++) col[i] = $i; next }
    $2 == ds {
      for (i = 5; i <= NF; i++) {
        if (col[i] !~ /_mean$/ || $i == "") continue
        key = substr(col[i], 1, length(col[i]) - 5)
        if (kind == "fewshot") { sub(/^shots/, "", key); k = $3 "|" sprintf("%.6f", key); val = v[k]; spr = s[k] }
        else { k = $3 "|" norm(key); val = g[k]; spr = gs[k] }
        checked++
        if (val == "" || (val - $i) > 5e-5 || ($i - val) > 5e-5) { print "  mismatch " ds " " $3 " " col[i] ": table " $i ", figure " val; bad++ }
        if ($4 > 1 && $(i + 1) != "" && spr != "" && ((spr - $(i + 1)) > 5e-5 || ($(i + 1) - spr) > 5e-5)) { print "  spread mismatch " ds " " $3 " " col[i] ": table " $(i + 1) ", figure " spr; bad++ }
      }
    }
    END { print "  " ds ": " checked + 0 " numbers checked"; exit (bad || !checked) }' "$1" "$2"
}

echo "-- 1. known values"
out="$tmp/known"
timeout $T "$WRITER" --write "$out" >/dev/null; check "test_results --write" $?
timeout $T "$CLIPGRID" plot "$out" >"$tmp/plot.out" 2>&1; rc=$?
sed 's/^/     /' "$tmp/plot.out" | head -12
[ "$rc" = 0 ]; check "plot: exit 0 (got $rc)" $?
figs=$(sed -n 's/^  \(b2n\|fewshot\|transfer\|curves\|perclass\|cost\) *//p' "$tmp/plot.out")
n=$(printf '%s\n' "$figs" | grep -c .)
bad=0
for f in $figs; do
  d="$out/figures/$f"
  [ -s "$d.csv" ] && head -c 8 "$d.png" | grep -q PNG && grep -q "<svg" "$d.svg" && head -c 5 "$d.pdf" | grep -q "%PDF" || { echo "  incomplete: $f"; bad=1; }
done
[ "$n" -ge 40 ] && [ "$bad" = 0 ]; check "$n figures, each as PNG, SVG, PDF and CSV" $?
for k in b2n fewshot transfer curves perclass cost; do
  printf '%s\n' "$figs" | grep -q "^${k}_\|^cost$" || { [ $k = transfer ] && printf '%s\n' "$figs" | grep -q "^xd_"; } || { echo "  no $k figure"; bad=1; }
done
[ "$bad" = 0 ]; check "every kind: b2n, fewshot, transfer, curves, perclass, cost" $?

timeout $T "$CLIPGRID" table "$out" --format csv --setting base2new >"$tmp/b2n.csv"
timeout $T "$CLIPGRID" table "$out" --format csv --setting fewshot >"$tmp/fs.csv"
timeout $T "$CLIPGRID" table "$out" --format csv --setting cross_dataset >"$tmp/xd.csv"
same_numbers "$out/figures/b2n_caltech101.csv" "$tmp/b2n.csv" Caltech101 b2n &&
  same_numbers "$out/figures/b2n_dtd.csv" "$tmp/b2n.csv" DTD b2n &&
  same_numbers "$out/figures/b2n_average.csv" "$tmp/b2n.csv" "Average (2)" b2n
check "base2new figures = table (means, std, HM, average)" $?
same_numbers "$out/figures/fewshot_eurosat.csv" "$tmp/fs.csv" EuroSAT fewshot &&
  same_numbers "$out/figures/fewshot_dtd.csv" "$tmp/fs.csv" DTD fewshot &&
  same_numbers "$out/figures/fewshot_average.csv" "$tmp/fs.csv" "Average (2)" fewshot
check "fewshot figures = table" $?
tail -n +2 "$tmp/xd.csv" | cut -d, -f2 | sort -u >"$tmp/methods"
ok=0
while read -r m; do
  # the transfer CSV has no dataset column: add one (X) so the columns line up with the others
  awk -F, -v m="$m" 'NR == 1 { $1 = $1 ",dataset"; print } NR > 1 && $2 == m { $1 = $1 ",X"; print }' OFS=, "$tmp/xd.csv" >"$tmp/xd_$m.csv"
  same_numbers "$out/figures/xd_imagenet.csv" "$tmp/xd_$m.csv" X xd || ok=1
done <"$tmp/methods"
[ "$ok" = 0 ]; check "cross_dataset figure = table (source, targets, target avg)" $?
grep -q '^,CoOp,0.000000,Base,92.000000,1.632993$' "$out/figures/b2n_caltech101.csv"
check "b2n CSV row: CoOp base 92 ± 1.632993 (population std)" $?

timeout $T "$CLIPGRID" plot "$out" -o "$tmp/t" --kinds b2n --format svg --ci t >/dev/null
timeout $T "$CLIPGRID" table "$out" --format csv --setting base2new --ci t >"$tmp/b2n_t.csv"
grep -q '^,CoOp,0.000000,Base,92.000000,4.968275$' "$tmp/t/b2n_caltech101.csv" &&
  same_numbers "$tmp/t/b2n_caltech101.csv" "$tmp/b2n_t.csv" Caltech101 b2n
check "--ci t: error bar t(0.975, 2)·2/√3 = 4.968275, as the table's" $?
timeout $T "$CLIPGRID" plot "$out" -o "$tmp/s" --kinds b2n --format png --std sample >/dev/null
grep -q '^,CoOp,0.000000,Base,92.000000,2.000000$' "$tmp/s/b2n_caltech101.csv"
check "--std sample: error bar 2.0" $?
timeout $T "$CLIPGRID" plot "$out" -o "$tmp/m" --kinds b2n --format png --mean-only >/dev/null
grep -q '^,CoOp,0.000000,Base,92.000000,$' "$tmp/m/b2n_caltech101.csv"
check "--mean-only: no error bars" $?
pc="$out/figures/perclass_base2new_caltech101_coop_s16_base.csv"
[ "$(sed -n 2p "$pc" | cut -d, -f4,5)" = "tabby cat,92.000000" ] && [ "$(sed -n 3p "$pc" | cut -d, -f4,5)" = "bird,46.000000" ] &&
  [ "$(wc -l <"$pc")" = 3 ]
check "per-class: class names, sorted, mean over seeds; the class without images has no bar" $?
grep -q "failed run base2new/coop/dtd/shots16/seed4: NaN loss at epoch 3 (step 17)" "$tmp/plot.out"
check "the failed run and its error are listed" $?

echo "-- 2. failed runs and missing seeds"
gaps="$tmp/gaps"
timeout $T "$STATS" --write-gaps "$gaps" >/dev/null; check "test_stats --write-gaps" $?
timeout $T "$CLIPGRID" plot "$gaps" >"$tmp/gaps.out" 2>&1; rc=$?
sed 's/^/     /' "$tmp/gaps.out" | grep -A20 missing
[ "$rc" = 0 ]; check "plot with gaps: exit 0 (got $rc)" $?
grep -q "failed run base2new/coop/caltech101/shots16/seed2: bad image file caltech101/x.jpg" "$tmp/gaps.out" &&
  grep -q "failed run fewshot/coop/eurosat/shots4/seed1: NaN loss at epoch 1 (step 3)" "$tmp/gaps.out"
check "both failed runs listed with their errors" $?
grep -q "base2new caltech101 coop shots 16, base: seed 2 missing (2 of 3 seeds)" "$tmp/gaps.out" &&
  grep -q "base2new caltech101 maple shots 16, new: seeds 2,3 missing (1 of 3 seeds)" "$tmp/gaps.out"
check "missing seeds named per cell" $?
[ -s "$gaps/figures/b2n_caltech101.png" ]; check "the figures of what is there are drawn" $?

echo "-- 3. every kind for the demo OUT, a fewshot OUT and a cross_dataset OUT"
timeout 900 "$CLIPGRID" demo -o "$tmp/demo" --progress 1000 >"$tmp/demo.log" 2>&1; check "demo ran" $?
timeout $T "$CLIPGRID" plot "$tmp/demo/out" --format png,svg,pdf >"$tmp/demo.out" 2>&1; rc=$?
n=$(grep -cE '^  (b2n|curves|perclass|cost) ' "$tmp/demo.out")
grep -q '^  b2n       b2n_average' "$tmp/demo.out" && grep -q '^  curves ' "$tmp/demo.out" &&
  grep -q '^  perclass ' "$tmp/demo.out" && grep -q '^  cost ' "$tmp/demo.out" && [ "$rc" = 0 ]
check "demo OUT: b2n, curves, perclass and cost figures ($n)" $?
pc=$(ls "$tmp/demo/out/figures"/perclass_base2new_eurosat_coop_s8_base.csv 2>/dev/null)
[ -n "$pc" ] && grep -qE '^,mean of 3 seeds,[0-9.]+,[a-z]+ [a-z]+' "$pc"
check "demo per-class figure names the synthetic classes (e.g. 'red circle')" $?
cat >"$tmp/fewshot.yaml" <<YAML
name: fewshot_demo
model:   {weights: $tmp/demo/model/tiny.safetensors}
data:    {root: $tmp/demo/data}
setting: fewshot
shots:   [1, 2]
seeds:   [1, 2]
datasets: [eurosat, dtd]
methods:
  zsclip: {template: "a photo of a {}."}
  coop:   {n_ctx: 4, ctx_init: "a photo of a", epochs: 3, batch: 4, lr: 0.002}
threads: 1
loader_threads: 1
YAML
timeout 600 "$CLIPGRID" run "$tmp/fewshot.yaml" -o "$tmp/fs" --progress 1000 >"$tmp/fs.log" 2>&1; check "fewshot sweep ran" $?
timeout $T "$CLIPGRID" plot "$tmp/fs" >"$tmp/fsplot.out" 2>&1; rc=$?
grep -q '^  fewshot   fewshot_average' "$tmp/fsplot.out" && grep -q '^  fewshot   fewshot_eurosat' "$tmp/fsplot.out" &&
  grep -q '^  curves ' "$tmp/fsplot.out" && grep -q '^  perclass ' "$tmp/fsplot.out" && [ "$rc" = 0 ]
check "fewshot OUT: fewshot (per dataset and average), curves, perclass, cost" $?
grep -q '^,CLIP (zero-shot),' "$tmp/fs/figures/fewshot_eurosat.csv"; check "zero-shot CLIP as a level line" $?
# CLIP is drawn as one level line (its zero-shot accuracy), not per shot: compare the trained methods
timeout $T "$CLIPGRID" table "$tmp/fs" --format csv | grep -v ',CLIP,' >"$tmp/fs_table.csv"
same_numbers "$tmp/fs/figures/fewshot_dtd.csv" "$tmp/fs_table.csv" DTD fewshot >/dev/null &&
  same_numbers "$tmp/fs/figures/fewshot_average.csv" "$tmp/fs_table.csv" "Average (2)" fewshot >/dev/null
check "fewshot OUT: figure numbers = table" $?
timeout $T "$CLIPGRID" synth "$tmp/xdata" --layout imagenet,caltech101,oxford_pets,stanford_cars,oxford_flowers,food101,fgvc_aircraft,sun397,dtd,eurosat,ucf101 \
  --classes 4 --per-class 4 --val 1 --test 2 --min-side 48 --max-side 64 >/dev/null 2>&1
cat >"$tmp/xd.yaml" <<YAML
name: xd_demo
model:   {weights: $tmp/demo/model/tiny.safetensors}
data:    {root: $tmp/xdata}
setting: cross_dataset
shots:   2
seeds:   [1, 2]
datasets: [imagenet]
methods:
  zsclip: {template: "a photo of a {}."}
  coop:   {n_ctx: 4, ctx_init: "a photo of a", epochs: 1, batch: 4, lr: 0.002}
threads: 1
loader_threads: 1
YAML
timeout 600 "$CLIPGRID" run "$tmp/xd.yaml" -o "$tmp/xd" --progress 1000 >"$tmp/xd.log" 2>&1; check "cross_dataset sweep ran" $?
timeout $T "$CLIPGRID" plot "$tmp/xd" --format png >"$tmp/xdplot.out" 2>&1; rc=$?
grep -q '^  transfer  xd_imagenet' "$tmp/xdplot.out" && [ "$rc" = 0 ] && [ "$(wc -l <"$tmp/xd/figures/xd_imagenet.csv")" = 25 ]
check "cross_dataset OUT: source + 10 targets + target avg for 2 methods" $?

echo "-- 4. errors"
timeout $T "$CLIPGRID" plot "$out" --kinds histogram >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q histogram "$tmp/err"; check "unknown kind: exit 2 (got $rc)" $?
timeout $T "$CLIPGRID" plot "$out" --mean-only --ci z >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "contradicts" "$tmp/err"; check "--mean-only --ci z: exit 2 (got $rc)" $?
timeout $T "$CLIPGRID" plot "$tmp/none" >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 1 ]; check "missing OUT: exit 1 (got $rc)" $?
timeout $T "$CLIPGRID" plot --help | grep -q "usage: clipgrid plot"; check "plot --help" $?
exit $fail
