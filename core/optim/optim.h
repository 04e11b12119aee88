/* core/optim/optim.h — Dassl's optimisers over the learnable block and its learning-rate schedule
 * (protocol.md §4, methods.md §0.4):
 *   SGD   g = grad + wd·p; buf = g on the first step, else momentum·buf + g; p −= lr·buf
 *   AdamW p *= 1 − lr·wd; bias-corrected Adam step with (β1, β2), eps
 *   LR of epoch e (0-based, T = epochs, W = warm-up epochs, constant warm-up, WARMUP_RECOUNT):
 *     e < W: warmup_lr;  W = 0: lr·(1 + cos(π·e/T))/2;  W >= 1, e >= W: lr·(1 + cos(π·(e−W)/T))/2
 *   (the cosine restarts its count after the warm-up: the first post-warm-up epoch runs at the
 *   full rate and the schedule never reaches 0).
 * The state (momentum, or AdamW's m and v, and the step count) exports to host memory for
 * checkpoints; a restored optimiser continues exactly. */
#ifndef CLIPGRID_CORE_OPTIM_H
#define CLIPGRID_CORE_OPTIM_H

#include <stddef.h>

#include "core/optim/train_config.h"

typedef enum { OPT_SGD = 0, OPT_ADAMW = 1 } OptKind;

typedef struct {
    OptKind kind;
    double momentum, weight_decay, beta1, beta2, eps;
    size_t n;            /* elements of the learnable block */
    float *buf;          /* SGD momentum [n] (device) */
    float *m, *v;        /* AdamW moments [n] (device) */
    long steps;          /* steps taken */
} Optimizer;

/* from cfg->optim ("sgd" | "adamw"), momentum, weight_decay, beta1, beta2, eps; 0 or −1 with
 * cg_error for an unknown optimiser name */
int optim_init(Optimizer *o, const TrainConfig *cfg, size_t n);
void optim_free(Optimizer *o);
/* one update of params [n] from grad [n] at learning rate lr */
void optim_step(Optimizer *o, float *params, const float *grad, double lr);
/* floats of state (excluding the step count): SGD n, AdamW 2n */
size_t optim_state_floats(const Optimizer *o);
void optim_export(const Optimizer *o, float *host);
void optim_import(Optimizer *o, const float *host, long steps);

/* the learning rate of the whole of epoch e */
double lr_at_epoch(const TrainConfig *cfg, int epoch);

#endif
