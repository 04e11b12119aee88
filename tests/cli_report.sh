#!/usr/bin/env bash
# tests/cli_report.sh — `clipgrid report`: the HTML page of the results of known values
# (build/tests/test_results --write) holds the tables of every setting, every figure embedded as a
# data: URI, the failed run with its error, provenance and compute, and references nothing outside
# itself; then headless Chromium (Debian's chromium) loads it: a screenshot is taken, the page logs
# no console message, and every <img> decodes (a copy of the page with a probe script appended
# counts the images with naturalWidth > 0 and writes the count into the DOM that --dump-dom
# prints). SKIPPED with the reason where chromium is not installed.
set -u
CLIPGRID="${CLIPGRID:-build/clipgrid}"
WRITER="${TEST_RESULTS:-build/tests/test_results}"
T=120
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
timeout $T "$WRITER" --write "$out" >/dev/null; check "test_results --write" $?

timeout $T "$CLIPGRID" report "$out" --ci t >"$tmp/report.out" 2>&1; rc=$?
html="$out/report.html"
[ "$rc" = 0 ] && [ -s "$html" ] && [ "$(cat "$tmp/report.out")" = "$html" ]; check "report: exit 0, wrote $html (rc $rc)" $?
n_img=$(grep -o '<img ' "$html" | wc -l)
n_fig=$(ls "$out/figures"/*.png | wc -l)
[ "$n_img" -ge 40 ] && [ "$n_img" = "$n_fig" ] && [ "$(grep -o 'src="data:image/png;base64,iVBOR' "$html" | wc -l)" = "$n_img" ]
check "$n_img figures embedded as PNG data: URIs (one per figure)" $?
! grep -qE '(src|href)="(https?:|//|file:)' "$html" && ! grep -q '<script' "$html" && ! grep -q '<link' "$html"
check "no external resource, no script" $?
grep -q '<caption>Base-to-new generalisation, 16 shots: accuracy %, mean ± 95% CI, t(0.975, n−1)·s/√n' "$html" &&
  grep -q '<td class="num">92.00 ± 4.97</td>' "$html" && grep -q '<caption>Few-shot learning' "$html" &&
  grep -q '<caption>Cross-dataset transfer from ImageNet' "$html" && grep -q '<caption>Domain generalisation from ImageNet' "$html"
check "tables of the four settings, with the --ci t spread named in the caption (92.00 ± 4.97)" $?
grep -q '<code>base2new/coop/dtd/shots16/seed4</code></td><td>node07</td><td>NaN loss at epoch 3 (step 17)</td>' "$html"
check "failed run with host and error" $?
grep -q 'seeds 2,3 missing (1 of 3 seeds)' "$html"; check "missing seeds listed" $?
grep -q '<th>sweep name(s)</th><td>known</td>' "$html" && grep -q '<th>program version</th><td>not recorded in this OUT' "$html" &&
  grep -q '<th>device time (wall × ranks)</th><td class="num">0.2444 h</td>' "$html"
check "provenance (sweep, what is not recorded) and compute (22 runs x 20 s x 2 ranks = 0.2444 h)" $?

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "SKIPPED browser checks: chromium is not installed (Debian package chromium, listed in .ci/packages.txt)"
  exit $fail
fi
export HOME="$tmp/home"  # a fresh profile, nothing from the user's
flags=(--headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars --user-data-dir="$tmp/profile")
timeout 90 "$CHROMIUM" "${flags[@]}" --enable-logging=stderr --v=0 --window-size=1280,2400 \
  --screenshot="$tmp/shot.png" "file://$html" >"$tmp/chr.out" 2>"$tmp/chr.err"; rc=$?
[ "$rc" = 0 ] && [ -s "$tmp/shot.png" ] && head -c 8 "$tmp/shot.png" | grep -q PNG
check "chromium rendered a screenshot ($(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0) bytes, rc $rc)" $?
if grep -E 'CONSOLE|Failed to load resource|net::ERR' "$tmp/chr.err" >"$tmp/console"; then
  sed 's/^/     /' "$tmp/console"; false
else
  true
fi
check "no console message and no failed resource" $?
probe="$tmp/probe.html"
sed 's|</body></html>|<script>window.addEventListener("load",()=>{const im=[...document.images];const ok=im.filter(i=>i.complete\&\&i.naturalWidth>0).length;document.body.setAttribute("data-images",ok+"/"+im.length);});</script></body></html>|' "$html" >"$probe"
timeout 90 "$CHROMIUM" "${flags[@]}" --virtual-time-budget=10000 --dump-dom "file://$probe" >"$tmp/dom.html" 2>/dev/null
got=$(grep -o 'data-images="[0-9]*/[0-9]*"' "$tmp/dom.html")
[ "$got" = "data-images=\"$n_img/$n_img\"" ]; check "every image decoded in the browser ($got of $n_img)" $?
# the probe itself is checked to see a broken image: one damaged data: URI must be counted as missing
sed '0,/base64,iVBOR/s//base64,AAAA/' "$probe" >"$tmp/broken.html"
timeout 90 "$CHROMIUM" "${flags[@]}" --virtual-time-budget=10000 --dump-dom "file://$tmp/broken.html" >"$tmp/dom2.html" 2>/dev/null
got=$(grep -o 'data-images="[0-9]*/[0-9]*"' "$tmp/dom2.html")
[ "$got" = "data-images=\"$((n_img - 1))/$n_img\"" ]; check "the probe catches a broken image ($got)" $?
exit $fail
