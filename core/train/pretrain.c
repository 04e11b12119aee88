/* core/train/pretrain.c — the contrastive loss of a batch of pairs through both towers with
 * weight gradients, and the AdamW loop of pretraining (core/train/pretrain.h). Describes the
 * computation; kernels/ does the arithmetic (the log scale s is a host scalar). */
#include "core/train/pretrain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/model/clip_grad.h"
#include "core/model/clip_names.h"
#include "core/model/clip_tower.h"
#include "core/model/clip_weights.h"

#define LOGIT_SCALE_MAX 4.605170185988091 /* ln 100 */

/* features of both towers (with weight-gradient mode when g) */
static void run_towers(const ClipModel *m, const ClipModel *g, const PairBatch *b, float *emb,
                       float *demb, TowerRun **rv, TowerRun **rt) {
    TowerInput vi = tower_input_defaults();
    vi.B = b->B, vi.images = b->images, vi.want_grad = g != NULL, vi.grads = g;
    *rv = tower_forward(m, TOWER_VISION, &vi);
    TowerInput ti = tower_input_defaults();
    ti.B = b->B, ti.embeds = emb, ti.T_in = b->T, ti.pool_rows = b->eot;
    ti.want_grad = g != NULL, ti.grads = g, ti.d_input = demb;
    *rt = tower_forward(m, TOWER_TEXT, &ti);
}

/* d(loss)/d(features a) from the logit gradients: e^s·(dL·b + dLtᵀ·b) */
static void feature_grad(float *da, const float *dl, const float *dlt, const float *other, int B,
                         int E, float scale) {
    op_matmul_backward(da, dl, other, B, E, B, K_W_OUT_IN, 0);
    op_matmul_weight_grad(da, NULL, dlt, other, B, E, B, K_W_OUT_IN);
    op_scale(da, scale, (size_t)B * E);
}

double clip_pair_loss(const ClipModel *m, const ClipModel *g, const PairBatch *b, double *d_scale) {
    int B = b->B, E = m->cfg.embed, D = m->cfg.txt.width;
    size_t nt = (size_t)B * b->T;
    float *emb = k_alloc(nt * D), *demb = g ? k_alloc(nt * D) : NULL;
    op_gather_rows(emb, m->txt.tok_emb, b->tokens, (int)nt, D);
    TowerRun *rv, *rt;
    run_towers(m, g, b, emb, demb, &rv, &rt);
    float *ni = k_alloc((size_t)B * E), *nt_ = k_alloc((size_t)B * E);
    float *norm_i = k_alloc(B), *norm_t = k_alloc(B);
    op_l2norm(ni, norm_i, tower_features(rv), B, E);
    op_l2norm(nt_, norm_t, tower_features(rt), B, E);
    float scale = (float)exp(m->logit_scale);
    float *L = k_alloc((size_t)B * B), *Lt = k_alloc((size_t)B * B);
    float *dL = k_alloc((size_t)B * B), *dLt = k_alloc((size_t)B * B);
    op_matmul(L, ni, nt_, NULL, B, E, B, K_W_OUT_IN, 0);  /* image i · caption j */
    op_matmul(Lt, nt_, ni, NULL, B, E, B, K_W_OUT_IN, 0); /* caption j · image i */
    op_scale(L, scale, (size_t)B * B), op_scale(Lt, scale, (size_t)B * B);
    int *labels = cg_malloc((size_t)B * sizeof(int));
    for (int i = 0; i < B; i++) labels[i] = i;
    double loss = 0.5 * (op_cross_entropy(g ? dL : NULL, L, labels, B, B, 0.5f) +
                         op_cross_entropy(g ? dLt : NULL, Lt, labels, B, B, 0.5f));
    if (g) {
        *d_scale = op_dot(dL, L, (size_t)B * B) + op_dot(dLt, Lt, (size_t)B * B);
        float *dn = k_alloc((size_t)B * E), *df = k_alloc((size_t)B * E);
        feature_grad(dn, dL, dLt, nt_, B, E, scale);
        op_l2norm_backward(df, dn, ni, norm_i, B, E, 0);
        tower_backward(rv, NULL, df);
        feature_grad(dn, dLt, dL, ni, B, E, scale);
        op_l2norm_backward(df, dn, nt_, norm_t, B, E, 0);
        tower_backward(rt, NULL, df);
        op_scatter_add_rows(g->txt.tok_emb, demb, b->tokens, (int)nt, D);
        k_free(dn), k_free(df);
    }
    float *bufs[] = {emb, demb, ni, nt_, norm_i, norm_t, L, Lt, dL, dLt};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (bufs[i]) k_free(bufs[i]);
    free(labels);
    tower_free(rv), tower_free(rt);
    return loss;
}

PretrainConfig pretrain_defaults(void) {
    return (PretrainConfig){.steps = 1000, .warmup = 50, .lr = 5e-4, .wd = 0.1, .beta1 = 0.9,
                            .beta2 = 0.98, .eps = 1e-6};
}

double pretrain_lr(const PretrainConfig *c, long step) {
    if (step < c->warmup) return c->lr * (double)(step + 1) / (double)c->warmup;
    long span = c->steps - c->warmup;
    if (span <= 0) return c->lr;
    return 0.5 * c->lr * (1.0 + cos(M_PI * (double)(step - c->warmup) / (double)span));
}

struct Pretrainer {
    ClipModel *m;
    ClipModel g;           /* gradients, model-shaped */
    float *mom, *var;      /* AdamW moments over the arena */
    ClipTensorDesc *desc;  /* the tensors, for per-tensor weight decay */
    int n_desc;
    PretrainConfig c;
    long t;
    double s_m, s_v;       /* AdamW moments of the log scale */
};

Pretrainer *pretrainer_new(ClipModel *m, const PretrainConfig *c) {
    if (c->steps <= 0 || c->warmup < 0 || !(c->lr > 0))
        cg_fatal("pretrain: steps %ld, warm-up %ld and lr %g must be positive", c->steps,
                 c->warmup, c->lr);
    Pretrainer *p = cg_calloc(1, sizeof *p);
    p->m = m, p->c = *c;
    clip_model_clone(&p->g, m, 0);
    p->mom = k_alloc(m->arena_floats), p->var = k_alloc(m->arena_floats);
    p->desc = clip_tensor_descs(&m->cfg, m, &p->n_desc);
    return p;
}

/* AdamW on the host scalar s (no weight decay), then CLIP's clamp */
static void scale_step(Pretrainer *p, double grad, double lr, double bc1, double bc2) {
    const PretrainConfig *c = &p->c;
    p->s_m = c->beta1 * p->s_m + (1 - c->beta1) * grad;
    p->s_v = c->beta2 * p->s_v + (1 - c->beta2) * grad * grad;
    double s = p->m->logit_scale - lr / bc1 * p->s_m / (sqrt(p->s_v) / bc2 + c->eps);
    p->m->logit_scale = (float)(s < 0 ? 0 : s > LOGIT_SCALE_MAX ? LOGIT_SCALE_MAX : s);
}

double pretrainer_step(Pretrainer *p, const PairBatch *b) {
    const PretrainConfig *c = &p->c;
    double lr = pretrain_lr(c, p->t), d_scale = 0.0;
    k_zero(p->g.arena, p->g.arena_floats);
    double loss = clip_pair_loss(p->m, &p->g, b, &d_scale);
    p->t++;
    double bc1 = 1 - pow(c->beta1, (double)p->t), bc2 = sqrt(1 - pow(c->beta2, (double)p->t));
    for (int i = 0; i < p->n_desc; i++) {
        const ClipTensorDesc *d = &p->desc[i];
        if (d->kind == CLIP_T_LOGIT) continue;
        size_t off = (size_t)(*d->field - p->m->arena);
        float wd = d->ndim >= 2 ? (float)c->wd : 0.0f;
        op_adamw_step(p->m->arena + off, p->mom + off, p->var + off, p->g.arena + off, d->numel,
                      (float)lr, (float)c->beta1, (float)c->beta2, (float)c->eps, wd, (float)bc1,
                      (float)bc2);
    }
    scale_step(p, d_scale, lr, bc1, bc2);
    return loss;
}

long pretrainer_steps_done(const Pretrainer *p) { return p->t; }

void pretrainer_free(Pretrainer *p) {
    if (!p) return;
    clip_model_free(&p->g);
    k_free(p->mom), k_free(p->var);
    free(p->desc);
    free(p);
}
