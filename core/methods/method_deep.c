/* core/methods/method_deep.c — initial values, the cosine head and small helpers of MaPLe, MuDPT
 * and MMRL (see method_deep.h). */
#include "core/methods/method_deep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_config.h"
#include "core/text/tokenizer.h"
#include "base/util.h"

/* ---- initial values ------------------------------------------------------------------------ */

static const ParamTensor *tensor_of(Method *m, const char *name) {
    int i = param_find(&m->params, name);
    if (i < 0) cg_fatal("method %s: no learnable tensor %s", m->ops->name, name);
    return &m->params.t[i];
}

static float *data_of(Method *m, const char *name, size_t *n) {
    const ParamTensor *t = tensor_of(m, name);
    *n = t->numel;
    return m->params.data + t->offset;
}

/* the streams of core/methods/method_common.c, keyed by (seed, tensor name) */
void deep_init_normal(Method *m, const char *name, double std) {
    size_t n;
    float *d = data_of(m, name, &n);
    method_init_normal(m, name, d, n, std);
}

void deep_init_uniform(Method *m, const char *name, double bound) {
    size_t n;
    float *d = data_of(m, name, &n);
    method_init_uniform(m, name, d, n, bound);
}

void deep_init_const(Method *m, const char *name, float value) {
    size_t n;
    float *d = data_of(m, name, &n);
    k_fill(d, value, n);
}

void deep_init_copy(Method *m, const char *dst, const char *src) {
    const ParamTensor *d = tensor_of(m, dst), *s = tensor_of(m, src);
    if (d->numel != s->numel) cg_fatal("deep_init_copy: %s and %s differ in size", dst, src);
    k_copy(m->params.data + d->offset, m->params.data + s->offset, d->numel);
}

int deep_init_words(Method *m, const char *name, const char *phrase, int n) {
    const ParamTensor *t = tensor_of(m, name);
    const ClipModel *clip = m->env.clip;
    int D = clip->cfg.txt.width, ctx = clip->cfg.context;
    if (!m->env.tok) {
        cg_error_set("%s: initialising %s from \"%s\" needs a tokenizer", m->ops->name, name, phrase);
        return -1;
    }
    if (t->numel != (size_t)n * D) cg_fatal("deep_init_words: %s is not [%d, %d]", name, n, D);
    int *ids = cg_calloc((size_t)ctx, sizeof(int));
    char *clean = cg_strdup(phrase);
    for (char *c = clean; *c; c++) *c = *c == '_' ? ' ' : *c;
    int rc = tokenizer_tokenize77(m->env.tok, clean, ids, ctx);
    free(clean);
    if (rc < 0) return free(ids), -1;
    if (n + 1 > ctx) cg_fatal("deep_init_words: %d context rows", n);
    op_gather_rows(m->params.data + t->offset, clip->txt.tok_emb, ids + 1, n, D);
    free(ids);
    return 0;
}

void deep_declare(Method *m, const char *name, int d0, int d1, int d2) {
    int shape[3] = {d0, d1, d2}, nd = d2 > 0 ? 3 : d1 > 0 ? 2 : 1;
    param_declare(&m->params, name, nd, shape);
}

double deep_linear_bound(int fan_in) { return 1.0 / sqrt((double)fan_in); }

/* ---- cosine logits --------------------------------------------------------------------------- */

void cos_head_forward(CosHead *h, const float *img, const float *txt, int B, int C, int E,
                      float scale) {
    *h = (CosHead){.B = B, .C = C, .E = E, .scale = scale};
    h->img_n = k_alloc((size_t)B * E), h->img_norm = k_alloc((size_t)B);
    op_l2norm(h->img_n, h->img_norm, img, B, E);
    if (txt) {
        h->txt_n = k_alloc((size_t)C * E), h->txt_norm = k_alloc((size_t)C);
        op_l2norm(h->txt_n, h->txt_norm, txt, C, E);
    }
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

/* ---- helpers ------------------------------------------------------------------------------- */

void deep_axpy(float *y, float alpha, const float *x, size_t n) {
    float *t = k_alloc(n);
    k_copy(t, x, n);
    op_scale(t, alpha, n);
    op_add(y, t, n);
    k_free(t);
}

double deep_dot(const float *x, const float *y, size_t n) {
    float *out = k_alloc(1), v;
    op_matmul(out, x, y, NULL, 1, (int)n, 1, K_W_OUT_IN, 0);
    k_download(&v, out, 1);
    k_free(out);
    return v;
}

void deep_record_scalar(Method *m, const char *name, double v) {
    if (!m->record) return;
    float f = (float)v, *dev = k_alloc(1);
    k_upload(dev, &f, 1);
    method_record(m, name, dev, 0, NULL);
    k_free(dev);
}

void deep_record(Method *m, const char *name, const float *dev, int d0, int d1, int d2) {
    int shape[3] = {d0, d1, d2}, nd = d2 > 0 ? 3 : d1 > 0 ? 2 : 1;
    method_record(m, name, dev, nd, shape);
}

void deep_logits_to_host(float *host, const float *dev, int B, int C) {
    k_download(host, dev, (size_t)B * C);
}
