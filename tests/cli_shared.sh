#!/usr/bin/env bash
# tests/cli_shared.sh — work done once (issue 12 §3): a sweep with cross_dataset and
# domain_generalization trains one ImageNet model per method and seed (the cells share a
# training key), evaluates it on every target, and gives results bitwise equal to training it
# again in a sweep of its own; every trained run leaves its learned parameters as safetensors
# under the official tensor names; under `mpirun -np 2` each training is still done once.
# Run from the repository root; $CLIPGRID is the program (default build/clipgrid).
set -u
CLIPGRID="$(realpath "${CLIPGRID:-build/clipgrid}")"
fail=0
check() { if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
MPIRUN=(mpirun --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
cd "$tmp"; [ -n "${KEEP:-}" ] && echo "kept in $tmp"
"$CLIPGRID" make-model tiny.safetensors --vision-width 64 --vision-layers 2 --patch 16 --image-res 32 \
  --text-width 64 --text-layers 2 --embed 32 --seed 3 >/dev/null || { echo "FAIL make-model"; exit 1; }
"$CLIPGRID" synth data --layout all --classes 4 --per-class 3 --val 1 --test 2 --min-side 36 \
  --max-side 40 >/dev/null || { echo "FAIL synth"; exit 1; }
cat >xg.yaml <<YAML
name: xg
model: {weights: tiny.safetensors}
data: {root: data}
setting: [cross_dataset, domain_generalization]
shots: 2
seeds: [1, 2]
datasets: [imagenet]
methods:
  zsclip: {}
  coop: {epochs: 3, batch: 2}
  mmrl: {rep_layers: [2], rep_dim: 32, epochs: 2, batch: 2}
threads: 1
loader_threads: 1
YAML
sed 's/^setting: .*/setting: domain_generalization/; s/^name: xg/name: dg/' xg.yaml >dg.yaml
key_of() { tr -d '\n ' <"$1/grid.json" | tr '{' '\n' | grep "\"id\":\"$2\"" | sed "s/.*\"$3\":\"\\([0-9a-f]*\\)\".*/\\1/"; }

"$CLIPGRID" plan xg.yaml >plan.out 2>&1; rc=$?
[ "$rc" = 0 ] && grep -q "12 cells, 10 runs, 4 trainings" plan.out
check "plan: 12 cells, 10 runs (zero-shot once per setting), 4 trainings (one ImageNet training per method and seed) (rc $rc)" $?
timeout 300 "$CLIPGRID" run xg.yaml -o one --progress 1000 >one.out 2>&1; rc=$?
check "cross_dataset + domain_generalization: exit 0 (rc $rc)" $rc
for m in coop mmrl; do for s in 1 2; do
  a=$(key_of one cross_dataset/$m/imagenet/shots2/seed$s training_key)
  b=$(key_of one domain_generalization/$m/imagenet/shots2/seed$s training_key)
  [ -n "$a" ] && [ "$a" = "$b" ]; check "$m seed $s: cross_dataset and domain_generalization share the training key $a" $?
done; done
n=$(grep -l "evaluating the trained parameters" one/logs/*.log | wc -l)
[ "$n" = 4 ]; check "4 of the 8 training runs evaluated the saved training instead of training ($n)" $?
[ "$(ls one/params/*.safetensors | wc -l)" = 4 ]; check "4 learned-parameter files (safetensors) in OUT/params" $?
t=$(key_of one cross_dataset/coop/imagenet/shots2/seed1 training_key)
head -c 400 "one/params/$t.safetensors" | grep -q '"prompt_learner.ctx"'; check "CoOp's parameters under the official name prompt_learner.ctx" $?
k=$(key_of one domain_generalization/mmrl/imagenet/shots2/seed1 key)
h5dump -a /evaluated_from_saved_params -a /params_file "one/runs/$k.h5" | grep -q "params/.*safetensors"
check "the run file names its parameters file" $?

timeout 300 "$CLIPGRID" run dg.yaml -o two --progress 1000 >two.out 2>&1; rc=$?
same=0
for m in coop mmrl; do for s in 1 2; do
  k=$(key_of two domain_generalization/$m/imagenet/shots2/seed$s key)
  [ -f "one/runs/$k.h5" ] && h5diff "one/runs/$k.h5" "two/runs/$k.h5" /evals /evals >/dev/null &&
    h5diff "one/runs/$k.h5" "two/runs/$k.h5" /curves/loss /curves/loss >/dev/null &&
    h5diff "one/runs/$k.h5" "two/runs/$k.h5" /curves/accuracy /curves/accuracy >/dev/null && same=$((same+1))
done; done
[ "$rc" = 0 ] && [ "$same" = 4 ]; check "evaluating the shared training = training it again: 4 of 4 runs bitwise equal (rc $rc)" $?

timeout 300 "${MPIRUN[@]}" -np 2 "$CLIPGRID" run xg.yaml -o mpi --progress 1000 >mpi.out 2>&1; rc=$?
n=$(grep -l "evaluating the trained parameters" mpi/logs/*.log | wc -l)
[ "$rc" = 0 ] && [ "$n" = 4 ]; check "mpirun -np 2: each of the 4 trainings done once ($n runs evaluated a saved training; rc $rc)" $?
same=0
for f in one/runs/*.h5; do h5diff "$f" "mpi/runs/${f#one/runs/}" /evals /evals >/dev/null && same=$((same+1)); done
[ "$same" = 10 ]; check "mpirun -np 2: the 10 runs' evaluations equal the single-rank sweep's ($same)" $?
# ---- frozen test features: computed once per OUT, bitwise equal to recomputing -------------------------
timeout 300 "$CLIPGRID" run xg.yaml -o nocache --no-feature-cache --progress 1000 >nocache.out 2>&1; rc=$?
same=0
for f in one/runs/*.h5; do h5diff "$f" "nocache/runs/${f#one/runs/}" /evals /evals >/dev/null && same=$((same+1)); done
[ "$rc" = 0 ] && [ "$same" = 10 ] && [ ! -d nocache/features ]
check "frozen-feature cache: every evaluation (accuracies, counts, per-class) bitwise equal without it ($same of 10)" $?
nf=$(ls one/features/*.f32 | wc -l)
computed=$(grep -ho "[0-9]* computed and stored" one/logs/*.log | awk '{s += $1} END {print s}')
reused=$(grep -ho "[0-9]* sets* from OUT/features" one/logs/*.log | awk '{s += $1} END {print s}')
[ "$nf" = 15 ] && [ "$computed" = 15 ] && [ "$reused" -gt 0 ]
check "one cache per evaluation set (15: imagenet shared by both settings, 10 + 4 targets), each computed once, reused $reused times" $?
timeout 300 "${MPIRUN[@]}" -np 3 "$CLIPGRID" run xg.yaml -o np3 --progress 1000 >np3.out 2>&1; rc=$?
nf=$(ls np3/features/*.f32 | wc -l)
computed=$(grep -ho "[0-9]* computed and stored" np3/logs/*.log | awk '{s += $1} END {print s}')
same=0
for f in one/runs/*.h5; do h5diff "$f" "np3/runs/${f#one/runs/}" /evals /evals >/dev/null && same=$((same+1)); done
[ "$rc" = 0 ] && [ "$nf" = 15 ] && [ "$computed" = 15 ] && [ -z "$(ls np3/features | grep -v '\.f32$')" ] && [ "$same" = 10 ]
check "mpirun -np 3: each of the 15 caches computed once ($computed), no claim or partial file left, evaluations equal ($same of 10) (rc $rc)" $?

# ---- a user's folder dataset as an extra target of cross_dataset (issue 14: "usable in every setting") --
mkdir -p data/shapes/train data/shapes/test
"$CLIPGRID" synth syn --layout imagenet --classes 3 --per-class 3 --test 2 --seed 9 --min-side 36 \
  --max-side 40 >/dev/null 2>&1
cp -r syn/imagenet/images/train/. data/shapes/train/ && cp -r syn/imagenet/images/val/. data/shapes/test/
cat >xf.yaml <<YAML
name: xf
model: {weights: tiny.safetensors}
data:
  root: data
  folders: {shapes: {path: shapes, template: "a picture of a {}."}}
setting: cross_dataset
shots: 2
seeds: [1]
datasets: [imagenet, shapes]
methods:
  zsclip: {}
  coop: {epochs: 3, batch: 2}
threads: 1
loader_threads: 1
YAML
"$CLIPGRID" plan xf.yaml >xfp.out 2>&1; rc=$?
[ "$rc" = 0 ] && grep -q "2 cells" xfp.out; check "plan: a folder dataset of cross_dataset is a target, not a cell: 2 cells (rc $rc)" $?
timeout 300 "$CLIPGRID" run xf.yaml -o xf --progress 1000 >xf.out 2>&1; rc=$?
k=$(key_of xf cross_dataset/coop/imagenet/shots2/seed1 key); k1=$(key_of one cross_dataset/coop/imagenet/shots2/seed1 key)
h5dump -g /evals/shapes -A "xf/runs/$k.h5" 2>/dev/null | grep -q 'accuracy'; r=$?
[ "$rc" = 0 ] && [ "$r" = 0 ] && [ "$k" != "$k1" ]
check "cross_dataset with a folder target: the run evaluates on it (/evals/shapes), its key differs from the run without it (rc $rc)" $?
same=0
for t in imagenet caltech101 eurosat; do
  h5diff "xf/runs/$k.h5" "one/runs/$k1.h5" /evals/$t /evals/$t >/dev/null && same=$((same+1))
done
[ "$same" = 3 ]; check "the protocol's targets are evaluated as without the extra target (imagenet, caltech101, eurosat bitwise: $same of 3)" $?
"$CLIPGRID" table xf --format csv >xft.csv 2>&1 && grep -qi "shapes" xft.csv
check "the table of cross_dataset has the folder target's column" $?
sed 's/^datasets: .*/datasets: [imagenet, caltech101]/' xf.yaml >xbad.yaml
"$CLIPGRID" plan xbad.yaml >xbad.out 2>&1; rc=$?
[ "$rc" = 2 ] && grep -q "trains on imagenet, not on caltech101" xbad.out
check "a built-in dataset beside imagenet in cross_dataset is still an error naming it (rc $rc)" $?
exit $fail
