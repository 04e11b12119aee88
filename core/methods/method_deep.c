/* core/methods/method_deep.c — initial values and small helpers of MaPLe, MuDPT and MMRL (see
 * method_deep.h). */
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
    if (i < 0) cg_fatal("method %s: no learnable tensor %s", m->desc->name, name);
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
        cg_error_set("%s: initialising %s from \"%s\" needs a tokenizer", m->desc->name, name, phrase);
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
