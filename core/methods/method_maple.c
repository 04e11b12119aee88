/* core/methods/method_maple.c — MaPLe (methods.md §1): a shallow text prompt P_0 in place of the
 * words "a photo" of "a photo of a {class}.", deep text prompts P_1..P_{J−1} replacing those
 * rows before blocks 1..J−1, and one coupling Linear F_i (text width → vision width) per depth
 * giving the vision prompts: F_0(P_0) appended after the patches before ln_pre, F_i(P_i)
 * replacing the last n rows before block i. Loss: cross-entropy of exp(logit_scale)·cos.
 * Written on the prompted-CLIP skeleton (core/methods/prompted.h: class prompts, the text tower
 * over this rank's classes, the head, the eval cache): this file holds the prompt vectors, their
 * plans and their backward. Learnable tensors keep the official names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_tower.h"
#include "core/methods/method_impl.h"
#include "core/methods/prompted.h"
#include "base/util.h"

typedef struct {
    Prompted base;
    int n, J, D, W, N, E;   /* context rows, depth, text/vision widths, vision tokens, embed */
} Maple;

/* the prompt vectors of one pass and their gradients */
typedef struct {
    PromptedStep base;      /* text: P_0 at rows 1..n */
    float *vis;             /* [J,n,W]: F_0(P_0), F_1(P_1), … */
    float *d_vis;
} MapleStep;

static Maple *st(Method *m) { return m->state; }

static void name_cpt(char *b, size_t cap, int k) {
    snprintf(b, cap, "prompt_learner.compound_prompts_text.%d", k);
}
static void name_proj(char *b, size_t cap, int k, const char *what) {
    if (k < 0) snprintf(b, cap, "prompt_learner.proj.%s", what);
    else snprintf(b, cap, "prompt_learner.compound_prompt_projections.%d.%s", k, what);
}

/* depth i (0 = shallow): the text prompt P_i and the coupling F_i */
static float *prompt_text(Method *m, int i, int grad) {
    char b[96];
    if (i == 0) return grad ? param_grad(&m->params, "prompt_learner.ctx")
                            : param_data(&m->params, "prompt_learner.ctx");
    name_cpt(b, sizeof b, i - 1);
    return grad ? param_grad(&m->params, b) : param_data(&m->params, b);
}
static float *coupling(Method *m, int i, const char *what, int grad) {
    char b[96];
    name_proj(b, sizeof b, i - 1, what);
    return grad ? param_grad(&m->params, b) : param_data(&m->params, b);
}

static const PromptedHooks maple_hooks;

static int maple_build(Method *m) {
    const MethodConfig *c = &m->env.cfg;
    const ClipModel *clip = m->env.clip;
    Maple *s = prompted_create(m, sizeof *s, &maple_hooks);
    s->n = c->n_ctx, s->J = c->prompt_depth;
    s->D = clip->cfg.txt.width, s->W = clip->cfg.vis.width;
    s->N = clip->cfg.vis_tokens, s->E = clip->cfg.embed;
    if (s->n < 1 || s->J < 1 || s->J > clip->cfg.txt.layers || s->J > clip->cfg.vis.layers) {
        cg_error_set("maple: n_ctx %d and prompt depth %d (1..%d) are out of range", s->n, s->J,
                     clip->cfg.txt.layers);
        return -1;
    }
    char b[96];
    deep_declare(m, "prompt_learner.ctx", s->n, s->D, 0);
    deep_declare(m, "prompt_learner.proj.weight", s->W, s->D, 0);
    deep_declare(m, "prompt_learner.proj.bias", s->W, 0, 0);
    for (int k = 0; k < s->J - 1; k++) name_cpt(b, sizeof b, k), deep_declare(m, b, s->n, s->D, 0);
    for (int k = 0; k < s->J - 1; k++) {
        name_proj(b, sizeof b, k, "weight"), deep_declare(m, b, s->W, s->D, 0);
        name_proj(b, sizeof b, k, "bias"), deep_declare(m, b, s->W, 0, 0);
    }
    param_alloc(&m->params);
    /* initial values (methods.md §1.1): ctx from the words of ctx_init when n ≤ 4, else N(0, .02²) */
    if (c->ctx_init[0] && s->n <= 4) {
        if (deep_init_words(m, "prompt_learner.ctx", c->ctx_init, s->n)) return -1;
    } else {
        deep_init_normal(m, "prompt_learner.ctx", 0.02);
    }
    double bound = deep_linear_bound(s->D);
    deep_init_uniform(m, "prompt_learner.proj.weight", bound);
    deep_init_uniform(m, "prompt_learner.proj.bias", bound);
    for (int k = 0; k < s->J - 1; k++) name_cpt(b, sizeof b, k), deep_init_normal(m, b, 0.02);
    for (int k = 0; k < s->J - 1; k++) { /* one template Linear, copied to every depth */
        char w0[96], b0[96], wk[96], bk[96];
        name_proj(w0, sizeof w0, 0, "weight"), name_proj(b0, sizeof b0, 0, "bias");
        name_proj(wk, sizeof wk, k, "weight"), name_proj(bk, sizeof bk, k, "bias");
        if (k == 0) deep_init_uniform(m, w0, bound), deep_init_uniform(m, b0, bound);
        else deep_init_copy(m, wk, w0), deep_init_copy(m, bk, b0);
    }
    return 0;
}

/* "<ctx_init> {}." (the whole phrase, as the official code) when n ≤ 4, else n × "X" */
static int maple_set_classes(Method *m, const char *const *classnames, int C, const char *dataset) {
    Maple *s = st(m);
    const MethodConfig *c = &m->env.cfg;
    char prefix[160] = "", tmpl[200];
    if (c->ctx_init[0] && s->n <= 4) {
        snprintf(prefix, sizeof prefix, "%s", c->ctx_init);
        for (char *p = prefix; *p; p++) *p = *p == '_' ? ' ' : *p;
    } else {
        for (int i = 0; i < s->n && strlen(prefix) + 3 < sizeof prefix; i++)
            strcat(prefix, i ? " X" : "X");
    }
    prompted_prefix_template(tmpl, sizeof tmpl, prefix);
    return prompted_set_classes(m, tmpl, classnames, C, s->n + 2);
}

/* vision prompts F_i(P_i) for i < J into vis [J,n,W]; the plans: text rows 1..n replaced by
 * P_i before block i; vision F_0(P_0) inserted after the patches before ln_pre, F_i(P_i)
 * replacing the last n rows before block i */
static void maple_begin(Method *m, PromptedStep *ps, const float *images, int b, int grad) {
    (void)images, (void)b;
    Maple *s = st(m);
    MapleStep *p = (MapleStep *)ps;
    size_t nw = (size_t)s->n * s->W;
    p->vis = k_alloc((size_t)s->J * nw), p->d_vis = k_alloc((size_t)s->J * nw);
    for (int i = 0; i < s->J; i++)
        op_matmul(p->vis + i * nw, prompt_text(m, i, 0), coupling(m, i, "weight", 0),
                  coupling(m, i, "bias", 0), s->n, s->D, s->W, K_W_OUT_IN, 0);
    plan_add(&ps->vplan, PLAN_INSERT, -1, s->N, s->n, 0, p->vis, grad ? p->d_vis : NULL);
    for (int i = 1; i < s->J; i++) {
        plan_add(&ps->tplan, PLAN_REPLACE, i, 1, s->n, 0, prompt_text(m, i, 0),
                 grad ? prompt_text(m, i, 1) : NULL);
        plan_add(&ps->vplan, PLAN_REPLACE, i, s->N, s->n, 0, p->vis + i * nw,
                 grad ? p->d_vis + i * nw : NULL);
    }
    ps->ctx = prompt_text(m, 0, 0), ps->n_ctx = s->n;
    if (grad) ps->d_ctx = prompt_text(m, 0, 1);
}

static void maple_end(PromptedStep *ps) {
    MapleStep *p = (MapleStep *)ps;
    if (p->vis) k_free(p->vis);
    if (p->d_vis) k_free(p->d_vis);
}

static void maple_record(Method *m, PromptedStep *ps, TowerRun *vr, const CosHead *h, int b) {
    Maple *s = st(m);
    MapleStep *p = (MapleStep *)ps;
    deep_record(m, "visual_shallow_prompt", p->vis, s->n, s->W, 0);
    if (s->J > 1)
        deep_record(m, "visual_deep_prompts", p->vis + (size_t)s->n * s->W, s->J - 1, s->n, s->W);
    deep_record(m, "image_features_raw", tower_features(vr), b, s->E, 0);
    deep_record(m, "image_features", h->img_n, b, s->E, 0);
    deep_record(m, "text_features_raw", ps->text.feat, m->C, s->E, 0);
    deep_record(m, "text_features", h->txt_n, m->C, s->E, 0);
    deep_record(m, "logits", h->logits, b, m->C, 0);
}

/* gradients of the coupling Linears and of P_i from the vision-prompt gradients */
static void maple_backward(Method *m, PromptedStep *ps) {
    Maple *s = st(m);
    MapleStep *p = (MapleStep *)ps;
    size_t nw = (size_t)s->n * s->W;
    for (int i = 0; i < s->J; i++)
        op_dense_backward(prompt_text(m, i, 1), coupling(m, i, "weight", 1),
                          coupling(m, i, "bias", 1), p->d_vis + i * nw, prompt_text(m, i, 0),
                          coupling(m, i, "weight", 0), s->n, s->D, s->W, 1);
}

static const PromptedHooks maple_hooks = {
    .step_size = sizeof(MapleStep),
    .begin = maple_begin,
    .end = maple_end,
    .backward = maple_backward,
    .record = maple_record,
};

/* methods.md §1.7: base-to-novel (and few-shot, which has no official config) with the
 * vit_b16_c2_ep5_batch4_2ctx config; cross-dataset / domain generalisation with J = 3, 2 epochs */
static void maple_defaults(MethodConfig *c, const char *setting, const char *dataset) {
    (void)dataset;
    c->n_ctx = 2;
    snprintf(c->ctx_init, sizeof c->ctx_init, "a photo of a");
    c->train.batch = 4, c->train.test_batch = 100;
    c->prompt_depth = 9, c->train.epochs = 5, c->train.lr = 0.0035;
    if (setting && (!strcmp(setting, "cross_dataset") || !strcmp(setting, "domain_generalization")))
        c->prompt_depth = 3, c->train.epochs = 2, c->train.lr = 0.0026;
}

static const MethodKey MAPLE_KEYS[] = {KEY_N_CTX, KEY_CTX_INIT, KEY_DEPTH, KEY_PROMPT_DEPTH, KEY_END};

/* the deep prompts join both towers; training backpropagates through the image tower */
MethodCost method_cost_deep_prompts(const MethodConfig *c) {
    return (MethodCost){.extra_image_tokens = c->n_ctx, .extra_text_tokens = c->n_ctx,
                        .image_backward = 1};
}

/* MaPLe and MuDPT: the prompt depth within the model's layers */
int method_check_depth(const MethodConfig *c, const ClipConfig *model, char *why, size_t cap,
                       const char **key) {
    int layers = model->vis.layers < model->txt.layers ? model->vis.layers : model->txt.layers;
    if (c->prompt_depth <= layers) return 0;
    snprintf(why, cap, "depth: %d is beyond the model's %d layers (%s)", c->prompt_depth, layers,
             model->arch);
    *key = "depth";
    return -1;
}

/* cost factor: the FLOP model leaves MaPLe 1.05x too cheap (demo sweep, runner/grid.c) */
const MethodDesc maple_method = {
    .name = "maple", .display = "MaPLe", .trainer = "MaPLe", .trains = 1, .keys = MAPLE_KEYS,
    .defaults = maple_defaults, .cost = method_cost_deep_prompts, .cost_factor = 1.05,
    .check = method_check_depth,
    .ops = {maple_build, maple_set_classes, prompted_forward_backward, prompted_logits,
            prompted_destroy},
};
