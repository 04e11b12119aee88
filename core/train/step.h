/* core/train/step.h — one training step, the same for the run loop (core/train/train.c), golden
 * (runner/cmd_golden.c) and the tests: zero the gradient block → the method's forward_backward
 * (at the run's precision) → sum the loss and the correct count over the rank group → all-reduce
 * the gradient block → optimiser step → bump the parameters' version. The training accuracy is
 * counted from the logits forward_backward returns (argmax, first maximal index as torch.max). */
#ifndef CLIPGRID_CORE_STEP_H
#define CLIPGRID_CORE_STEP_H

#include "core/methods/method.h"
#include "core/optim/optim.h"

typedef struct {
    double loss;   /* the global mean loss of the batch (summed over the group) */
    long correct;  /* correct predictions of the whole batch (summed over the group) */
} StepResult;

/* images: this rank's b images (device) of a global batch of b_global; labels host [b]. A
 * non-finite loss returns −1 before the update (parameters untouched), with cg_error set;
 * else 0. opt == NULL: forward and backward only (the gradient is left in params.grad). */
int train_step(Method *m, Optimizer *opt, const float *images, const int *labels, int b,
               int b_global, double lr, StepResult *out);

/* correct predictions of logits host [b, C] (first maximal index); pred [b] when non-NULL */
long count_correct(const float *logits, const int *labels, int b, int C, int *pred);

#endif
