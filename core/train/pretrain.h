/* core/train/pretrain.h — contrastive pretraining of a whole CLIP (both towers, every weight) on
 * image–caption pairs, as CLIP's paper defines it: L2-normalised features, logits = exp(s)·IᵀT
 * with a learnable log scale s, the symmetric InfoNCE loss (mean of the image→text and
 * text→image cross-entropies, the pair's own caption the label), AdamW (weight decay on
 * tensors of two or more dimensions only, not on gains, biases, the class embedding or s) with
 * linear warm-up and cosine decay to zero. s is clamped to [0, ln 100] as in CLIP. */
#ifndef CLIPGRID_CORE_TRAIN_PRETRAIN_H
#define CLIPGRID_CORE_TRAIN_PRETRAIN_H

#include <stddef.h>

#include "core/model/clip_config.h"

/* one mini-batch of pairs */
typedef struct {
    int B;
    const float *images;  /* device [B,3,R,R], normalised model input */
    const int *tokens;    /* host [B*T] token ids of the captions */
    int T;                /* ids per caption (<= context) */
    const int *eot;       /* host [B]: the EOT row of each caption */
} PairBatch;

/* The batch's loss; with g != NULL also its gradient, accumulated ('+=') into the model-shaped
 * buffers g (clip_model_clone) and *d_scale (= dL/ds, written). */
double clip_pair_loss(const ClipModel *m, const ClipModel *g, const PairBatch *b, double *d_scale);

typedef struct {
    long steps, warmup;     /* total optimiser steps; linear warm-up steps */
    double lr, wd;          /* peak learning rate; AdamW weight decay */
    double beta1, beta2, eps;
} PretrainConfig;

PretrainConfig pretrain_defaults(void); /* 1000 steps, 50 warm-up, lr 5e-4, wd 0.1, 0.9/0.98/1e-6 */
double pretrain_lr(const PretrainConfig *c, long step); /* step 0-based */

typedef struct Pretrainer Pretrainer;
/* trains m in place; m's arena must be trainable (clip_model_clone), not a frozen one */
Pretrainer *pretrainer_new(ClipModel *m, const PretrainConfig *c);
/* one AdamW step on batch b at the schedule's learning rate; returns the batch's loss */
double pretrainer_step(Pretrainer *p, const PairBatch *b);
long pretrainer_steps_done(const Pretrainer *p);
void pretrainer_free(Pretrainer *p);

#endif
