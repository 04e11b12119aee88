/* core/methods/cos_head.c — CLIP's logit head (see cos_head.h). */
#include "core/methods/cos_head.h"

#include <math.h>

#include "kernels/ops.h"

void cos_head_forward(CosHead *h, const float *img, const float *txt, int B, int C, int E,
                      float scale) {
    *h = (CosHead){.B = B, .C = C, .E = E, .scale = scale};
    h->img_n = k_alloc((size_t)B * E), h->img_norm = k_alloc((size_t)B);
    op_l2norm(h->img_n, h->img_norm, img, B, E);
    h->txt_n = k_alloc((size_t)C * E), h->txt_norm = k_alloc((size_t)C);
    op_l2norm(h->txt_n, h->txt_norm, txt, C, E);
    /* CoOp's order: (τ·x̂) then the product with the normalised text features */
    float *scaled = k_alloc((size_t)B * E);
    k_copy(scaled, h->img_n, (size_t)B * E);
    op_scale(scaled, scale, (size_t)B * E);
    h->logits = k_alloc((size_t)B * C);
    op_matmul(h->logits, scaled, h->txt_n, NULL, B, E, C, K_W_OUT_IN, 0);
    k_free(scaled);
}

void cos_head_backward(const CosHead *h, const float *dlogits, float *d_img_n, float *d_txt_n,
                       int acc) {
    int B = h->B, C = h->C, E = h->E;
    float *ds = k_alloc((size_t)B * C);
    k_copy(ds, dlogits, (size_t)B * C);
    op_scale(ds, h->scale, (size_t)B * C);
    /* d x̂ = ds·ŷ (ŷ as an [in=C, out=E] matrix) */
    if (d_img_n) op_matmul(d_img_n, ds, h->txt_n, NULL, B, C, E, K_W_IN_OUT, acc);
    /* d ŷ [C,E] = dsᵀ·x̂: the weight gradient of a dense layer with input x̂ and output ds */
    if (d_txt_n) {
        if (!acc) k_zero(d_txt_n, (size_t)C * E);
        op_dense_backward(NULL, d_txt_n, NULL, ds, h->img_n, NULL, B, E, C, 0);
    }
    k_free(ds);
}

void cos_head_free(CosHead *h) {
    float *bufs[] = {h->img_n, h->img_norm, h->txt_n, h->txt_norm, h->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) k_free(bufs[i]);
    *h = (CosHead){0};
}

double cos_head_ce(const CosHead *h, const int *labels, int b_global, float *d_img, float *d_txt) {
    int b = h->B, C = h->C, E = h->E;
    float share = (float)b / (float)b_global;
    float *dl = k_alloc((size_t)b * C), *dimg_n = k_alloc((size_t)b * E);
    float *dtxt_n = k_alloc((size_t)C * E);
    double loss = op_cross_entropy(dl, h->logits, labels, b, C, share) * share;
    cos_head_backward(h, dl, dimg_n, dtxt_n, 0);
    op_l2norm_backward(d_img, dimg_n, h->img_n, h->img_norm, b, E, 0);
    op_l2norm_backward(d_txt, dtxt_n, h->txt_n, h->txt_norm, C, E, 0);
    k_free(dl), k_free(dimg_n), k_free(dtxt_n);
    return loss;
}

/* d_img, d_txt from the logit gradient dl in CoOp's order: (dl·ŷ)·τ and dlᵀ·(τ·x̂) */
static void clip_head_backward(const CosHead *h, const float *dl, float *d_img, float *d_txt) {
    int b = h->B, C = h->C, E = h->E;
    if (d_img) {
        float *dn = k_alloc((size_t)b * E);
        op_matmul(dn, dl, h->txt_n, NULL, b, C, E, K_W_IN_OUT, 0);
        op_scale(dn, h->scale, (size_t)b * E);
        op_l2norm_backward(d_img, dn, h->img_n, h->img_norm, b, E, 0);
        k_free(dn);
    }
    if (d_txt) {
        float *dn = k_alloc((size_t)C * E), *scaled = k_alloc((size_t)b * E);
        k_copy(scaled, h->img_n, (size_t)b * E);
        op_scale(scaled, h->scale, (size_t)b * E);
        op_dense_backward(NULL, dn, NULL, dl, scaled, h->txt_n, b, E, C, 0);
        op_l2norm_backward(d_txt, dn, h->txt_n, h->txt_norm, C, E, 0);
        k_free(dn), k_free(scaled);
    }
}

double clip_head(const float *img, const float *txt, int b, int C, int E, float logit_scale,
                 const int *labels, int b_global, float *logits, float *d_img, float *d_txt,
                 float *img_n, float *txt_n) {
    CosHead h;
    cos_head_forward(&h, img, txt, b, C, E, expf(logit_scale));
    k_copy(logits, h.logits, (size_t)b * C);
    if (img_n) k_copy(img_n, h.img_n, (size_t)b * E);
    if (txt_n) k_copy(txt_n, h.txt_n, (size_t)C * E);
    double loss = 0;
    if (labels) {
        double share = (double)b / (double)(b_global > 0 ? b_global : b);
        float *dl = (d_img || d_txt) ? k_alloc((size_t)b * C) : NULL;
        loss = op_cross_entropy(dl, h.logits, labels, b, C, (float)share) * share;
        if (dl) clip_head_backward(&h, dl, d_img, d_txt), k_free(dl);
    }
    cos_head_free(&h);
    return loss;
}
