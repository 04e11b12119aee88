/* core/model/clip_block.h — one pre-LN residual block of a CLIP tower (clip.md §2 step 4), forward and
 * activation backward (clip.md §6), in two forms:
 *   - full: every row is a query;
 *   - query-only (the last block of a tower): K and V for every row, but Q, attention output,
 *     out-projection and MLP only for P rows per sample (the pooled rows). Exact.
 * Shared prefix (text tower, causal): a block can also attend to T_pre rows of keys and values
 * computed elsewhere (a prefix run of the same layer), shared by groups of pre_group samples:
 * the sample's own rows sit at positions T_pre… and see every prefix row. Backward adds the
 * gradient w.r.t. those keys/values into dkv_pre. A prefix run itself takes dkv_extra: gradient
 * w.r.t. its own K/V rows from the samples that continue it.
 * The buffers a backward pass needs live in BlockActs; core/ only passes them to kernels. */
#ifndef CLIPGRID_CORE_CLIP_BLOCK_H
#define CLIPGRID_CORE_CLIP_BLOCK_H

#include "core/model/clip_config.h"

typedef struct {
    int B, T, d, heads, mlp;
    int causal;
    int gelu_exact;     /* MLP activation: 0 QuickGELU (OpenAI), 1 exact GELU (erf) */
    int P;              /* 0: full block; > 0: query-only with P rows per sample */
    const int *q_rows;  /* host [B*P]: row index within the sample (query-only) */
    /* shared prefix (0 rows: none). kv_pre points at the K of row 0 of group 0, V = K + d;
     * row r of group g at kv_pre + (g*T_pre + r)*ld_pre; dkv_pre (backward, +=) the same. */
    int T_pre, pre_group, ld_pre;
    const float *kv_pre;
    float *dkv_pre;
    /* a prefix run's backward: += gradient w.r.t. its K|V, laid out like a full block's qkv
     * [B,T,3d] (the Q columns are zero); NULL: none */
    const float *dkv_extra;
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
    float *fc;                    /* [B*Tq,mlp] before the activation */
    float *gelu;                  /* [B*Tq,mlp] */
    int *q_idx;                   /* host [B*P]: b*T + q_rows[b*P+j] */
    float *kv_cat;                /* shared prefix: [B, T_pre+T, 2d] prefix then own K|V */
    int *q_pos;                   /* shared prefix: host [B*Tq] query positions */
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
