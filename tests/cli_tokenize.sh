#!/usr/bin/env bash
# tests/cli_tokenize.sh — `clipgrid tokenize`: ids from SOT to EOT for each text, the HF loader,
# --help, and exit status 1 (with a message) for a text longer than the 77-token context.
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
CLIPGRID="${CLIPGRID:-build/clipgrid}"
fail=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}

out=$("$CLIPGRID" tokenize "a photo of a cat" "Hello, world!")
want=$'49406 320 1125 539 320 2368 49407\n49406 3306 267 1002 256 49407'
[ "$out" = "$want" ]; check "two texts" $?

out=$("$CLIPGRID" tokenize --vocab data/clip/bpe_simple_vocab_16e6.txt.gz -- "--dashes-- café")
[ "$out" = "49406 2432 925 2502 2432 15304 49407" ]; check "--vocab and -- ($out)" $?

out=$(CLIPGRID_VOCAB="$PWD/data/clip/bpe_simple_vocab_16e6.txt.gz" "$CLIPGRID" tokenize "X X airplane.")
[ "$out" = "49406 343 343 16451 269 49407" ]; check "CLIPGRID_VOCAB" $?

"$CLIPGRID" tokenize --help | grep -q "usage: clipgrid tokenize"; check "--help" $?

long=$(printf 'a photo of a cat %.0s' $(seq 16))
"$CLIPGRID" tokenize "$long" >/dev/null 2>/tmp/cli_tokenize_err.$$; rc=$?
[ "$rc" = 1 ]; check "too long: exit status 1 (got $rc)" $?
grep -q "82 tokens" /tmp/cli_tokenize_err.$$ && grep -q "77" /tmp/cli_tokenize_err.$$
check "too long: message ($(cat /tmp/cli_tokenize_err.$$))" $?
rm -f /tmp/cli_tokenize_err.$$

fits=$(printf 'a photo of a cat %.0s' $(seq 15))
n=$("$CLIPGRID" tokenize "$fits" | wc -w)
[ "$n" = 77 ]; check "75 tokens fit (77 ids)" $?

"$CLIPGRID" tokenize --vocab /nonexistent/vocab.txt.gz "x" >/dev/null 2>&1; rc=$?
[ "$rc" = 1 ]; check "missing vocabulary: exit status 1" $?

exit $fail
