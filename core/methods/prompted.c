/* core/methods/prompted.c — the prompted-CLIP skeleton (see prompted.h): class prompts, the text
 * tower over this rank's slice of the classes with the shared prefix, the evaluation text cache,
 * the cosine head's cross-entropy, and the method entry points built from a method's hooks. */
#include "core/methods/prompted.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static Prompted *pr(Method *m) { return m->state; }

void *prompted_create(Method *m, size_t state_size, const PromptedHooks *hooks) {
    Prompted *s = cg_calloc(1, state_size);
    s->hooks = hooks, s->prefix_sharing = 1;
    m->state = s;
    return s;
}

void prompted_set_prefix_sharing(Method *m, int on) { pr(m)->prefix_sharing = on; }

void prompted_prefix_template(char *out, size_t cap, const char *prefix) {
    snprintf(out, cap, "%s {}.", prefix);
}

/* ---- class prompts ------------------------------------------------------------------------- */

static int class_prompts(DeepPrompts *dp, Method *m, const char *tmpl,
                         const char *const *classnames, int C) {
    *dp = (DeepPrompts){0};
    const ClipModel *clip = m->env.clip;
    if (!m->env.tok) {
        cg_error_set("%s: class prompts need a tokenizer", m->desc->name);
        return -1;
    }
    if (prompts_build(&dp->p, m->env.tok, tmpl, classnames, C, clip->cfg.context)) return -1;
    method_record_token_ids(m, dp->p.ids, C, dp->p.context);
    dp->T = prompts_rows(&dp->p, 0, C);
    dp->embeds = k_alloc((size_t)C * dp->T * clip->cfg.txt.width);
    prompts_embed(clip, &dp->p, 0, C, dp->T, dp->embeds);
    return 0;
}

static void prompts_drop(DeepPrompts *dp) {
    if (dp->embeds) k_free(dp->embeds);
    prompts_free(&dp->p);
    *dp = (DeepPrompts){0};
}

static void drop_cache(Prompted *s) {
    if (s->txt_cache) k_free(s->txt_cache);
    s->txt_cache = NULL;
}

int prompted_set_classes(Method *m, const char *tmpl, const char *const *classnames, int C,
                         int min_T) {
    Prompted *s = pr(m);
    DeepPrompts dp;
    if (class_prompts(&dp, m, tmpl, classnames, C)) return -1;
    if (dp.T < min_T) {
        prompts_drop(&dp);
        cg_error_set("%s: class prompts shorter than the %d context rows", m->desc->name, min_T - 2);
        return -1;
    }
    if (s->have_classes) prompts_drop(&s->prompts), class_split_free(&s->cs);
    s->prompts = dp, s->have_classes = 1, m->C = C;
    class_split_init(&s->cs, m->env.comm, C, m->env.clip->cfg.embed);
    drop_cache(s);
    return 0;
}

/* ---- the text tower over this rank's classes ---------------------------------------------- */

/* rows every prompt of the slice shares: the longest common prefix of the token ids (rows
 * 1..n_ctx count as shared: the context replaces them), at most the first end-of-text row (the
 * pooled row must stay in each prompt's own rows), and at least every row a plan op touches;
 * 0 when sharing does not apply */
static int shared_rows(const Prompted *s, int n_ctx, const PromptPlan *plan) {
    const DeepPrompts *dp = &s->prompts;
    const ClassSplit *cs = &s->cs;
    if (!s->prefix_sharing || cs->cnt < 2) return 0;
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
static void prefix_forward(Method *m, PromptedStep *p, int grad) {
    const DeepPrompts *dp = &pr(m)->prompts;
    DeepText *t = &p->text;
    int P0 = t->P0, D = t->D;
    t->pre_input = k_alloc((size_t)P0 * D);
    k_copy(t->pre_input, dp->embeds + (size_t)pr(m)->cs.lo * dp->T * D, (size_t)P0 * D);
    if (p->ctx) k_copy(t->pre_input + D, p->ctx, (size_t)p->n_ctx * D);
    int last = P0 - 1 + plan_inserted_before(&p->tplan, INT_MAX);
    TowerInput in = tower_input_defaults();
    in.B = 1, in.embeds = t->pre_input, in.T_in = P0, in.plan = &p->tplan, in.pool_rows = &last;
    in.want_grad = grad, in.keep_kv = 1;
    if (grad && p->ctx) in.d_input = t->d_pre_input = k_alloc((size_t)P0 * D);
    t->pre = tower_forward(m->env.clip, TOWER_TEXT, &in);
}

/* the slice's own rows [P0, T) of every prompt (all of them without sharing) */
static void slice_forward(Method *m, PromptedStep *p, int grad) {
    const Prompted *s = pr(m);
    const DeepPrompts *dp = &s->prompts;
    DeepText *t = &p->text;
    int n = s->cs.cnt, lo = s->cs.lo, T = t->T, D = t->D, P0 = t->P0, Tc = T - P0;
    t->input = k_alloc((size_t)n * Tc * D);
    op_copy_batched(t->input, (size_t)Tc * D, dp->embeds + ((size_t)lo * T + P0) * D,
                    (size_t)T * D, n, (size_t)Tc * D, 0);
    if (p->ctx && !P0)
        op_copy_batched(t->input + D, (size_t)T * D, p->ctx, 0, n, (size_t)p->n_ctx * D, 0);
    int *pool = cg_malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) pool[i] = dp->p.eot[lo + i] + (P0 ? -P0 : p->pool_shift);
    TowerInput in = tower_input_defaults();
    in.B = n, in.embeds = t->input, in.T_in = Tc, in.pool_rows = pool, in.want_grad = grad;
    if (P0) in.prefix = t->pre, in.prefix_group = n;
    else in.plan = &p->tplan;
    if (grad && p->ctx && !P0) in.d_input = t->d_input = k_alloc((size_t)n * T * D);
    t->run = tower_forward(m->env.clip, TOWER_TEXT, &in);
    free(pool);
}

void prompted_text_forward(Method *m, PromptedStep *p, int grad) {
    Prompted *s = pr(m);
    const ClipModel *clip = m->env.clip;
    DeepText *t = &p->text;
    *t = (DeepText){.T = s->prompts.T, .D = clip->cfg.txt.width};
    t->feat = k_alloc((size_t)m->C * clip->cfg.embed);
    if (s->cs.cnt > 0) {
        t->P0 = shared_rows(s, p->ctx ? p->n_ctx : 0, &p->tplan);
        if (t->P0 > 0) prefix_forward(m, p, grad);
        slice_forward(m, p, grad);
    }
    class_split_gather(m->env.comm, &s->cs, t->run ? tower_features(t->run) : t->feat, t->feat);
}

/* d_feat [C,E]: this rank's share of the gradient at every class's raw features; summed over
 * the group (in place), then through the tower; p->d_ctx (+)= the input gradient at rows
 * 1..n_ctx summed over the slice */
static void text_backward(Method *m, PromptedStep *p, float *d_feat) {
    const ClassSplit *cs = &pr(m)->cs;
    DeepText *t = &p->text;
    float *d_mine = class_split_reduce(m->env.comm, cs, d_feat);
    if (!t->run) return;
    tower_backward(t->run, NULL, d_mine);
    size_t nd = (size_t)p->n_ctx * t->D;
    if (t->pre) {
        tower_backward(t->pre, NULL, NULL); /* the continuations' gradients w.r.t. its K|V */
        if (p->d_ctx && t->d_pre_input) op_add(p->d_ctx, t->d_pre_input + t->D, nd);
    } else if (p->d_ctx && t->d_input) {
        op_sum_batched(p->d_ctx, t->d_input + t->D, (size_t)t->T * t->D, cs->cnt, nd, 1);
    }
}

static void text_free(DeepText *t) {
    if (t->run) tower_free(t->run);
    if (t->pre) tower_free(t->pre);
    float *bufs[] = {t->input, t->d_input, t->pre_input, t->d_pre_input, t->feat};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) k_free(bufs[i]);
    *t = (DeepText){0};
}

TowerRun *prompted_vision_forward(Method *m, PromptedStep *p, const float *images, int b, int grad) {
    TowerInput in = tower_input_defaults();
    in.B = b, in.images = images, in.plan = &p->vplan, in.want_grad = grad;
    if (pr(m)->hooks->vision_input) pr(m)->hooks->vision_input(m, p, &in);
    return tower_forward(m->env.clip, TOWER_VISION, &in);
}

/* ---- one pass --------------------------------------------------------------------------- */

static PromptedStep *step_begin(Method *m, const float *images, int b, int grad) {
    PromptedStep *p = cg_calloc(1, pr(m)->hooks->step_size);
    pr(m)->hooks->begin(m, p, images, b, grad);
    return p;
}

static void step_end(Method *m, PromptedStep *p) {
    pr(m)->hooks->end(p);
    text_free(&p->text);
    free(p);
}

/* cross-entropy of exp(logit_scale)·cos; the vision run's backward */
static double ce_loss(Method *m, PromptedStep *p, TowerRun *vr, const int *labels, int b,
                      int b_global, float *d_txt, float *logits) {
    int C = m->C, E = m->env.clip->cfg.embed;
    CosHead h;
    cos_head_forward(&h, tower_features(vr), p->text.feat, b, C, E, expf(m->env.clip->logit_scale));
    if (m->record && pr(m)->hooks->record) pr(m)->hooks->record(m, p, vr, &h, b);
    if (logits && b > 0) k_copy(logits, h.logits, (size_t)b * C);
    float *dimg = k_alloc((size_t)b * E);
    double loss = cos_head_ce(&h, labels, b_global, dimg, d_txt);
    tower_backward(vr, NULL, dimg);
    k_free(dimg);
    cos_head_free(&h);
    return loss;
}

double prompted_forward_backward(Method *m, const float *images, const int *labels, int b,
                                 int b_global, float *logits) {
    Prompted *s = pr(m);
    if (!s->have_classes) cg_fatal("%s: forward_backward before set_classes", m->desc->name);
    drop_cache(s);
    PromptedStep *p = step_begin(m, images, b, 1);
    TowerRun *vr = prompted_vision_forward(m, p, images, b, 1);
    prompted_text_forward(m, p, 1);
    float *dtxt = k_alloc((size_t)m->C * m->env.clip->cfg.embed);
    double loss = (s->hooks->loss ? s->hooks->loss : ce_loss)(m, p, vr, labels, b, b_global, dtxt, logits);
    text_backward(m, p, dtxt);
    s->hooks->backward(m, p);
    k_free(dtxt);
    tower_free(vr);
    step_end(m, p);
    return loss;
}

/* raw text features of the current classes (cached until the parameters change) */
static const float *eval_text(Method *m) {
    Prompted *s = pr(m);
    if (s->txt_cache && s->cache_version == m->params_version) return s->txt_cache;
    drop_cache(s);
    PromptedStep *p = step_begin(m, NULL, 0, 0);
    prompted_text_forward(m, p, 0);
    s->txt_cache = p->text.feat, p->text.feat = NULL;
    s->cache_version = m->params_version;
    step_end(m, p);
    return s->txt_cache;
}

static void cos_infer(Method *m, PromptedStep *p, TowerRun *vr, const float *txt, int b,
                      EvalMode mode, float *logits) {
    (void)p, (void)mode;
    CosHead h;
    cos_head_forward(&h, tower_features(vr), txt, b, m->C, m->env.clip->cfg.embed,
                     expf(m->env.clip->logit_scale));
    deep_logits_to_host(logits, h.logits, b, m->C);
    if (m->record) deep_record(m, "logits", h.logits, b, m->C, 0);
    cos_head_free(&h);
}

void prompted_logits(Method *m, const float *images, int b, EvalMode mode, float *logits) {
    Prompted *s = pr(m);
    if (!s->have_classes) cg_fatal("%s: logits before set_classes", m->desc->name);
    const float *txt = eval_text(m);
    PromptedStep *p = step_begin(m, images, b, 0);
    TowerRun *vr = prompted_vision_forward(m, p, images, b, 0);
    (s->hooks->infer ? s->hooks->infer : cos_infer)(m, p, vr, txt, b, mode, logits);
    tower_free(vr);
    step_end(m, p);
}

void prompted_destroy(Method *m) {
    Prompted *s = pr(m);
    if (!s) return;
    if (s->have_classes) prompts_drop(&s->prompts), class_split_free(&s->cs);
    drop_cache(s);
    free(s);
    m->state = NULL;
}
