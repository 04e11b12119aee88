/* core/model/clip_grad.c — weight gradients of a CLIP for pretraining: model-shaped trainable
 * buffers, the full block's backward with weight gradients, the vision stem's weight gradients.
 * Describes computation only; kernels/ does the arithmetic. */
#include "core/model/clip_grad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/model/clip_names.h"

void clip_model_clone(ClipModel *dst, const ClipModel *src, int copy) {
    memset(dst, 0, sizeof *dst);
    dst->cfg = src->cfg;
    dst->logit_scale = src->logit_scale;
    dst->vis.proj_layout = src->vis.proj_layout, dst->txt.proj_layout = src->txt.proj_layout;
    clip_model_alloc_blocks(dst);
    int n, n2;
    ClipTensorDesc *ds = clip_tensor_descs(&src->cfg, (ClipModel *)src, &n);
    ClipTensorDesc *dd = clip_tensor_descs(&dst->cfg, dst, &n2);
    dst->arena = k_alloc(src->arena_floats); /* zero-filled, not declared frozen */
    dst->arena_floats = src->arena_floats;
    for (int i = 0; i < n; i++) {
        if (ds[i].kind == CLIP_T_LOGIT) continue;
        *dd[i].field = dst->arena + (*ds[i].field - src->arena); /* pointer arithmetic only */
    }
    if (copy) k_copy(dst->arena, src->arena, src->arena_floats);
    free(ds), free(dd);
}

/* the attention of a full block without a shared prefix (as clip_block.c's attn_shape) */
static KAttnShape full_attn_shape(const BlockShape *s) {
    int d = s->d, dh = d / s->heads;
    return (KAttnShape){.B = s->B, .Tq = s->T, .Tk = s->T, .heads = s->heads, .dh = dh,
                        .ld_q = 3 * d, .ld_kv = 3 * d, .ld_o = d, .causal = s->causal,
                        .q_pos = NULL, .scale = 1.0f / sqrtf((float)dh)};
}

/* attention sub-layer: d(ln1) [n,d] from datt [n,d], accumulating the qkv weight gradient */
static void attention_backward_weights(const BlockWeights *w, const BlockWeights *dw,
                                       const BlockShape *s, const BlockActs *a,
                                       const float *datt, float *dln1) {
    int n = s->B * s->T, d = s->d;
    KAttnShape as = full_attn_shape(s);
    float *dqkv = k_alloc((size_t)n * 3 * d);
    op_attention_backward(dqkv, dqkv + d, dqkv + 2 * d, datt, a->probs, a->qkv, a->qkv + d,
                          a->qkv + 2 * d, &as, 0);
    op_matmul_weight_grad(dw->qkv_w, dw->qkv_b, dqkv, a->ln1, n, d, 3 * d, K_W_OUT_IN);
    op_matmul_backward(dln1, dqkv, w->qkv_w, n, d, 3 * d, K_W_OUT_IN, 0);
    k_free(dqkv);
}

void block_backward_weights(const BlockWeights *w, const BlockWeights *dw, const BlockShape *s,
                            const BlockActs *a, const float *dx_out, float *dx_in) {
    if (s->P > 0 || s->T_pre > 0 || s->dkv_extra)
        cg_fatal("block_backward_weights: weight gradients need a full block without a shared "
                 "prefix (got %d query rows, %d prefix rows)", s->P, s->T_pre);
    int n = s->B * s->T, d = s->d, mlp = s->mlp;
    float *dx_mid = k_alloc((size_t)n * d), *dfc = k_alloc((size_t)n * mlp);
    float *dtmp = k_alloc((size_t)n * (mlp > d ? mlp : d)), *dln1 = k_alloc((size_t)n * d);
    /* MLP: x_out = x_mid + gelu(ln2·Wfcᵀ + b)·Wprojᵀ + b */
    k_copy(dx_mid, dx_out, (size_t)n * d);
    op_matmul_weight_grad(dw->proj_w, dw->proj_b, dx_out, a->gelu, n, mlp, d, K_W_OUT_IN);
    op_matmul_backward(dtmp, dx_out, w->proj_w, n, mlp, d, K_W_OUT_IN, 0);
    if (s->gelu_exact) op_gelu_backward(dfc, dtmp, a->fc, (size_t)n * mlp, 0);
    else op_quickgelu_backward(dfc, dtmp, a->fc, (size_t)n * mlp, 0);
    op_matmul_weight_grad(dw->fc_w, dw->fc_b, dfc, a->ln2, n, d, mlp, K_W_OUT_IN);
    op_matmul_backward(dtmp, dfc, w->fc_w, n, d, mlp, K_W_OUT_IN, 0);
    op_layernorm_backward(dx_mid, dw->ln2_w, dw->ln2_b, dtmp, a->x_mid, a->ln2_mean, a->ln2_rstd,
                          w->ln2_w, n, d, 1);
    /* attention: x_mid = x_in + att·Woutᵀ + b */
    op_matmul_weight_grad(dw->out_w, dw->out_b, dx_mid, a->att, n, d, d, K_W_OUT_IN);
    op_matmul_backward(dtmp, dx_mid, w->out_w, n, d, d, K_W_OUT_IN, 0);
    attention_backward_weights(w, dw, s, a, dtmp, dln1);
    op_layernorm_backward(dx_in, dw->ln1_w, dw->ln1_b, dln1, a->x_in, a->ln1_mean, a->ln1_rstd,
                          w->ln1_w, n, d, 0);
    op_add(dx_in, dx_mid, (size_t)n * d);
    k_free(dx_mid), k_free(dfc), k_free(dtmp), k_free(dln1);
}

void vision_stem_weight_grads(const ClipModel *m, const ClipModel *g, const float *dz,
                              const float *images, int B) {
    const ClipConfig *c = &m->cfg;
    int W = c->vis.width, N = c->vis_tokens, G = c->grid * c->grid, K = 3 * c->patch * c->patch;
    size_t bs = (size_t)N * W;
    op_sum_batched(g->vis.pos_emb, dz, bs, B, bs, 1);
    op_sum_batched(g->vis.class_emb, dz, bs, B, (size_t)W, 1);
    float *cols = k_alloc((size_t)B * G * K), *dpatch = k_alloc((size_t)B * G * W);
    op_im2col_patches(cols, images, B, c->image_res, c->patch);
    op_copy_batched(dpatch, (size_t)G * W, dz + W, bs, B, (size_t)G * W, 0);
    op_matmul_weight_grad(g->vis.conv_w, NULL, dpatch, cols, B * G, K, W, K_W_OUT_IN);
    k_free(cols), k_free(dpatch);
}
