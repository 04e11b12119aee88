/* core/methods/method_deep.c — shared pieces of MaPLe, MuDPT and MMRL (see method_deep.h). */
#include "core/methods/method_deep.h"

#include <limits.h>
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

/* ---- class prompts ------------------------------------------------------------------------- */

int deep_prompts_build(DeepPrompts *dp, Method *m, const char *tmpl,
                       const char *const *classnames, int C) {
    *dp = (DeepPrompts){0};
    if (!m->env.tok) {
        cg_error_set("%s: class prompts need a tokenizer", m->desc->name);
        return -1;
    }
    if (prompts_build(&dp->p, m->env.tok, tmpl, classnames, C)) return -1;
    method_record_token_ids(m, dp->p.ids, C, dp->p.context);
    const ClipModel *clip = m->env.clip;
    int T = 1, D = clip->cfg.txt.width;
    for (int c = 0; c < C; c++) T = dp->p.eot[c] + 1 > T ? dp->p.eot[c] + 1 : T;
    int *idx = cg_malloc((size_t)C * T * sizeof(int));
    for (int c = 0; c < C; c++)
        for (int t = 0; t < T; t++) idx[c * T + t] = dp->p.ids[(size_t)c * dp->p.context + t];
    dp->T = T;
    dp->embeds = k_alloc((size_t)C * T * D);
    op_gather_rows(dp->embeds, clip->txt.tok_emb, idx, C * T, D);
    free(idx);
    return 0;
}

void deep_prompts_free(DeepPrompts *dp) {
    if (dp->embeds) k_free(dp->embeds);
    prompts_free(&dp->p);
    *dp = (DeepPrompts){0};
}

void deep_prefix_template(char *out, size_t cap, const char *prefix) {
    snprintf(out, cap, "%s {}.", prefix);
}

/* ---- the text tower over this rank's classes ---------------------------------------------- */

static int g_prefix_sharing = 1;
void deep_set_prefix_sharing(int on) { g_prefix_sharing = on; }

/* rows every prompt of the slice shares: the longest common prefix of the token ids (rows
 * 1..n_ctx count as shared: the context replaces them), at most the first end-of-text row (the
 * pooled row must stay in each prompt's own rows), and at least every row a plan op touches;
 * 0 when sharing does not apply */
static int shared_rows(const DeepPrompts *dp, const ClassSplit *cs, int n_ctx,
                       const PromptPlan *plan) {
    if (!g_prefix_sharing || cs->cnt < 2) return 0;
    int ctx = dp->p.context, P = dp->T;
    const int *ids0 = dp->p.ids + (size_t)cs->lo * ctx;
    for (int c = 0; c < cs->cnt; c++) {
        const int *row = ids0 + (size_t)c * ctx;
        int k = 0;
        while (k < P && ((k >= 1 && k <= n_ctx) || row[k] == ids0[k])) k++;
        P = k < dp->p.eot[cs->lo + c] ? k : dp->p.eot[cs->lo + c];
    }
    int need = n_ctx + 1;
    for (int i = 0; plan && i < plan->n; i++) {
        const PlanOp *op = &plan->op[i];
        if (op->per_sample) return 0;
        int end = (op->kind == PLAN_REPLACE ? op->pos + op->rows : op->pos) -
                  plan_inserted_before(plan, op->layer);
        need = end > need ? end : need;
    }
    return P >= need ? P : 0;
}

/* the shared rows [0, P0) of the slice as one keep_kv run (prefix of every prompt), with the
 * plan and the context */
static void prefix_forward(DeepText *t, const Method *m, const DeepPrompts *dp, const ClassSplit *cs,
                           const float *ctx, int n_ctx, const PromptPlan *plan, int grad) {
    int P0 = t->P0, D = t->D;
    t->pre_input = k_alloc((size_t)P0 * D);
    k_copy(t->pre_input, dp->embeds + (size_t)cs->lo * dp->T * D, (size_t)P0 * D);
    if (ctx) k_copy(t->pre_input + D, ctx, (size_t)n_ctx * D);
    int last = P0 - 1 + plan_inserted_before(plan, INT_MAX);
    TowerInput in = tower_input_defaults();
    in.B = 1, in.embeds = t->pre_input, in.T_in = P0, in.plan = plan, in.pool_rows = &last;
    in.want_grad = grad, in.keep_kv = 1;
    if (grad && ctx) in.d_input = t->d_pre_input = k_alloc((size_t)P0 * D);
    t->pre = tower_forward(m->env.clip, TOWER_TEXT, &in);
}

void deep_text_forward(DeepText *t, const Method *m, const DeepPrompts *dp, const ClassSplit *cs,
                       const float *ctx, int n_ctx, const PromptPlan *plan, int pool_shift,
                       int grad) {
    const ClipModel *clip = m->env.clip;
    int n = cs->cnt, T = dp->T, D = clip->cfg.txt.width, E = clip->cfg.embed;
    *t = (DeepText){.T = T, .D = D};
    t->feat = k_alloc((size_t)m->C * E);
    if (n > 0) {
        t->P0 = shared_rows(dp, cs, ctx ? n_ctx : 0, plan);
        if (t->P0 > 0) prefix_forward(t, m, dp, cs, ctx, n_ctx, plan, grad);
        int P0 = t->P0, Tc = T - P0;
        t->input = k_alloc((size_t)n * Tc * D);
        op_copy_batched(t->input, (size_t)Tc * D, dp->embeds + ((size_t)cs->lo * T + P0) * D,
                        (size_t)T * D, n, (size_t)Tc * D, 0);
        if (ctx && !P0) op_copy_batched(t->input + D, (size_t)T * D, ctx, 0, n, (size_t)n_ctx * D, 0);
        int *pool = cg_malloc((size_t)n * sizeof(int));
        for (int i = 0; i < n; i++) pool[i] = dp->p.eot[cs->lo + i] + (P0 ? -P0 : pool_shift);
        TowerInput in = tower_input_defaults();
        in.B = n, in.embeds = t->input, in.T_in = Tc, in.pool_rows = pool, in.want_grad = grad;
        if (P0) in.prefix = t->pre, in.prefix_group = n;
        else in.plan = plan;
        if (grad && ctx && !P0) in.d_input = t->d_input = k_alloc((size_t)n * T * D);
        t->run = tower_forward(clip, TOWER_TEXT, &in);
        free(pool);
    }
    class_split_gather(m->env.comm, cs, t->run ? tower_features(t->run) : t->feat, t->feat);
}

void deep_text_backward(DeepText *t, const Method *m, const ClassSplit *cs, float *d_feat,
                        float *d_ctx, int n_ctx) {
    float *d_mine = class_split_reduce(m->env.comm, cs, d_feat);
    if (!t->run) return;
    tower_backward(t->run, NULL, d_mine);
    if (t->pre) {
        tower_backward(t->pre, NULL, NULL); /* the continuations' gradients w.r.t. its K|V */
        if (d_ctx && t->d_pre_input) op_add(d_ctx, t->d_pre_input + t->D, (size_t)n_ctx * t->D);
    } else if (d_ctx && t->d_input) {
        op_sum_batched(d_ctx, t->d_input + t->D, (size_t)t->T * t->D, cs->cnt,
                       (size_t)n_ctx * t->D, 1);
    }
}

void deep_text_free(DeepText *t) {
    if (t->run) tower_free(t->run);
    if (t->pre) tower_free(t->pre);
    float *bufs[] = {t->input, t->d_input, t->pre_input, t->d_pre_input, t->feat};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) k_free(bufs[i]);
    *t = (DeepText){0};
}

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
