/* core/methods/method_mmrl.c — MMRL (methods.md §2): K shared representation tokens R [K, d_r],
 * projected per representation layer into both towers (Linear d_r→text width, d_r→vision
 * width), inserted after SOS / CLS at the first configured layer and replacing those rows at
 * the later ones; a class-token head (frozen projection) and a representation head (mean of
 * the ln_post'd token rows × the trainable proj_rep); logits 100·cos; loss
 * α·CE_cls + (1−α)·CE_rep + λ(1 − cos to the frozen zero-shot image features)
 * + λ(1 − cos to the frozen zero-shot text features); decoupled inference (base / default:
 * α·cls + (1−α)·rep, novel: cls only). Written on the prompted-CLIP skeleton
 * (core/methods/prompted.h), with its own loss and inference hooks. Exact shortcuts: the MMRL
 * vision pass starts at the first rep layer from the zero-shot pass's residual stream (the
 * blocks below are the same frozen blocks on the same images); the class prompts' shared rows
 * (start-of-text, template words, the representation tokens) run once (the skeleton).
 * Learnable tensors keep the official names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/model/clip_tower.h"
#include "core/methods/method_impl.h"
#include "core/methods/prompted.h"
#include "base/util.h"

#define MMRL_SCALE 100.0f /* the official code's literal logit multiplier */

/* MMRL's own options (cfg.own) */
typedef struct {
    double alpha, reg_weight;         /* ALPHA, REG_WEIGHT (λ) */
    int rep_layers[16], n_rep_layers; /* 1-based layers with representation tokens */
    int rep_dim, n_rep_tokens;        /* REP_DIM (d_r), N_REP_TOKENS (K) */
} MmrlOptions;
METHOD_OWN_FITS(MmrlOptions);

typedef struct {
    Prompted base;
    int K, L, dr, D, W, E;
    int layer[16];          /* 0-based blocks before which the tokens enter */
    double alpha, lambda;
    float *zs_txt_n;        /* [C,E] normalised zero-shot text features */
} Mmrl;

typedef struct {
    PromptedStep base;      /* text: the pooled row is eot + K */
    float *rt, *drt;        /* [L,K,D] tokens per layer in the text tower, gradients */
    float *rv, *drv;        /* [L,K,W] in the vision tower */
    int *vpool;             /* host [b*(K+1)]: rows 0..K of every image */
    float *zs_raw, *zs_n;   /* training: the frozen zero-shot image features [b,E], raw and normalised */
    float *x_shared;        /* [b, N, W] vision stream at the first rep layer's input, from the
                               zero-shot pass (the blocks below are the same frozen blocks) */
    int T_shared;
} MmrlStep;

/* the two heads of an image batch */
typedef struct {
    float *fc, *mrep, *fr;  /* [b,E] class-token feature, [b,W] mean rep rows, [b,E] rep feature */
    CosHead cls, rep;
    float *fusion;          /* [b,C] */
} MmrlHeads;

static Mmrl *st(Method *m) { return m->state; }

static void pname(char *b, size_t cap, const char *dir, int j, const char *what) {
    snprintf(b, cap, "representation_learner.compound_rep_tokens_r2%sproj.%d.%s", dir, j, what);
}
static float *lin(Method *m, const char *dir, int j, const char *what, int grad) {
    char b[128];
    pname(b, sizeof b, dir, j, what);
    return grad ? param_grad(&m->params, b) : param_data(&m->params, b);
}
#define REP "representation_learner.compound_rep_tokens"
#define PROJ_REP "image_encoder.proj_rep"

static int check_layers(const MmrlOptions *c, const ClipModel *clip) {
    int top = clip->cfg.txt.layers < clip->cfg.vis.layers ? clip->cfg.txt.layers : clip->cfg.vis.layers;
    if (c->n_rep_layers < 1 || c->n_rep_layers > 16 || c->n_rep_tokens < 1 || c->rep_dim < 1) {
        cg_error_set("mmrl: rep_layers (%d given), n_rep_tokens %d and rep_dim %d must be positive",
                     c->n_rep_layers, c->n_rep_tokens, c->rep_dim);
        return -1;
    }
    for (int j = 0; j < c->n_rep_layers; j++)
        if (c->rep_layers[j] < 1 || c->rep_layers[j] > top ||
            (j && c->rep_layers[j] <= c->rep_layers[j - 1])) {
            cg_error_set("mmrl: rep_layers must increase within 1..%d (got %d at position %d)", top,
                         c->rep_layers[j], j);
            return -1;
        }
    return 0;
}

static const PromptedHooks mmrl_hooks;

static int mmrl_build(Method *m) {
    const MmrlOptions *c = METHOD_OWN(&m->env.cfg, MmrlOptions);
    const ClipModel *clip = m->env.clip;
    if (check_layers(c, clip)) return -1;
    Mmrl *s = prompted_create(m, sizeof *s, &mmrl_hooks);
    s->K = c->n_rep_tokens, s->L = c->n_rep_layers, s->dr = c->rep_dim;
    s->D = clip->cfg.txt.width, s->W = clip->cfg.vis.width, s->E = clip->cfg.embed;
    s->alpha = c->alpha, s->lambda = c->reg_weight;
    for (int j = 0; j < s->L; j++) s->layer[j] = c->rep_layers[j] - 1;
    char b[128];
    deep_declare(m, REP, s->K, s->dr, 0);
    const char *dirs[2] = {"v", "t"};
    int outs[2] = {s->W, s->D};
    for (int d = 0; d < 2; d++)
        for (int j = 0; j < s->L; j++) {
            pname(b, sizeof b, dirs[d], j, "weight"), deep_declare(m, b, outs[d], s->dr, 0);
            pname(b, sizeof b, dirs[d], j, "bias"), deep_declare(m, b, outs[d], 0, 0);
        }
    deep_declare(m, PROJ_REP, s->W, s->E, 0);
    param_alloc(&m->params);
    /* methods.md §2.1: R ~ N(0, .02²); one template Linear per direction copied to every layer;
     * proj_rep ~ W^-½·N(0, 1) */
    deep_init_normal(m, REP, 0.02);
    double bound = deep_linear_bound(s->dr);
    for (int d = 0; d < 2; d++) {
        char w0[128], b0[128], wj[128], bj[128];
        pname(w0, sizeof w0, dirs[d], 0, "weight"), pname(b0, sizeof b0, dirs[d], 0, "bias");
        deep_init_uniform(m, w0, bound), deep_init_uniform(m, b0, bound);
        for (int j = 1; j < s->L; j++) {
            pname(wj, sizeof wj, dirs[d], j, "weight"), pname(bj, sizeof bj, dirs[d], j, "bias");
            deep_init_copy(m, wj, w0), deep_init_copy(m, bj, b0);
        }
    }
    deep_init_normal(m, PROJ_REP, pow((double)s->W, -0.5));
    return 0;
}

static int mmrl_set_classes(Method *m, const char *const *classnames, int C, const char *dataset) {
    Mmrl *s = st(m);
    const MethodConfig *c = &m->env.cfg;
    const char *ds = dataset && dataset[0] ? dataset : m->env.dataset;
    const char *tmpl = c->template_str[0] ? c->template_str : zeroshot_template(ds);
    if (prompted_set_classes(m, tmpl, classnames, C, 0)) return -1;
    /* the frozen zero-shot text features of the same prompts, normalised, computed once */
    if (s->zs_txt_n) k_free(s->zs_txt_n);
    float *raw = text_features(m->env.clip, &s->base.prompts.p, 0);
    s->zs_txt_n = k_alloc((size_t)C * s->E);
    op_l2norm(s->zs_txt_n, NULL, raw, C, s->E);
    k_free(raw);
    return 0;
}

typedef struct {
    int layer;
    MmrlStep *p;
} Capture;

static void capture_stream(void *ctx, int layer, const float *x, int B, int T, int d) {
    Capture *c = ctx;
    if (layer != c->layer) return;
    c->p->x_shared = k_alloc((size_t)B * T * d), c->p->T_shared = T;
    k_copy(c->p->x_shared, x, (size_t)B * T * d);
}

/* raw frozen zero-shot image features [b,E]; keeps the stream at the first rep layer's input
 * in p->x_shared when that layer is above block 0 */
static float *zs_image_features(Method *m, MmrlStep *p, const float *images, int b) {
    Capture cap = {st(m)->layer[0], p};
    TowerInput in = tower_input_defaults();
    in.B = b, in.images = images;
    if (cap.layer > 0) in.observe = capture_stream, in.observe_ctx = &cap;
    TowerRun *r = tower_forward(m->env.clip, TOWER_VISION, &in);
    size_t n = (size_t)b * m->env.clip->cfg.embed;
    float *out = k_alloc(n);
    k_copy(out, tower_features(r), n);
    tower_free(r);
    return out;
}

/* R_t^j, R_v^j for every layer j, and the plans that insert / replace them; training: the
 * frozen zero-shot image features of the same images */
static void mmrl_begin(Method *m, PromptedStep *ps, const float *images, int b, int grad) {
    Mmrl *s = st(m);
    MmrlStep *p = (MmrlStep *)ps;
    int K = s->K, L = s->L;
    size_t kd = (size_t)K * s->D, kw = (size_t)K * s->W;
    p->rt = k_alloc(L * kd), p->rv = k_alloc(L * kw);
    if (grad) p->drt = k_alloc(L * kd), p->drv = k_alloc(L * kw);
    const float *R = param_data(&m->params, REP);
    for (int j = 0; j < L; j++) {
        op_matmul(p->rt + j * kd, R, lin(m, "t", j, "weight", 0), lin(m, "t", j, "bias", 0), K,
                  s->dr, s->D, K_W_OUT_IN, 0);
        op_matmul(p->rv + j * kw, R, lin(m, "v", j, "weight", 0), lin(m, "v", j, "bias", 0), K,
                  s->dr, s->W, K_W_OUT_IN, 0);
        PlanKind kind = j == 0 ? PLAN_INSERT : PLAN_REPLACE;
        plan_add(&ps->tplan, kind, s->layer[j], 1, K, 0, p->rt + j * kd, grad ? p->drt + j * kd : NULL);
        plan_add(&ps->vplan, kind, s->layer[j], 1, K, 0, p->rv + j * kw, grad ? p->drv + j * kw : NULL);
    }
    ps->pool_shift = K;
    if (b > 0) {
        p->vpool = cg_malloc((size_t)b * (K + 1) * sizeof(int));
        for (int i = 0; i < b * (K + 1); i++) p->vpool[i] = i % (K + 1);
    }
    if (grad) {
        p->zs_raw = zs_image_features(m, p, images, b), p->zs_n = k_alloc((size_t)b * s->E);
        op_l2norm(p->zs_n, NULL, p->zs_raw, b, s->E);
    }
}

static void mmrl_end(PromptedStep *ps) {
    MmrlStep *p = (MmrlStep *)ps;
    float *bufs[] = {p->rt, p->drt, p->rv, p->drv, p->x_shared, p->zs_raw, p->zs_n};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) k_free(bufs[i]);
    free(p->vpool);
}

/* the MMRL vision pass: K + 1 pooled rows; it starts at the first rep layer from the zero-shot
 * pass's stream when that is available (exact: same frozen blocks, same images) */
static void mmrl_vision_input(Method *m, PromptedStep *ps, TowerInput *in) {
    MmrlStep *p = (MmrlStep *)ps;
    in->n_pool = st(m)->K + 1, in->pool_rows = p->vpool;
    if (p->x_shared)
        in->start_layer = st(m)->layer[0], in->x_start = p->x_shared, in->T_start = p->T_shared;
}
/* both image heads and their logits against the raw text features */
static void heads_forward(Method *m, MmrlHeads *h, TowerRun *vr, const float *txt, int b) {
    Mmrl *s = st(m);
    int K = s->K, W = s->W, E = s->E, C = m->C;
    int *row0 = cg_malloc((size_t)b * sizeof(int));
    for (int i = 0; i < b; i++) row0[i] = i * (K + 1);
    h->fc = k_alloc((size_t)b * E), h->mrep = k_alloc((size_t)b * W), h->fr = k_alloc((size_t)b * E);
    op_gather_rows(h->fc, tower_features(vr), row0, b, E);
    const float *pooled = tower_pooled(vr);
    for (int i = 0; i < b; i++)
        op_sum_batched(h->mrep + (size_t)i * W, pooled + (size_t)(i * (K + 1) + 1) * W, W, K, W, 0);
    op_scale(h->mrep, 1.0f / (float)K, (size_t)b * W);
    op_matmul(h->fr, h->mrep, param_data(&m->params, PROJ_REP), NULL, b, W, E, K_W_IN_OUT, 0);
    cos_head_forward(&h->cls, h->fc, txt, b, C, E, MMRL_SCALE);
    cos_head_forward(&h->rep, h->fr, txt, b, C, E, MMRL_SCALE);
    h->fusion = k_alloc((size_t)b * C);
    k_copy(h->fusion, h->cls.logits, (size_t)b * C);
    op_scale(h->fusion, (float)s->alpha, (size_t)b * C);
    deep_axpy(h->fusion, (float)(1.0 - s->alpha), h->rep.logits, (size_t)b * C);
    free(row0);
}

static void heads_free(MmrlHeads *h) {
    k_free(h->fc), k_free(h->mrep), k_free(h->fr), k_free(h->fusion);
    cos_head_free(&h->cls), cos_head_free(&h->rep);
}

static void record_logits(Method *m, MmrlHeads *h, int b) {
    deep_record(m, "logits_cls", h->cls.logits, b, m->C, 0);
    deep_record(m, "logits_rep", h->rep.logits, b, m->C, 0);
    deep_record(m, "logits_fusion", h->fusion, b, m->C, 0);
}

static void record_step(Method *m, MmrlStep *p, MmrlHeads *h, int b, const double comp[4]) {
    Mmrl *s = st(m);
    if (!m->record) return;
    int E = s->E, C = m->C;
    deep_record(m, "rep_tokens_text", p->rt, s->L, s->K, s->D);
    deep_record(m, "rep_tokens_visual", p->rv, s->L, s->K, s->W);
    record_logits(m, h, b);
    deep_record(m, "logits", h->fusion, b, C, 0);
    deep_record(m, "image_features_raw", h->fc, b, E, 0);
    deep_record(m, "image_features", h->cls.img_n, b, E, 0);
    deep_record(m, "image_features_rep_raw", h->fr, b, E, 0);
    deep_record(m, "image_features_rep", h->rep.img_n, b, E, 0);
    deep_record(m, "zs_image_features_raw", p->zs_raw, b, E, 0);
    deep_record(m, "zs_image_features", p->zs_n, b, E, 0);
    deep_record(m, "zs_text_features", s->zs_txt_n, C, E, 0);
    deep_record(m, "text_features_raw", p->base.text.feat, C, E, 0);
    deep_record(m, "text_features", h->cls.txt_n, C, E, 0);
    const char *names[4] = {"loss_ce_cls", "loss_ce_rep", "loss_reg_image", "loss_reg_text"};
    for (int i = 0; i < 4; i++) deep_record_scalar(m, names[i], comp[i]);
    deep_record_scalar(m, "loss_recomputed_from_components",
                       s->alpha * comp[0] + (1 - s->alpha) * comp[1] + s->lambda * (comp[2] + comp[3]));
}

/* gradients of the two heads into the vision tower's pooled rows / features and the text
 * features; dcls, drep: logit gradients; d_fc_n, d_txt_n already hold the regulariser terms */
static void heads_backward(Method *m, MmrlHeads *h, TowerRun *vr, const float *dcls,
                           const float *drep, float *d_fc_n, float *d_txt_n, int b) {
    Mmrl *s = st(m);
    int K = s->K, W = s->W, E = s->E;
    float *d_fr_n = k_alloc((size_t)b * E), *dfc = k_alloc((size_t)b * E), *dfr = k_alloc((size_t)b * E);
    cos_head_backward(&h->cls, dcls, d_fc_n, d_txt_n, 1);
    cos_head_backward(&h->rep, drep, d_fr_n, d_txt_n, 1);
    op_l2norm_backward(dfc, d_fc_n, h->cls.img_n, h->cls.img_norm, b, E, 0);
    op_l2norm_backward(dfr, d_fr_n, h->rep.img_n, h->rep.img_norm, b, E, 0);
    /* proj_rep: dW [W,E] += mrepᵀ·dfr; d mrep = dfr·proj_repᵀ, shared by the K rows (×1/K) */
    op_dense_backward(NULL, param_grad(&m->params, PROJ_REP), NULL, h->mrep, dfr, NULL, b, E, W, 0);
    float *dm = k_alloc((size_t)b * W);
    op_matmul_backward(dm, dfr, param_data(&m->params, PROJ_REP), b, W, E, K_W_IN_OUT, 0);
    op_scale(dm, 1.0f / (float)K, (size_t)b * W);
    float *dpool = k_alloc((size_t)b * (K + 1) * W), *dfeat = k_alloc((size_t)b * (K + 1) * E);
    for (int i = 0; i < b; i++)
        op_copy_batched(dpool + (size_t)(i * (K + 1) + 1) * W, W, dm + (size_t)i * W, 0, K, W, 0);
    op_copy_batched(dfeat, (size_t)(K + 1) * E, dfc, E, b, E, 0);
    tower_backward(vr, dpool, dfeat);
    k_free(d_fr_n), k_free(dfc), k_free(dfr), k_free(dm), k_free(dpool), k_free(dfeat);
}

/* the per-layer Linears and R from the token gradients */
static void tokens_backward(Method *m, PromptedStep *ps) {
    Mmrl *s = st(m);
    MmrlStep *p = (MmrlStep *)ps;
    size_t kd = (size_t)s->K * s->D, kw = (size_t)s->K * s->W;
    const float *R = param_data(&m->params, REP);
    float *dR = param_grad(&m->params, REP);
    for (int j = 0; j < s->L; j++) {
        op_dense_backward(dR, lin(m, "t", j, "weight", 1), lin(m, "t", j, "bias", 1), p->drt + j * kd,
                          R, lin(m, "t", j, "weight", 0), s->K, s->dr, s->D, 1);
        op_dense_backward(dR, lin(m, "v", j, "weight", 1), lin(m, "v", j, "bias", 1), p->drv + j * kw,
                          R, lin(m, "v", j, "weight", 0), s->K, s->dr, s->W, 1);
    }
}

/* α·CE_cls + (1−α)·CE_rep + λ(1 − cos to the zero-shot image and text features) */
static double mmrl_loss(Method *m, PromptedStep *ps, TowerRun *vr, const int *labels, int b,
                        int b_global, float *dtxt, float *logits) {
    Mmrl *s = st(m);
    MmrlStep *p = (MmrlStep *)ps;
    int C = m->C, E = s->E;
    double share = (double)b / b_global, a = s->alpha, lam = s->lambda;
    MmrlHeads h;
    heads_forward(m, &h, vr, ps->text.feat, b);
    float *dcls = k_alloc((size_t)b * C), *drep = k_alloc((size_t)b * C);
    double comp[4];
    comp[0] = op_cross_entropy(dcls, h.cls.logits, labels, b, C, (float)(a * share));
    comp[1] = op_cross_entropy(drep, h.rep.logits, labels, b, C, (float)((1 - a) * share));
    double cos_img = deep_dot(h.cls.img_n, p->zs_n, (size_t)b * E);
    double cos_txt = deep_dot(h.cls.txt_n, s->zs_txt_n, (size_t)C * E);
    comp[2] = 1.0 - cos_img / b, comp[3] = 1.0 - cos_txt / C;
    double loss = share * (a * comp[0] + (1 - a) * comp[1]) + lam * (share - cos_img / b_global) +
                  lam * comp[3] * share;
    record_step(m, p, &h, b, comp);
    if (logits && b > 0) k_copy(logits, h.fusion, (size_t)b * C);
    /* regulariser gradients at the normalised features (the normalisation's backward removes
     * the radial part, so d cos / d x̂ = ŷ is exact here) */
    float *d_fc_n = k_alloc((size_t)b * E), *d_txt_n = k_alloc((size_t)C * E);
    deep_axpy(d_fc_n, (float)(-lam / b_global), p->zs_n, (size_t)b * E);
    deep_axpy(d_txt_n, (float)(-lam * share / C), s->zs_txt_n, (size_t)C * E);
    heads_backward(m, &h, vr, dcls, drep, d_fc_n, d_txt_n, b);
    op_l2norm_backward(dtxt, d_txt_n, h.cls.txt_n, h.cls.txt_norm, C, E, 0);
    k_free(dcls), k_free(drep), k_free(d_fc_n), k_free(d_txt_n);
    heads_free(&h);
    return loss;
}

/* decoupled inference: base / default α·cls + (1−α)·rep, novel: cls only */
static void mmrl_infer(Method *m, PromptedStep *p, TowerRun *vr, const float *txt, int b,
                       EvalMode mode, float *logits) {
    (void)p;
    MmrlHeads h;
    heads_forward(m, &h, vr, txt, b);
    const float *out = mode == EVAL_NOVEL ? h.cls.logits : h.fusion;
    deep_logits_to_host(logits, out, b, m->C);
    if (m->record) {
        record_logits(m, &h, b);
        deep_record(m, "logits", out, b, m->C, 0);
    }
    heads_free(&h);
}

static void mmrl_destroy(Method *m) {
    Mmrl *s = st(m);
    if (s && s->zs_txt_n) k_free(s->zs_txt_n);
    prompted_destroy(m);
}

static const PromptedHooks mmrl_hooks = {
    .step_size = sizeof(MmrlStep),
    .begin = mmrl_begin,
    .end = mmrl_end,
    .backward = tokens_backward,
    .vision_input = mmrl_vision_input,
    .loss = mmrl_loss,
    .infer = mmrl_infer,
};

/* MMRL: trainers/config.py, the per-dataset λ and d_r (methods.md §2.7) */
static const struct {
    const char *names[2];
    double reg;
    int rep_dim;
} MMRL_DATASETS[] = {
    {{"StanfordCars", "stanford_cars"}, 7.0, 512},   {{"FGVCAircraft", "fgvc_aircraft"}, 6.0, 512},
    {{"SUN397", "sun397"}, 6.0, 512},                {{"DescribableTextures", "dtd"}, 6.0, 512},
    {{"Food101", "food101"}, 5.0, 512},              {{"OxfordFlowers", "oxford_flowers"}, 4.0, 512},
    {{"UCF101", "ucf101"}, 3.0, 512},                {{"ImageNet", "imagenet"}, 0.5, 512},
    {{"Caltech101", "caltech101"}, 0.5, 512},        {{"OxfordPets", "oxford_pets"}, 0.2, 512},
    {{"EuroSAT", "eurosat"}, 0.01, 2048},
};

static int is_imagenet(const char *d) {
    return d && (!strcasecmp(d, "imagenet") || !strcasecmp(d, "ImageNet"));
}

static void mmrl_defaults(MethodConfig *cfg, const char *setting, const char *dataset) {
    MmrlOptions *c = METHOD_OWN(cfg, MmrlOptions);
    TrainConfig *t = &cfg->train;
    c->alpha = 0.7, c->n_rep_tokens = 5, c->rep_dim = 512, c->reg_weight = 1.0;
    c->n_rep_layers = 7;
    for (int j = 0; j < 7; j++) c->rep_layers[j] = 6 + j;
    cfg->template_str[0] = 0;
    snprintf(t->optim, sizeof t->optim, "adamw");
    t->lr = 1e-3, t->batch = 4, t->epochs = 10, t->test_batch = 250;
    t->warmup_epochs = 1, t->warmup_lr = 1e-5;
    t->rrc_scale_lo = 0.5, t->rrc_scale_hi = 1.0;
    for (size_t i = 0; dataset && i < sizeof MMRL_DATASETS / sizeof MMRL_DATASETS[0]; i++)
        for (int k = 0; k < 2; k++)
            if (!strcasecmp(dataset, MMRL_DATASETS[i].names[k]))
                c->reg_weight = MMRL_DATASETS[i].reg, c->rep_dim = MMRL_DATASETS[i].rep_dim;
    const char *set = setting ? setting : "base2new";
    if (!strcmp(set, "cross_dataset") || !strcmp(set, "domain_generalization")) {
        /* vit_b16_cross_datasets + the script's REG_WEIGHT 0.2, d_r forced to 512 */
        t->batch = 32, t->epochs = 1, t->warmup_epochs = 0, c->reg_weight = 0.2, c->rep_dim = 512;
    } else if (is_imagenet(dataset)) {
        t->batch = 32, t->epochs = 5; /* vit_b16_imagenet (base2new and few-shot) */
    } else if (!strcmp(set, "fewshot")) {
        t->batch = 32, t->epochs = 50; /* vit_b16_few_shot */
    }
}

/* the representation layers within the model's */
static int mmrl_check(const MethodConfig *cfg, const ClipConfig *model, char *why, size_t cap,
                      const char **key) {
    const MmrlOptions *c = METHOD_OWN(cfg, const MmrlOptions);
    int layers = model->vis.layers < model->txt.layers ? model->vis.layers : model->txt.layers;
    for (int r = 0; r < c->n_rep_layers; r++)
        if (c->rep_layers[r] < 1 || c->rep_layers[r] > layers) {
            snprintf(why, cap, "rep_layers: layer %d is outside 1..%d (the model's layers: %s)",
                     c->rep_layers[r], layers, model->arch);
            *key = "rep_layers";
            return -1;
        }
    return 0;
}

static const MethodKey MMRL_KEYS[] = {
    {"alpha", KEY_DOUBLE, OWN_FIELD(MmrlOptions, alpha), 0, "weight of the class-token head (ALPHA)"},
    {"reg_weight", KEY_DOUBLE, OWN_FIELD(MmrlOptions, reg_weight), 0,
     "regularisation weight lambda (REG_WEIGHT)"},
    {"rep_layers", KEY_INT_LIST, OWN_FIELD(MmrlOptions, rep_layers), 0,
     "layers (1-based) that receive representation tokens (REP_LAYERS)"},
    {"rep_dim", KEY_INT, OWN_FIELD(MmrlOptions, rep_dim), 0, "representation width (REP_DIM)"},
    {"n_rep_tokens", KEY_INT, OWN_FIELD(MmrlOptions, n_rep_tokens), 0,
     "number of representation tokens (N_REP_TOKENS)"},
    KEY_TEMPLATE,
    KEY_END,
};

/* the representation tokens join the image sequence; training backpropagates through the
 * image tower; cost factor: the FLOP model leaves MMRL 1.3x too cheap (the projections beside
 * the towers) */
static MethodCost mmrl_cost(const MethodConfig *c) {
    return (MethodCost){.extra_image_tokens = METHOD_OWN(c, const MmrlOptions)->n_rep_tokens,
                        .image_backward = 1};
}

const MethodDesc mmrl_method = {
    .name = "mmrl", .display = "MMRL", .trainer = "MMRL", .trains = 1, .keys = MMRL_KEYS,
    .defaults = mmrl_defaults, .cost = mmrl_cost, .cost_factor = 1.3, .check = mmrl_check,
    .ops = {mmrl_build, mmrl_set_classes, prompted_forward_backward, prompted_logits,
            mmrl_destroy},
};
