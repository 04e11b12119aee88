/* core/model/clip_grad.h — training every weight of a CLIP (pretraining), apart from the frozen
 * path the methods use:
 *   - model-shaped buffers: a ClipModel whose tensors live in a fresh, trainable (not frozen)
 *     arena with the layout of another (a trainable copy of the weights, or their gradients);
 *   - the weight-gradient backward of one full residual block (block_backward in clip_block.c
 *     computes activation gradients only and stays as it is);
 *   - the weight gradients of the vision stem, called by tower_backward when TowerInput.grads
 *     is set (clip_tower.h; the head's and the text stem's are single ops there). */
#ifndef CLIPGRID_CORE_CLIP_GRAD_H
#define CLIPGRID_CORE_CLIP_GRAD_H

#include "core/model/clip_block.h"
#include "core/model/clip_config.h"

/* dst = a model with src's configuration and projection layouts in its own arena of
 * src->arena_floats floats: a copy of src's values (copy != 0) or zeros. The arena is not
 * declared frozen (its values change). Free with clip_model_free. */
void clip_model_clone(ClipModel *dst, const ClipModel *src, int copy);

/* The backward of a full block (P == 0, no shared prefix) with weight gradients: dw's tensors
 * (a model-shaped gradient's block) accumulate d(loss)/d(weight) ('+='), dx_in [B,T,d] is
 * written ('='). The activation gradient equals block_backward's. */
void block_backward_weights(const BlockWeights *w, const BlockWeights *dw, const BlockShape *s,
                            const BlockActs *a, const float *dx_out, float *dx_in);

/* vision stem: z = [class; patches·convᵀ] + pos, x = LN_pre(z). From dz [B,N,W] (the gradient
 * at z) accumulates d(class_emb), d(pos_emb) and d(conv_w) (patches re-extracted from images). */
void vision_stem_weight_grads(const ClipModel *m, const ClipModel *g, const float *dz,
                              const float *images, int B);

#endif
