/* tests/test_tower.c — the shared CLIP encoder on a small random model:
 *   - the exact shortcuts (text truncation at the last EOT, query-only last block) against the
 *     plain path, forward and every gradient;
 *   - the prompt-plan hooks against equivalent plain inputs;
 *   - finite-difference checks of the whole towers' gradients w.r.t. plan values and inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gen/clip_random.h"
#include "core/model/clip_tower.h"
#include "core/model/clip_weights.h"
#include "base/util.h"
#include "tests/testlib.h"

#define SEED 11
#ifndef FD_EPS
#define FD_EPS 2e-2 /* fp32 noise dominates below ~1e-2 (seen: errors grow as eps shrinks) */
#endif
#define FD_TOL 3e-3 /* observed ≤ 8e-4; a wrong term gives O(1e-1) */

static ClipConfig small_config(void) {
    ClipConfig c = {0};
    strcpy(c.arch, "custom");
    c.vis = (TowerDims){128, 3, 2, 512};
    c.txt = (TowerDims){64, 3, 1, 256};
    c.image_res = 32, c.patch = 8, c.grid = 4, c.vis_tokens = 17;
    c.embed = 32, c.vocab = 49408, c.context = 77;
    return c;
}

static float *dev_random(size_t n, const char *name, double std) {
    float *h = cg_malloc(n * sizeof(float));
    clip_random_fill_host(h, n, name, SEED, 0.0, std);
    float *d = k_alloc(n);
    k_upload(d, h, n);
    free(h);
    return d;
}

static float *host_copy(const float *dev, size_t n) {
    float *h = cg_malloc(n * sizeof(float));
    k_download(h, dev, n);
    return h;
}

static double dot_dev(const float *dev, const float *host, size_t n) {
    float *h = host_copy(dev, n);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)h[i] * host[i];
    free(h);
    return s;
}

/* ------------------------------------------------------------------------------------------- */
/* text: 3 prompts, EOT rows 7, 11, 6; input 77 rows; a plan with a replace and an insert      */

enum { TB = 3, TT = 77, TP = 2 };
static const int EOT[TB] = {7, 11, 6};

typedef struct {
    float *emb, *rep, *ins, *g_rep, *g_ins, *d_in;
    float *dfeat_h; /* host [TB,E] */
} TextCase;

static TextCase text_case(const ClipModel *m) {
    int D = m->cfg.txt.width, E = m->cfg.embed;
    TextCase c;
    c.emb = dev_random((size_t)TB * TT * D, "t.emb", 0.3);
    c.rep = dev_random((size_t)TP * D, "t.rep", 0.5);
    c.ins = dev_random((size_t)TB * TP * D, "t.ins", 0.5); /* per sample */
    c.g_rep = k_alloc((size_t)TP * D), c.g_ins = k_alloc((size_t)TB * TP * D);
    c.d_in = k_alloc((size_t)TB * TT * D);
    c.dfeat_h = cg_malloc((size_t)TB * E * sizeof(float));
    clip_random_fill_host(c.dfeat_h, (size_t)TB * E, "t.dfeat", SEED, 0, 1);
    return c;
}

static void text_case_free(TextCase *c) {
    k_free(c->emb), k_free(c->rep), k_free(c->ins), k_free(c->g_rep), k_free(c->g_ins);
    k_free(c->d_in), free(c->dfeat_h);
}

/* forward (+ backward) with the plan: replace rows 1..2 before block 1, insert 2 per-sample
 * rows at position 1 before block 2; pooled rows EOT+2. Returns the loss Σ feat·dfeat. */
static double text_run(const ClipModel *m, TextCase *c, int shortcuts, int grad, float *feat_out) {
    int D = m->cfg.txt.width, E = m->cfg.embed;
    PromptPlan plan = {0};
    plan_add(&plan, PLAN_REPLACE, 1, 1, TP, 0, c->rep, grad ? c->g_rep : NULL);
    plan_add(&plan, PLAN_INSERT, 2, 1, TP, 1, c->ins, grad ? c->g_ins : NULL);
    int pool[TB];
    for (int b = 0; b < TB; b++) pool[b] = EOT[b] + TP;
    TowerInput in = tower_input_defaults();
    in.B = TB, in.embeds = c->emb, in.T_in = TT, in.plan = &plan, in.pool_rows = pool;
    in.truncate = in.last_query_only = shortcuts;
    in.want_grad = grad, in.d_input = grad ? c->d_in : NULL;
    TowerRun *r = tower_forward(m, TOWER_TEXT, &in);
    double loss = dot_dev(tower_features(r), c->dfeat_h, (size_t)TB * E);
    if (feat_out) k_download(feat_out, tower_features(r), (size_t)TB * E);
    if (grad) {
        k_zero(c->g_rep, (size_t)TP * D), k_zero(c->g_ins, (size_t)TB * TP * D);
        float *df = k_alloc((size_t)TB * E);
        k_upload(df, c->dfeat_h, (size_t)TB * E);
        tower_backward(r, NULL, df);
        k_free(df);
    }
    tower_free(r);
    return loss;
}

static void test_text_shortcuts(const ClipModel *m) {
    int D = m->cfg.txt.width, E = m->cfg.embed;
    TextCase c = text_case(m);
    size_t nf = (size_t)TB * E, nin = (size_t)TB * TT * D;
    float *f_plain = cg_malloc(nf * 4), *f_fast = cg_malloc(nf * 4);
    text_run(m, &c, 0, 1, f_plain);
    float *g1 = host_copy(c.g_rep, TP * D), *g2 = host_copy(c.g_ins, TB * TP * D);
    float *g3 = host_copy(c.d_in, nin);
    text_run(m, &c, 1, 1, f_fast);
    float *h1 = host_copy(c.g_rep, TP * D), *h2 = host_copy(c.g_ins, TB * TP * D);
    float *h3 = host_copy(c.d_in, nin);
    CHECK_CLOSE("text features, shortcuts vs plain", f_fast, f_plain, nf, 1e-5);
    CHECK_CLOSE("text replace grad, shortcuts vs plain", h1, g1, TP * D, 1e-5);
    CHECK_CLOSE("text insert grad, shortcuts vs plain", h2, g2, TB * TP * D, 1e-5);
    CHECK_CLOSE("text input grad, shortcuts vs plain", h3, g3, nin, 1e-5);
    /* causality: rows after each EOT have zero input gradient (rows 1..2 are replaced only
     * before block 1, so they still act through block 0) */
    int zero_ok = 1, nonzero = 0;
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < TT; t++)
            for (int j = 0; j < D; j++) {
                float v = g3[((size_t)b * TT + t) * D + j];
                if (t > EOT[b] && v != 0) zero_ok = 0;
                if (t <= EOT[b] && v != 0) nonzero++;
            }
    CHECK(zero_ok, "text input gradient must be exactly 0 past the EOT");
    CHECK(nonzero > 0, "text input gradient is all zero");
    free(f_plain), free(f_fast), free(g1), free(g2), free(g3), free(h1), free(h2), free(h3);
    text_case_free(&c);
}

/* L(x0 + h·u) for a device tensor x [n] */
static double loss_at(double (*loss)(void *), void *ctx, float *x, const float *x0,
                      const float *u, size_t n, double h) {
    float *xp = cg_malloc(n * 4);
    for (size_t i = 0; i < n; i++) xp[i] = x0[i] + (float)h * u[i];
    k_upload(x, xp, n);
    double l = loss(ctx);
    free(xp);
    return l;
}

/* directional derivative along a random direction u, by central differences with Richardson
 * extrapolation over steps eps and 2·eps (truncation O(eps⁴); the fp32 forward's noise,
 * ~1e-7·|L|/eps, is what remains), against <grad, u> */
static void fd_check(const char *name, double (*loss)(void *), void *ctx, float *x, size_t n,
                     const float *grad_dev, double eps, double tol) {
    float *u = cg_malloc(n * 4), *x0 = host_copy(x, n);
    clip_random_fill_host(u, n, name, SEED, 0, 1);
    double analytic = dot_dev(grad_dev, u, n);
    double d1 = (loss_at(loss, ctx, x, x0, u, n, eps) - loss_at(loss, ctx, x, x0, u, n, -eps)) / (2 * eps);
    double d2 = (loss_at(loss, ctx, x, x0, u, n, 2 * eps) -
                 loss_at(loss, ctx, x, x0, u, n, -2 * eps)) / (4 * eps);
    k_upload(x, x0, n);
    double numeric = (4 * d1 - d2) / 3;
    double err = fabs(numeric - analytic) / fmax(fabs(analytic), 1e-3);
    CHECK(err < tol, "%s: finite difference %.6g vs analytic %.6g (rel err %.2e)", name, numeric,
          analytic, err);
    printf("  fd %-28s numeric %+.6e analytic %+.6e rel err %.1e\n", name, numeric, analytic, err);
    free(u), free(x0);
}

typedef struct {
    const ClipModel *m;
    TextCase *c;
} TextCtx;

static double text_loss(void *p) {
    TextCtx *t = p;
    return text_run(t->m, t->c, 1, 0, NULL);
}

static void test_text_fd(const ClipModel *m) {
    int D = m->cfg.txt.width;
    TextCase c = text_case(m);
    text_run(m, &c, 1, 1, NULL);
    TextCtx ctx = {m, &c};
    fd_check("text replace values", text_loss, &ctx, c.rep, TP * D, c.g_rep, FD_EPS, FD_TOL);
    fd_check("text insert values", text_loss, &ctx, c.ins, TB * TP * D, c.g_ins, FD_EPS, FD_TOL);
    fd_check("text input embeddings", text_loss, &ctx, c.emb, (size_t)TB * TT * D, c.d_in, FD_EPS,
             FD_TOL);
    text_case_free(&c);
}

/* ------------------------------------------------------------------------------------------- */
/* vision: 2 images; shallow prompt appended before ln_pre, replaced before block 2; MMRL-style
 * insert at row 1 before block 1 with pooled rows 0..2                                        */

enum { VB = 2, VP = 2 };

typedef struct {
    float *img, *app, *rep, *ins, *g_app, *g_rep, *g_ins, *d_in;
    float *dfeat_h;
} VisCase;

static VisCase vis_case(const ClipModel *m) {
    int W = m->cfg.vis.width, E = m->cfg.embed, R = m->cfg.image_res, N = m->cfg.vis_tokens;
    VisCase c;
    c.img = dev_random((size_t)VB * 3 * R * R, "v.img", 1.0);
    c.app = dev_random((size_t)VP * W, "v.app", 0.5);
    c.rep = dev_random((size_t)VP * W, "v.rep", 0.5);
    c.ins = dev_random((size_t)VP * W, "v.ins", 0.5);
    c.g_app = k_alloc((size_t)VP * W), c.g_rep = k_alloc((size_t)VP * W);
    c.g_ins = k_alloc((size_t)VP * W), c.d_in = k_alloc((size_t)VB * N * W);
    c.dfeat_h = cg_malloc((size_t)VB * 3 * E * sizeof(float));
    clip_random_fill_host(c.dfeat_h, (size_t)VB * 3 * E, "v.dfeat", SEED, 0, 1);
    return c;
}

static void vis_case_free(VisCase *c) {
    k_free(c->img), k_free(c->app), k_free(c->rep), k_free(c->ins), k_free(c->g_app);
    k_free(c->g_rep), k_free(c->g_ins), k_free(c->d_in), free(c->dfeat_h);
}

static double vis_run(const ClipModel *m, VisCase *c, int shortcuts, int grad, float *feat_out) {
    int W = m->cfg.vis.width, E = m->cfg.embed, N = m->cfg.vis_tokens;
    PromptPlan plan = {0};
    plan_add(&plan, PLAN_INSERT, -1, N, VP, 0, c->app, grad ? c->g_app : NULL);
    plan_add(&plan, PLAN_INSERT, 1, 1, VP, 0, c->ins, grad ? c->g_ins : NULL);
    plan_add(&plan, PLAN_REPLACE, 2, N + VP, VP, 0, c->rep, grad ? c->g_rep : NULL);
    int pool[VB * 3];
    for (int b = 0; b < VB; b++) pool[b * 3] = 0, pool[b * 3 + 1] = 1, pool[b * 3 + 2] = 2;
    TowerInput in = tower_input_defaults();
    in.B = VB, in.images = c->img, in.plan = &plan, in.n_pool = 3, in.pool_rows = pool;
    in.last_query_only = shortcuts, in.want_grad = grad, in.d_input = grad ? c->d_in : NULL;
    TowerRun *r = tower_forward(m, TOWER_VISION, &in);
    double loss = dot_dev(tower_features(r), c->dfeat_h, (size_t)VB * 3 * E);
    if (feat_out) k_download(feat_out, tower_features(r), (size_t)VB * 3 * E);
    if (grad) {
        k_zero(c->g_app, (size_t)VP * W), k_zero(c->g_rep, (size_t)VP * W);
        k_zero(c->g_ins, (size_t)VP * W);
        float *df = k_alloc((size_t)VB * 3 * E);
        k_upload(df, c->dfeat_h, (size_t)VB * 3 * E);
        tower_backward(r, NULL, df);
        k_free(df);
    }
    tower_free(r);
    return loss;
}

static void test_vision_shortcuts(const ClipModel *m) {
    int W = m->cfg.vis.width, E = m->cfg.embed, N = m->cfg.vis_tokens;
    VisCase c = vis_case(m);
    size_t nf = (size_t)VB * 3 * E, nin = (size_t)VB * N * W;
    float *f0 = cg_malloc(nf * 4), *f1 = cg_malloc(nf * 4);
    vis_run(m, &c, 0, 1, f0);
    float *a0 = host_copy(c.g_app, VP * W), *r0 = host_copy(c.g_rep, VP * W);
    float *i0 = host_copy(c.g_ins, VP * W), *d0 = host_copy(c.d_in, nin);
    vis_run(m, &c, 1, 1, f1);
    float *a1 = host_copy(c.g_app, VP * W), *r1 = host_copy(c.g_rep, VP * W);
    float *i1 = host_copy(c.g_ins, VP * W), *d1 = host_copy(c.d_in, nin);
    CHECK_CLOSE("vision features, query-only vs full", f1, f0, nf, 1e-5);
    CHECK_CLOSE("vision append grad, query-only vs full", a1, a0, VP * W, 1e-5);
    CHECK_CLOSE("vision replace grad, query-only vs full", r1, r0, VP * W, 1e-5);
    CHECK_CLOSE("vision insert grad, query-only vs full", i1, i0, VP * W, 1e-5);
    CHECK_CLOSE("vision input grad, query-only vs full", d1, d0, nin, 1e-5);
    free(f0), free(f1), free(a0), free(r0), free(i0), free(d0), free(a1), free(r1), free(i1),
        free(d1);
    vis_case_free(&c);
}

typedef struct {
    const ClipModel *m;
    VisCase *c;
} VisCtx;

static double vis_loss(void *p) {
    VisCtx *v = p;
    return vis_run(v->m, v->c, 1, 0, NULL);
}

static void test_vision_fd(const ClipModel *m) {
    int W = m->cfg.vis.width;
    VisCase c = vis_case(m);
    vis_run(m, &c, 1, 1, NULL);
    VisCtx ctx = {m, &c};
    fd_check("vision appended (pre ln_pre)", vis_loss, &ctx, c.app, VP * W, c.g_app, FD_EPS, FD_TOL);
    fd_check("vision inserted at block 1", vis_loss, &ctx, c.ins, VP * W, c.g_ins, FD_EPS, FD_TOL);
    fd_check("vision replaced at block 2", vis_loss, &ctx, c.rep, VP * W, c.g_rep, FD_EPS, FD_TOL);
    vis_case_free(&c);
}

/* a REPLACE at layer 0 of the text tower equals feeding (values − positions) as embeddings */
static void test_replace_equals_input(const ClipModel *m) {
    int D = m->cfg.txt.width, E = m->cfg.embed, T = 9;
    float *emb_h = cg_malloc((size_t)T * D * 4), *val_h = cg_malloc((size_t)2 * D * 4);
    float *pos_h = host_copy(m->txt.pos_emb, (size_t)T * D);
    clip_random_fill_host(emb_h, (size_t)T * D, "r.emb", SEED, 0, 0.3);
    clip_random_fill_host(val_h, (size_t)2 * D, "r.val", SEED, 0, 0.3);
    float *emb = k_alloc((size_t)T * D), *val = k_alloc((size_t)2 * D);
    k_upload(emb, emb_h, (size_t)T * D), k_upload(val, val_h, (size_t)2 * D);
    PromptPlan plan = {0};
    plan_add(&plan, PLAN_REPLACE, 0, 3, 2, 0, val, NULL);
    int pool = T - 1;
    TowerInput in = tower_input_defaults();
    in.B = 1, in.embeds = emb, in.T_in = T, in.plan = &plan, in.pool_rows = &pool;
    TowerRun *r = tower_forward(m, TOWER_TEXT, &in);
    float *f_plan = host_copy(tower_features(r), E);
    tower_free(r);
    for (int j = 0; j < 2 * D; j++) emb_h[3 * D + j] = val_h[j] - pos_h[3 * D + j];
    k_upload(emb, emb_h, (size_t)T * D);
    in.plan = NULL;
    r = tower_forward(m, TOWER_TEXT, &in);
    float *f_in = host_copy(tower_features(r), E);
    tower_free(r);
    CHECK_CLOSE("text replace at layer 0 == modified input", f_plan, f_in, E, 1e-5);
    free(emb_h), free(val_h), free(pos_h), free(f_plan), free(f_in);
    k_free(emb), k_free(val);
}

/* start_layer: a run that starts at block 2 from the stream observed there equals the whole run */
typedef struct {
    int layer, T;
    float *x;
} Captured;

static void capture(void *ctx, int layer, const float *x, int B, int T, int d) {
    Captured *c = ctx;
    if (layer != c->layer) return;
    c->T = T, c->x = k_alloc((size_t)B * T * d);
    k_copy(c->x, x, (size_t)B * T * d);
}

static void vis_start_run(const ClipModel *m, VisCase *c, Captured *cap, int start, float *feat,
                          float *grad) {
    int W = m->cfg.vis.width, E = m->cfg.embed, N = m->cfg.vis_tokens;
    PromptPlan plan = {0};
    plan_add(&plan, PLAN_INSERT, -1, N, VP, 0, c->app, NULL);
    plan_add(&plan, PLAN_REPLACE, 2, N, VP, 0, c->rep, c->g_rep);
    int pool[VB * 2];
    for (int b = 0; b < VB; b++) pool[b * 2] = 0, pool[b * 2 + 1] = N;
    TowerInput in = tower_input_defaults();
    in.B = VB, in.images = c->img, in.plan = &plan, in.n_pool = 2, in.pool_rows = pool;
    in.want_grad = 1;
    if (start) in.start_layer = 2, in.x_start = cap->x, in.T_start = cap->T;
    else in.observe = capture, in.observe_ctx = cap;
    TowerRun *r = tower_forward(m, TOWER_VISION, &in);
    k_download(feat, tower_features(r), (size_t)VB * 2 * E);
    k_zero(c->g_rep, (size_t)VP * W);
    float *df = k_alloc((size_t)VB * 2 * E);
    k_upload(df, c->dfeat_h, (size_t)VB * 2 * E);
    tower_backward(r, NULL, df);
    k_download(grad, c->g_rep, (size_t)VP * W);
    k_free(df);
    tower_free(r);
}

static void test_start_layer(const ClipModel *m) {
    int W = m->cfg.vis.width, E = m->cfg.embed;
    VisCase c = vis_case(m);
    Captured cap = {2, 0, NULL};
    size_t nf = (size_t)VB * 2 * E, ng = (size_t)VP * W;
    float *f0 = cg_malloc(nf * sizeof(float)), *f1 = cg_malloc(nf * sizeof(float));
    float *g0 = cg_malloc(ng * sizeof(float)), *g1 = cg_malloc(ng * sizeof(float));
    vis_start_run(m, &c, &cap, 0, f0, g0);
    CHECK(cap.x != NULL && cap.T == m->cfg.vis_tokens + VP, "observed the input of block 2");
    vis_start_run(m, &c, &cap, 1, f1, g1);
    CHECK_CLOSE("vision features, start_layer 2 vs whole run", f1, f0, nf, 1e-6);
    CHECK_CLOSE("vision replace grad, start_layer 2 vs whole run", g1, g0, ng, 1e-6);
    free(f0), free(f1), free(g0), free(g1);
    k_free(cap.x);
    vis_case_free(&c);
}

int main(void) {
    k_init_cpu(0);
    ClipConfig cfg = small_config();
    ClipModel m;
    if (clip_random_model(&m, &cfg, SEED) != 0) cg_fatal("%s", cg_error());
    test_text_shortcuts(&m);
    test_vision_shortcuts(&m);
    test_replace_equals_input(&m);
    test_start_layer(&m);
    test_text_fd(&m);
    test_vision_fd(&m);
    clip_model_free(&m);
    return test_finish("test_tower");
}
