/* core/clip_block.h — one pre-LN residual block of a CLIP tower (clip.md §2 step 4), forward and
 * activation backward (clip.md §6), in two forms:
 *   - full: every row is a query;
 *   - query-only (the last block of a tower): K and V for every row, but Q, attention output,
 *     out-projection and MLP only for P rows per sample (the pooled rows). Exact.
 * The buffers a backward pass needs live in BlockActs; core/ only passes them to kernels. */
#ifndef CLIPGRID_CORE_CLIP_BLOCK_H
#define CLIPGRID_CORE_CLIP_BLOCK_H

#include "core/clip_config.h"

typedef struct {
    int B, T, d, heads, mlp;
    int causal;
    int P;              /* 0: full block; > 0: query-only with P rows per sample */
    const int *q_rows;  /* host [B*P]: row index within the sample (query-only) */
} BlockShape;

typedef struct {
    float *x_in;                  /* [B,T,d] block input (not owned) */
    float *ln1, *ln1_mean, *ln1_rstd;
    float *qkv;                   /* full: [B,T,3d]; query-only: K|V [B,T,2d] */
    float *q;                     /* query-only: [B*P,d] */
    float *probs;                 /* [B,heads,Tq,T] */
    float *att;                   /* [B*Tq,d] */
    float *x_mid;                 /* [B*Tq,d] */
    float *ln2, *ln2_mean, *ln2_rstd;
    float *fc;                    /* [B*Tq,mlp] before QuickGELU */
    float *gelu;                  /* [B*Tq,mlp] */
    int *q_idx;                   /* host [B*P]: b*T + q_rows[b*P+j] */
    int T_cap;                    /* rows allocated per sample */
} BlockActs;

/* buffers for shape s with up to T_cap rows per sample (T_cap >= s->T) */
void block_acts_alloc(BlockActs *a, const BlockShape *s, int T_cap);
void block_acts_free(BlockActs *a);
/* a->x_in must point at the input. Writes x_out [B*Tq, d]. */
void block_forward(const BlockWeights *w, const BlockShape *s, BlockActs *a, float *x_out);
/* dx_in [B,T,d] = gradient at the block input, from dx_out [B*Tq,d]. */
void block_backward(const BlockWeights *w, const BlockShape *s, const BlockActs *a,
                    const float *dx_out, float *dx_in);

#endif
