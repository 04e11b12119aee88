/* core/model/clip_block.c — forward and activation backward of one CLIP residual block, full or
 * query-only. Only describes the computation: every tensor operation is a kernels/ op. */
#include "core/model/clip_block.h"

#include <math.h>
#include <stdlib.h>

#include "base/util.h"

#define LN_EPS 1e-5f

static int tq_of(const BlockShape *s) { return s->P > 0 ? s->P : s->T; }

void block_acts_alloc(BlockActs *a, const BlockShape *s, int T_cap) {
    size_t B = (size_t)s->B, d = (size_t)s->d, T = (size_t)T_cap;
    size_t Tq = s->P > 0 ? (size_t)s->P : T;
    *a = (BlockActs){0};
    a->T_cap = T_cap;
    a->ln1 = k_alloc(B * T * d);
    a->ln1_mean = k_alloc(B * T);
    a->ln1_rstd = k_alloc(B * T);
    a->qkv = k_alloc(B * T * (s->P > 0 ? 2 : 3) * d);
    if (s->P > 0) {
        a->q = k_alloc(B * Tq * d);
        a->q_idx = cg_malloc(B * Tq * sizeof(int));
    }
    a->probs = k_alloc(B * (size_t)s->heads * Tq * (T + (size_t)s->T_pre));
    if (s->T_pre > 0) {
        a->kv_cat = k_alloc(B * (T + (size_t)s->T_pre) * 2 * d);
        a->q_pos = cg_malloc(B * Tq * sizeof(int));
    }
    a->att = k_alloc(B * Tq * d);
    a->x_mid = k_alloc(B * Tq * d);
    a->ln2 = k_alloc(B * Tq * d);
    a->ln2_mean = k_alloc(B * Tq);
    a->ln2_rstd = k_alloc(B * Tq);
    a->fc = k_alloc(B * Tq * (size_t)s->mlp);
    a->gelu = k_alloc(B * Tq * (size_t)s->mlp);
}

void block_acts_free(BlockActs *a) {
    float *bufs[] = {a->ln1, a->ln1_mean, a->ln1_rstd, a->qkv, a->q, a->probs, a->att,
                     a->x_mid, a->ln2, a->ln2_mean, a->ln2_rstd, a->fc, a->gelu, a->kv_cat};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) k_free(bufs[i]);
    free(a->q_idx), free(a->q_pos);
    *a = (BlockActs){0};
}

static KAttnShape attn_shape(const BlockShape *s, const BlockActs *a) {
    int d = s->d, dh = d / s->heads;
    KAttnShape as = {.B = s->B, .Tq = tq_of(s), .Tk = s->T, .heads = s->heads, .dh = dh,
                     .causal = s->causal, .scale = 1.0f / sqrtf((float)dh)};
    if (s->P > 0) {
        as.ld_q = d, as.ld_kv = 2 * d, as.ld_o = d, as.q_pos = s->q_rows;
    } else {
        as.ld_q = 3 * d, as.ld_kv = 3 * d, as.ld_o = d, as.q_pos = NULL;
    }
    if (s->T_pre > 0) as.Tk = s->T_pre + s->T, as.ld_kv = 2 * d, as.q_pos = a->q_pos;
    return as;
}

/* shared prefix: kv_cat [B, T_pre+T, 2d] = the group's prefix K|V rows, then the sample's own
 * (own [B,T,ld] with K at column 0); query positions after the prefix */
static void prefix_concat(const BlockShape *s, BlockActs *a, const float *own, int ld) {
    int Tp = s->T_pre, T = s->T, d = s->d, Tq = tq_of(s), G = s->B / s->pre_group;
    size_t cat_bs = (size_t)(Tp + T) * 2 * d;
    for (int t = 0; t < T; t++)
        op_copy_batched(a->kv_cat + (size_t)(Tp + t) * 2 * d, cat_bs, own + (size_t)t * ld,
                        (size_t)T * ld, s->B, (size_t)2 * d, 0);
    for (int g = 0; g < G; g++)
        for (int p = 0; p < Tp; p++)
            op_copy_batched(a->kv_cat + ((size_t)g * s->pre_group * (Tp + T) + p) * 2 * d, cat_bs,
                            s->kv_pre + ((size_t)g * Tp + p) * s->ld_pre, 0, s->pre_group,
                            (size_t)2 * d, 0);
    for (int b = 0; b < s->B; b++)
        for (int i = 0; i < Tq; i++)
            a->q_pos[b * Tq + i] = Tp + (s->P > 0 ? s->q_rows[b * Tq + i] : i);
}

/* shared prefix backward: dkv_cat [B, T_pre+T, 2d] → own rows into dkv_own [B,T,ld] (K at
 * column 0), the prefix rows summed over each group into dkv_pre */
static void prefix_split_grad(const BlockShape *s, const float *dkv_cat, float *dkv_own, int ld) {
    int Tp = s->T_pre, T = s->T, d = s->d, G = s->B / s->pre_group;
    size_t cat_bs = (size_t)(Tp + T) * 2 * d;
    for (int t = 0; t < T; t++)
        op_copy_batched(dkv_own + (size_t)t * ld, (size_t)T * ld,
                        dkv_cat + (size_t)(Tp + t) * 2 * d, cat_bs, s->B, (size_t)2 * d, 0);
    if (!s->dkv_pre) return;
    for (int g = 0; g < G; g++)
        for (int p = 0; p < Tp; p++)
            op_sum_batched(s->dkv_pre + ((size_t)g * Tp + p) * s->ld_pre,
                           dkv_cat + ((size_t)g * s->pre_group * (Tp + T) + p) * 2 * d, cat_bs,
                           s->pre_group, (size_t)2 * d, 1);
}

/* attention sub-layer: ln1 → q,k,v → attention → att [B*Tq, d] */
static void attention_forward(const BlockWeights *w, const BlockShape *s, BlockActs *a) {
    int n = s->B * s->T, d = s->d;
    KAttnShape as = attn_shape(s, a);
    op_layernorm(a->ln1, a->ln1_mean, a->ln1_rstd, a->x_in, w->ln1_w, w->ln1_b, n, d, LN_EPS);
    if (s->P == 0) {
        op_matmul(a->qkv, a->ln1, w->qkv_w, w->qkv_b, n, d, 3 * d, K_W_OUT_IN, 0);
        if (s->T_pre > 0) {
            prefix_concat(s, a, a->qkv + d, 3 * d);
            op_attention(a->att, a->probs, a->qkv, a->kv_cat, a->kv_cat + d, &as);
        } else {
            op_attention(a->att, a->probs, a->qkv, a->qkv + d, a->qkv + 2 * d, &as);
        }
        return;
    }
    /* query-only: K|V from weight rows d..3d for every row, Q for the pooled rows */
    int nq = s->B * s->P;
    for (int b = 0; b < s->B; b++)
        for (int j = 0; j < s->P; j++) a->q_idx[b * s->P + j] = b * s->T + s->q_rows[b * s->P + j];
    op_matmul(a->qkv, a->ln1, w->qkv_w + (size_t)d * d, w->qkv_b + d, n, d, 2 * d, K_W_OUT_IN, 0);
    op_gather_rows(a->att, a->ln1, a->q_idx, nq, d); /* att as scratch for the pooled ln1 rows */
    op_matmul(a->q, a->att, w->qkv_w, w->qkv_b, nq, d, d, K_W_OUT_IN, 0);
    if (s->T_pre > 0) {
        prefix_concat(s, a, a->qkv, 2 * d);
        op_attention(a->att, a->probs, a->q, a->kv_cat, a->kv_cat + d, &as);
    } else {
        op_attention(a->att, a->probs, a->q, a->qkv, a->qkv + d, &as);
    }
}

void block_forward(const BlockWeights *w, const BlockShape *s, BlockActs *a, float *x_out) {
    int d = s->d, nq = s->B * tq_of(s);
    if (s->T > a->T_cap) cg_fatal("block_forward: %d rows per sample, buffers hold %d", s->T, a->T_cap);
    attention_forward(w, s, a);
    /* x_mid = x_in (query rows) + att·Woutᵀ + b */
    if (s->P > 0) op_gather_rows(a->x_mid, a->x_in, a->q_idx, nq, d);
    else k_copy(a->x_mid, a->x_in, (size_t)nq * d);
    op_matmul(a->x_mid, a->att, w->out_w, w->out_b, nq, d, d, K_W_OUT_IN, 1);
    /* x_out = x_mid + act(ln2·Wfcᵀ + b)·Wprojᵀ + b, act QuickGELU or exact GELU */
    op_layernorm(a->ln2, a->ln2_mean, a->ln2_rstd, a->x_mid, w->ln2_w, w->ln2_b, nq, d, LN_EPS);
    op_matmul(a->fc, a->ln2, w->fc_w, w->fc_b, nq, d, s->mlp, K_W_OUT_IN, 0);
    if (s->gelu_exact) op_gelu(a->gelu, a->fc, (size_t)nq * s->mlp);
    else op_quickgelu(a->gelu, a->fc, (size_t)nq * s->mlp);
    if (x_out != a->x_mid) k_copy(x_out, a->x_mid, (size_t)nq * d);
    op_matmul(x_out, a->gelu, w->proj_w, w->proj_b, nq, s->mlp, d, K_W_OUT_IN, 1);
}

/* d(ln1 output) [B*T, d] from the attention output gradient datt [B*Tq, d] */
static void attention_backward(const BlockWeights *w, const BlockShape *s, const BlockActs *a,
                               const float *datt, float *dln1) {
    int n = s->B * s->T, d = s->d;
    KAttnShape as = attn_shape(s, a);
    float *dcat = s->T_pre > 0 ? k_alloc((size_t)s->B * (s->T_pre + s->T) * 2 * d) : NULL;
    if (s->P == 0) {
        float *dqkv = k_alloc((size_t)n * 3 * d);
        if (dcat) {
            op_attention_backward(dqkv, dcat, dcat + d, datt, a->probs, a->qkv, a->kv_cat,
                                  a->kv_cat + d, &as, 0);
            prefix_split_grad(s, dcat, dqkv + d, 3 * d);
            k_free(dcat);
        } else {
            op_attention_backward(dqkv, dqkv + d, dqkv + 2 * d, datt, a->probs, a->qkv,
                                  a->qkv + d, a->qkv + 2 * d, &as, 0);
        }
        if (s->dkv_extra) op_add(dqkv, s->dkv_extra, (size_t)n * 3 * d);
        op_matmul_backward(dln1, dqkv, w->qkv_w, n, d, 3 * d, K_W_OUT_IN, 0);
        k_free(dqkv);
        return;
    }
    if (s->dkv_extra) cg_fatal("block_backward: a prefix run's last block must be a full block");
    int nq = s->B * s->P;
    float *dkv = k_alloc((size_t)n * 2 * d), *dq = k_alloc((size_t)nq * d);
    float *dlnq = k_alloc((size_t)nq * d);
    if (dcat) {
        op_attention_backward(dq, dcat, dcat + d, datt, a->probs, a->q, a->kv_cat, a->kv_cat + d,
                              &as, 0);
        prefix_split_grad(s, dcat, dkv, 2 * d);
        k_free(dcat);
    } else {
        op_attention_backward(dq, dkv, dkv + d, datt, a->probs, a->q, a->qkv, a->qkv + d, &as, 0);
    }
    op_matmul_backward(dln1, dkv, w->qkv_w + (size_t)d * d, n, d, 2 * d, K_W_OUT_IN, 0);
    op_matmul_backward(dlnq, dq, w->qkv_w, nq, d, d, K_W_OUT_IN, 0);
    op_scatter_add_rows(dln1, dlnq, a->q_idx, nq, d);
    k_free(dkv), k_free(dq), k_free(dlnq);
}

void block_backward(const BlockWeights *w, const BlockShape *s, const BlockActs *a,
                    const float *dx_out, float *dx_in) {
    int n = s->B * s->T, d = s->d, nq = s->B * tq_of(s);
    float *dx_mid = k_alloc((size_t)nq * d), *dfc = k_alloc((size_t)nq * s->mlp);
    float *dtmp = k_alloc((size_t)nq * (s->mlp > d ? s->mlp : d));
    float *dln1 = k_alloc((size_t)n * d);
    /* MLP: x_out = x_mid + gelu(fc)·Wprojᵀ */
    k_copy(dx_mid, dx_out, (size_t)nq * d);
    op_matmul_backward(dtmp, dx_out, w->proj_w, nq, s->mlp, d, K_W_OUT_IN, 0);
    if (s->gelu_exact) op_gelu_backward(dfc, dtmp, a->fc, (size_t)nq * s->mlp, 0);
    else op_quickgelu_backward(dfc, dtmp, a->fc, (size_t)nq * s->mlp, 0);
    op_matmul_backward(dtmp, dfc, w->fc_w, nq, d, s->mlp, K_W_OUT_IN, 0);
    op_layernorm_backward(dx_mid, NULL, NULL, dtmp, a->x_mid, a->ln2_mean, a->ln2_rstd, w->ln2_w,
                          nq, d, 1);
    /* attention: x_mid = x_in + att·Woutᵀ */
    op_matmul_backward(dtmp, dx_mid, w->out_w, nq, d, d, K_W_OUT_IN, 0);
    attention_backward(w, s, a, dtmp, dln1);
    op_layernorm_backward(dx_in, NULL, NULL, dln1, a->x_in, a->ln1_mean, a->ln1_rstd, w->ln1_w,
                          n, d, 0);
    if (s->P > 0) op_scatter_add_rows(dx_in, dx_mid, a->q_idx, nq, d);
    else op_add(dx_in, dx_mid, (size_t)nq * d);
    k_free(dx_mid), k_free(dfc), k_free(dtmp), k_free(dln1);
}
