#!/usr/bin/env bash
# tests/cli_compare.sh — `clipgrid compare` on two OUTs of known differences (written by
# build/tests/test_stats --write-compare A B): exactly the cells that differ beyond the seed noise
# are flagged — base2new DTD CoOp base (+5 on every seed: paired noise 0), DTD CoOp HM (per-seed
# HMs +1.60…1.82: paired t half-width 0.30) and fewshot EuroSAT CoOp (+30 over other seeds:
# unpaired, Welch t half-width 1.52) — and not DTD new (+0.27 against 0.52), Caltech101 base
# (+1 against 8.96), new (identical), HM, or fewshot DTD (differences +1 and −1). With --ci z
# (population std: the narrower interval) DTD new is flagged too. Markdown and CSV; errors.
set -u
CLIPGRID="${CLIPGRID:-build/clipgrid}"
STATS="${TEST_STATS:-build/tests/test_stats}"
T=60
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
timeout $T "$STATS" --write-compare "$tmp/a" "$tmp/b" >/dev/null; check "test_stats --write-compare" $?

csv=$(timeout $T "$CLIPGRID" compare "$tmp/a" "$tmp/b" --format csv); rc=$?
printf '%s\n' "$csv" | sed 's/^/     /'
[ "$rc" = 0 ]; check "compare --format csv: exit 0 (got $rc)" $?
flagged=$(printf '%s\n' "$csv" | awk -F, '$NF == 1 { print $1 "/" $2 "/" $6 }' | sort | tr '\n' ' ')
[ "$flagged" = "base2new/dtd/HM base2new/dtd/base fewshot/eurosat/accuracy " ]
check "flagged exactly: base2new dtd base and HM, fewshot eurosat (got: $flagged)" $?
[ "$(printf '%s\n' "$csv" | wc -l)" = 9 ]; check "8 cells + header" $?
printf '%s\n' "$csv" | grep -q '^base2new,dtd,coop,,16,base,3,3,81.0000,86.0000,5.0000,0.0000,paired,1$' &&
  printf '%s\n' "$csv" | grep -q '^base2new,dtd,coop,,16,new,3,3,52.0000,52.2667,0.2667,0.5171,paired,0$' &&
  printf '%s\n' "$csv" | grep -q '^fewshot,eurosat,coop,,1,accuracy,2,2,50.2500,80.2500,30.0000,1.5212,unpaired,1$'
check "means, difference, t noise (paired 0.5171 = 4.3027·0.2082/√3; Welch 1.5212)" $?

z=$(timeout $T "$CLIPGRID" compare "$tmp/a" "$tmp/b" --format csv --ci z | awk -F, '$NF == 1 { print $2 "/" $6 }' | sort | tr '\n' ' ')
[ "$z" = "dtd/HM dtd/base dtd/new eurosat/accuracy " ]; check "--ci z (population std) also flags DTD new (got: $z)" $?

md=$(timeout $T "$CLIPGRID" compare "$tmp/a" "$tmp/b"); rc=$?
[ "$rc" = 0 ] && printf '%s\n' "$md" | grep -q '| base2new | DTD | CoOp | 16 | base | 3/3 | 81.00 | 86.00 | +5.00 | 0.00 | paired | \*\*flagged\*\* |' &&
  printf '%s\n' "$md" | grep -q "3 of 8 cells flagged."
check "Markdown: flagged row and count" $?
same=$(timeout $T "$CLIPGRID" compare "$tmp/a" "$tmp/a" --format csv | awk -F, 'NR > 1 && $NF == 1' | wc -l)
[ "$same" = 0 ]; check "an OUT against itself: nothing flagged" $?

timeout $T "$CLIPGRID" compare "$tmp/a" "$tmp/b" --mean-only >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ]; check "--mean-only: exit 2 (got $rc)" $?
timeout $T "$CLIPGRID" compare "$tmp/a" "$tmp/b" --ci t --std population >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q contradicts "$tmp/err"; check "--ci t --std population: exit 2 (got $rc)" $?
timeout $T "$CLIPGRID" compare "$tmp/a" "$tmp/none" >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 1 ] && grep -qF "$tmp/none" "$tmp/err"; check "missing B: exit 1, named (got $rc)" $?
timeout $T "$CLIPGRID" compare "$tmp/a" >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ]; check "one OUT only: exit 2 (got $rc)" $?
exit $fail
