#!/usr/bin/env bash
# tests/check_demo_model.sh — `make check-demo-model`: rebuilds the shipped demo model
# (demo/model/tiny.safetensors) with the command recorded in its metadata, on each thread count
# of $THREADS (default "1 2"), and compares the result bit for bit with the shipped file.
# Minutes per thread count (about 4 on 2 free cores): not part of `make test`.
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
shipped="$(realpath demo/model/tiny.safetensors)"
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the command from the safetensors header (8-byte little-endian length, then JSON)
len=$(od -An -tu8 -N8 "$shipped" | tr -d ' ')
cmd=$(head -c $((8 + len)) "$shipped" | tail -c "$len" | grep -o '"clipgrid.pretrain.command":"[^"]*"' \
      | sed 's/^"clipgrid.pretrain.command":"//; s/"$//')
case "$cmd" in
  "clipgrid pretrain demo/model/tiny.safetensors "*) ;;
  *) echo "FAIL $shipped: no rebuilding command in its metadata ('$cmd')"; exit 1 ;;
esac
echo "     recorded: $cmd"
for t in ${THREADS:-1 2}; do
  mkdir -p "$tmp/t$t/demo/model"
  start=$(date +%s)
  # the recorded words, without a shell's reading of them (no quotes, no expansions)
  read -r -a words <<<"${cmd#clipgrid }"
  (cd "$tmp/t$t" && "$CLIPGRID" "${words[@]}" --threads "$t" >"$tmp/log$t" 2>&1); rc=$?
  secs=$(( $(date +%s) - start ))
  if [ "$rc" = 0 ] && cmp -s "$tmp/t$t/demo/model/tiny.safetensors" "$shipped"; then
    echo "ok   rebuilt on $t thread(s) in $secs s: identical to the shipped file"
  else
    echo "FAIL rebuilt on $t thread(s) (rc $rc, $secs s): differs from the shipped file"
    tail -3 "$tmp/log$t"
    fail=1
  fi
done
exit $fail
