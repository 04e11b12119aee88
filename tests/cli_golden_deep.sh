#!/usr/bin/env bash
# tests/cli_golden_deep.sh — `clipgrid golden` on the official fixtures of the deep methods:
# maple.h5 (MaPLe, depth 2), mudpt.h5 (UUMuDPT, depth 2, official init of all 11 M values),
# mmrl.h5 (MMRL, tokens at layer 2; SGD and AdamW runs, base and novel inference) and
# mmrl_rep12.h5 (tokens inserted at layer 1, replaced at layer 2). Each must exit 0 with
# "0 failed", and the output must name the method-specific records (so a silently skipped
# phase cannot pass). Run from the repository root; $CLIPGRID (default build/clipgrid),
# $SHARED (default ../shared); SKIP without the fixtures.
set -u
CLIPGRID="${CLIPGRID:-build/clipgrid}"
SHARED="${SHARED:-../shared}"
OFFICIAL="$SHARED/fixtures/official"
T=$((300 * ${TIMEOUT_SCALE:-1}))  # TIMEOUT_SCALE: set by run_tests.sh under SANITIZE=1
fail=0
check() { if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

if [ ! -f "$OFFICIAL/tiny768.safetensors" ]; then
  echo "SKIP: $OFFICIAL not found"
  exit 0
fi

# fixture, then records its output must show
run() {
  local fx="$1"; shift
  if [ ! -f "$OFFICIAL/$fx" ]; then echo "SKIP $fx: not found"; return; fi
  out=$(timeout $T "$CLIPGRID" golden "$OFFICIAL/$fx" 2>&1); rc=$?
  echo "$out" | grep FAIL | head -n 12 | sed "s/^/     /"
  [ "$rc" = 0 ]; check "$fx: exit status 0 (got $rc)" $?
  local last; last=$(echo "$out" | tail -n 1)
  echo "$last" | grep -qE "^[0-9]+ passed, 0 failed$"; check "$fx: $last" $?
  for rec in "$@"; do
    echo "$out" | grep -q -- "$rec"; check "$fx: compares $rec" $?
  done
}

run maple.h5 step0/visual_shallow_prompt step0/visual_deep_prompts \
  step0/grads/prompt_learner.ctx grad_digests/prompt_learner.proj.weight \
  params_after_step3/prompt_learner.compound_prompts_text.0 eval/logits
run mudpt.h5 step0/t2v_visual_prompts step0/v2t_text_prompts \
  step0/grads/uumudpt_prompt_learner.self_attn.ln_1.weight \
  grad_digests/image_encoder.visual_ctx_self_attn.mlp.c_fc.weight \
  params_after_step3/image_encoder.visual_ctx_deep_prompts eval/logits
run mmrl.h5 step0/logits_rep step0/zs_image_features step0/loss_reg_text step0/rep_tokens_visual \
  grad_digests/image_encoder.proj_rep steps_adamw/params_after_step3 \
  eval/logits_novel_inference eval_adamw/logits_base_inference
run mmrl_rep12.h5 step0/rep_tokens_text \
  grads/representation_learner.compound_rep_tokens_r2tproj.1.bias \
  eval/logits_novel_inference

exit $fail
