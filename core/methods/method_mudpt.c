/* core/methods/method_mudpt.c — MuDPT as its UUMuDPT trainer (methods.md §3): text prompts
 * T_0..T_{J−1} (T_0 in place of the first n words of "a photo {class}."), visual prompts
 * V_0..V_{J−1}, and two injection networks (core/methods/mudpt_inject.h): T' = 𝒢_t(T_0..T_{J−1}) into
 * the vision width, V' = 𝒢_v(V_1..V_{J−1}) into the text width. The vision tower gets
 * V_0 + T'_0 appended after the patches before ln_pre and V_i + T'_i replacing the last n rows
 * before block i; the text tower gets T_i + V'_i replacing rows 1..n before block i.
 * Loss: cross-entropy of exp(logit_scale)·cos. Written on the prompted-CLIP skeleton
 * (core/methods/prompted.h): this file holds the prompt vectors, their plans and their backward.
 * Learnable tensors keep the official names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_tower.h"
#include "core/methods/method_impl.h"
#include "core/methods/prompted.h"
#include "core/methods/mudpt_inject.h"
#include "base/util.h"

#define CTX "uumudpt_prompt_learner.ctx"
#define DEEP "uumudpt_prompt_learner.deep_prompts"
#define VCTX "image_encoder.visual_ctx"
#define VDEEP "image_encoder.visual_ctx_deep_prompts"

static const InjectNames T2V = {"uumudpt_prompt_learner.ln_pre", "uumudpt_prompt_learner.self_attn",
                                "uumudpt_prompt_learner.ln_post",
                                "uumudpt_prompt_learner.visual_proj"};
static const InjectNames V2T = {"image_encoder.visual_ctx_ln_intra_pre",
                                "image_encoder.visual_ctx_self_attn",
                                "image_encoder.visual_ctx_ln_intra_post",
                                "image_encoder.visual_ctx_text_proj"};

typedef struct {
    Prompted base;
    int n, J, D, W, N, E;
} Mudpt;

typedef struct {
    PromptedStep base;      /* text: T_0 at rows 1..n */
    InjectNet t2v, v2t;
    InjectRun rt, rv;       /* T' = rt.out [J*n, W], V' = rv.out [(J−1)*n, D] */
    float *vis, *d_vis;     /* [J*n, W]: V + T' */
    float *txt, *d_txt;     /* [(J−1)*n, D]: T_{1..} + V' */
} MudptStep;

static Mudpt *st(Method *m) { return m->state; }
static float *P(Method *m, const char *name, int grad) {
    return grad ? param_grad(&m->params, name) : param_data(&m->params, name);
}

static const PromptedHooks mudpt_hooks;

static int mudpt_build(Method *m) {
    const MethodConfig *c = &m->env.cfg;
    const ClipModel *clip = m->env.clip;
    Mudpt *s = prompted_create(m, sizeof *s, &mudpt_hooks);
    s->n = c->n_ctx, s->J = c->prompt_depth;
    s->D = clip->cfg.txt.width, s->W = clip->cfg.vis.width;
    s->N = clip->cfg.vis_tokens, s->E = clip->cfg.embed;
    if (s->n < 1 || s->J < 2 || s->J > clip->cfg.txt.layers || s->J > clip->cfg.vis.layers) {
        cg_error_set("mudpt: n_ctx %d and prompt depth %d (2..%d) are out of range", s->n, s->J,
                     clip->cfg.txt.layers);
        return -1;
    }
    /* the official order; [ctx; deep_prompts] and [visual_ctx; visual_ctx_deep_prompts] are
     * each contiguous in the block, so each is one [J*n, width] matrix */
    deep_declare(m, CTX, s->n, s->D, 0);
    deep_declare(m, DEEP, s->J - 1, s->n, s->D);
    inject_declare(m, &T2V, s->D, s->W);
    deep_declare(m, VCTX, s->n, s->W, 0);
    deep_declare(m, VDEEP, s->J - 1, s->n, s->W);
    inject_declare(m, &V2T, s->W, s->D);
    param_alloc(&m->params);
    if (P(m, DEEP, 0) != P(m, CTX, 0) + (size_t)s->n * s->D ||
        P(m, VDEEP, 0) != P(m, VCTX, 0) + (size_t)s->n * s->W)
        cg_fatal("mudpt: the prompt tensors are not contiguous in the parameter block");
    if (c->ctx_init[0]) {
        if (deep_init_words(m, CTX, c->ctx_init, s->n)) return -1;
    } else {
        deep_init_normal(m, CTX, 0.02);
    }
    deep_init_normal(m, DEEP, 0.02);
    inject_init(m, &T2V, s->D, s->W);
    deep_init_normal(m, VCTX, 0.02);
    deep_init_normal(m, VDEEP, 0.02);
    inject_init(m, &V2T, s->W, s->D);
    return 0;
}

/* "a photo {}." : the first n words of ctx_init, or n × "X" */
static void class_template(const Mudpt *s, const MethodConfig *c, char *tmpl, size_t cap) {
    char prefix[160] = "";
    if (c->ctx_init[0]) {
        char words[128];
        snprintf(words, sizeof words, "%s", c->ctx_init);
        for (char *p = words; *p; p++) *p = *p == '_' ? ' ' : *p;
        char *save = NULL;
        int k = 0;
        for (char *w = strtok_r(words, " \t", &save); w && k < s->n; w = strtok_r(NULL, " \t", &save), k++) {
            if (k) strncat(prefix, " ", sizeof prefix - strlen(prefix) - 1);
            strncat(prefix, w, sizeof prefix - strlen(prefix) - 1);
        }
    } else {
        for (int i = 0; i < s->n && strlen(prefix) + 3 < sizeof prefix; i++) strcat(prefix, i ? " X" : "X");
    }
    prompted_prefix_template(tmpl, cap, prefix);
}

static int mudpt_set_classes(Method *m, const char *const *classnames, int C, const char *dataset) {
    Mudpt *s = st(m);
    char tmpl[200];
    class_template(s, &m->env.cfg, tmpl, sizeof tmpl);
    return prompted_set_classes(m, tmpl, classnames, C, s->n + 2);
}

/* both injections, the summed prompts and the plans */
static void mudpt_begin(Method *m, PromptedStep *ps, const float *images, int b, int grad) {
    (void)images, (void)b;
    Mudpt *s = st(m);
    MudptStep *p = (MudptStep *)ps;
    int n = s->n, J = s->J, D = s->D, W = s->W;
    size_t nw = (size_t)n * W, nd = (size_t)n * D;
    inject_bind(m, &T2V, D, W, &p->t2v);
    inject_bind(m, &V2T, W, D, &p->v2t);
    inject_forward(&p->t2v, &p->rt, P(m, CTX, 0), J, n);
    inject_forward(&p->v2t, &p->rv, P(m, VDEEP, 0), J - 1, n);
    p->vis = k_alloc(J * nw), p->txt = k_alloc((J - 1) * nd);
    k_copy(p->vis, p->rt.out, J * nw);
    op_add(p->vis, P(m, VCTX, 0), J * nw);
    k_copy(p->txt, p->rv.out, (J - 1) * nd);
    op_add(p->txt, P(m, DEEP, 0), (J - 1) * nd);
    if (grad) p->d_vis = k_alloc(J * nw), p->d_txt = k_alloc((J - 1) * nd);
    plan_add(&ps->vplan, PLAN_INSERT, -1, s->N, n, 0, p->vis, grad ? p->d_vis : NULL);
    for (int i = 1; i < J; i++) {
        plan_add(&ps->vplan, PLAN_REPLACE, i, s->N, n, 0, p->vis + i * nw, grad ? p->d_vis + i * nw : NULL);
        plan_add(&ps->tplan, PLAN_REPLACE, i, 1, n, 0, p->txt + (i - 1) * nd,
                 grad ? p->d_txt + (i - 1) * nd : NULL);
    }
    ps->ctx = P(m, CTX, 0), ps->n_ctx = n;
    if (grad) ps->d_ctx = P(m, CTX, 1); /* T_0 at the input */
}

static void mudpt_end(PromptedStep *ps) {
    MudptStep *p = (MudptStep *)ps;
    inject_run_free(&p->rt), inject_run_free(&p->rv);
    float *bufs[] = {p->vis, p->d_vis, p->txt, p->d_txt};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) k_free(bufs[i]);
}

static void mudpt_record(Method *m, PromptedStep *ps, TowerRun *vr, const CosHead *h, int b) {
    Mudpt *s = st(m);
    MudptStep *p = (MudptStep *)ps;
    deep_record(m, "t2v_visual_prompts", p->rt.out, s->J, s->n, s->W);
    deep_record(m, "v2t_text_prompts", p->rv.out, s->J - 1, s->n, s->D);
    deep_record(m, "image_features_raw", tower_features(vr), b, s->E, 0);
    deep_record(m, "image_features", h->img_n, b, s->E, 0);
    deep_record(m, "text_features_raw", ps->text.feat, m->C, s->E, 0);
    deep_record(m, "text_features", h->txt_n, m->C, s->E, 0);
    deep_record(m, "logits", h->logits, b, m->C, 0);
}

/* from the gradients of the summed prompts to the prompts and both networks */
static void mudpt_backward(Method *m, PromptedStep *ps) {
    Mudpt *s = st(m);
    MudptStep *p = (MudptStep *)ps;
    int n = s->n, J = s->J, D = s->D;
    size_t nw = (size_t)n * s->W, nd = (size_t)n * D;
    op_add(P(m, VCTX, 1), p->d_vis, J * nw);            /* V_i directly */
    op_add(P(m, DEEP, 1), p->d_txt, (J - 1) * nd);      /* T_i directly (i ≥ 1) */
    inject_backward(&p->t2v, &p->rt, p->d_vis, P(m, CTX, 1), 1);   /* into T_0..T_{J−1} */
    inject_backward(&p->v2t, &p->rv, p->d_txt, P(m, VDEEP, 1), 1); /* into V_1..V_{J−1} */
}

static const PromptedHooks mudpt_hooks = {
    .step_size = sizeof(MudptStep),
    .begin = mudpt_begin,
    .end = mudpt_end,
    .backward = mudpt_backward,
    .record = mudpt_record,
};

/* methods.md §3.7: SGD 0.0025, batch 4, 10 epochs, n = 2, D = 9, "a photo of a"; for
 * cross-dataset / domain generalisation the release is silent: D = 9 and the UMuDPT yaml's
 * 5 epochs (the scripts evaluate epoch 5 there) */
static void mudpt_defaults(MethodConfig *c, const char *setting, const char *dataset) {
    (void)dataset;
    c->n_ctx = 2, c->prompt_depth = 9;
    snprintf(c->ctx_init, sizeof c->ctx_init, "a photo of a");
    c->train.batch = 4, c->train.test_batch = 100, c->train.epochs = 10, c->train.lr = 0.0025;
    if (setting && (!strcmp(setting, "cross_dataset") || !strcmp(setting, "domain_generalization")))
        c->train.epochs = 5;
}

static const MethodKey MUDPT_KEYS[] = {KEY_N_CTX, KEY_CTX_INIT, KEY_DEPTH, KEY_PROMPT_DEPTH, KEY_END};

/* cost factor: not in the demo sweep; MaPLe's (the same deep prompts) */
const MethodDesc mudpt_method = {
    .name = "mudpt", .display = "MuDPT", .trainer = "UUMuDPT", .trainer_alias = "MuDPT",
    .trains = 1, .keys = MUDPT_KEYS, .defaults = mudpt_defaults,
    .cost = method_cost_deep_prompts, .cost_factor = 1.05, .check = method_check_depth,
    .ops = {mudpt_build, mudpt_set_classes, prompted_forward_backward, prompted_logits,
            prompted_destroy},
};
