/* tests/test_pretrain.c — pretraining of a whole CLIP on a small random model:
 *   - the weight-gradient mode of both towers and the contrastive loss: the gradient of every
 *     tensor of the model (and of the log scale) against central finite differences of the
 *     loss along a random direction (Richardson-extrapolated, as tests/test_tower.c);
 *   - the activation gradients of the weight-gradient path equal the frozen path's (the
 *     same d_input from both);
 *   - the loss curve falls: AdamW steps on a fixed batch of pairs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/gen/clip_random.h"
#include "core/model/clip_grad.h"
#include "core/model/clip_names.h"
#include "core/model/clip_tower.h"
#include "core/model/clip_weights.h"
#include "core/train/pretrain.h"
#include "tests/testlib.h"

#define SEED 5
#define NB 6 /* pairs */
#define NT 8 /* token rows per caption */
#define FD_H 0.05   /* step along u */
#define FD_U 0.05   /* std of u's entries (the init scale of the LayerNorm gains) */
#define FD_FLOOR 1e-3 /* errors relative to max(|analytic|, this), as tests/test_tower.c */
#define FD_TOL 1e-2 /* observed <= 8.3e-3, on vision tensors whose directional derivative is
                       * ~2e-4 (fp32 noise of the loss); the bugs this caught gave 0.5 … 20 */

static ClipConfig small_config(void) {
    ClipConfig c = {0};
    strcpy(c.arch, "custom");
    c.vis = (TowerDims){64, 2, 1, 256};
    c.txt = (TowerDims){64, 2, 1, 256};
    c.image_res = 16, c.patch = 8, c.grid = 2, c.vis_tokens = 5;
    c.embed = 16, c.vocab = 49408, c.context = 77;
    return c;
}

typedef struct {
    int tokens[NB * NT], eot[NB];
    float *images;
    PairBatch b;
} Batch;

static void make_batch(Batch *bt, const ClipConfig *c) {
    size_t ni = (size_t)NB * 3 * c->image_res * c->image_res;
    float *h = cg_malloc(ni * sizeof(float));
    clip_random_fill_host(h, ni, "test images", SEED, 0, 1);
    bt->images = k_alloc(ni);
    k_upload(bt->images, h, ni);
    free(h);
    const int eot[NB] = {5, 7, 3, 6, 2, 7};
    for (int i = 0; i < NB; i++) {
        bt->eot[i] = eot[i];
        bt->tokens[i * NT] = 49406;
        for (int t = 1; t < NT; t++) bt->tokens[i * NT + t] = 300 + (i * 37 + t * 11) % 500;
        bt->tokens[i * NT + eot[i]] = 49407;
        for (int t = eot[i] + 1; t < NT; t++) bt->tokens[i * NT + t] = 0;
    }
    bt->b = (PairBatch){.B = NB, .images = bt->images, .tokens = bt->tokens, .T = NT, .eot = bt->eot};
}

static double dot_dev(const float *a_dev, const float *u, size_t n) {
    float *a = cg_malloc(n * sizeof(float));
    k_download(a, a_dev, n);
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * u[i];
    free(a);
    return s;
}

static double loss_at(ClipModel *m, Batch *bt, float *x, const float *x0, const float *u,
                      size_t n, double h) {
    float *xp = cg_malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) xp[i] = x0[i] + (float)h * u[i];
    k_upload(x, xp, n);
    free(xp);
    return clip_pair_loss(m, NULL, &bt->b, NULL);
}

/* every tensor: <grad, u> against the directional finite difference */
static void test_weight_grads(ClipModel *m, Batch *bt) {
    printf("weight gradients vs finite differences (every tensor)\n");
    ClipModel g;
    clip_model_clone(&g, m, 0);
    double d_scale = 0.0;
    double l0 = clip_pair_loss(m, &g, &bt->b, &d_scale);
    printf("  loss %.6f\n", l0);
    int n_desc;
    ClipTensorDesc *d = clip_tensor_descs(&m->cfg, m, &n_desc);
    double worst = 0.0;
    for (int i = 0; i < n_desc; i++) {
        if (d[i].kind == CLIP_T_LOGIT) continue;
        size_t n = d[i].numel, off = (size_t)(*d[i].field - m->arena);
        float *x = *d[i].field, *u = cg_malloc(n * sizeof(float)), *x0 = cg_malloc(n * sizeof(float));
        clip_random_fill_host(u, n, d[i].oa, SEED + 1, 0, FD_U);
        k_download(x0, x, n);
        double an = dot_dev(g.arena + off, u, n);
        double d1 = (loss_at(m, bt, x, x0, u, n, FD_H) - loss_at(m, bt, x, x0, u, n, -FD_H)) / (2 * FD_H);
        double d2 = (loss_at(m, bt, x, x0, u, n, 2 * FD_H) -
                     loss_at(m, bt, x, x0, u, n, -2 * FD_H)) / (4 * FD_H);
        k_upload(x, x0, n);
        double num = (4 * d1 - d2) / 3, err = fabs(num - an) / fmax(fabs(an), FD_FLOOR);
        worst = err > worst ? err : worst;
        printf("  fd %-44s numeric %+.6e analytic %+.6e rel err %.1e\n", d[i].oa, num, an, err);
        CHECK(err < FD_TOL, "%s: finite difference %.6g vs analytic %.6g (rel err %.2e)",
              d[i].oa, num, an, err);
        free(u), free(x0);
    }
    /* the log scale */
    float s0 = m->logit_scale;
    double lp[4];
    const double hs[4] = {1e-2, -1e-2, 2e-2, -2e-2};
    for (int k = 0; k < 4; k++) {
        m->logit_scale = (float)(s0 + hs[k]);
        lp[k] = clip_pair_loss(m, NULL, &bt->b, NULL);
    }
    m->logit_scale = s0;
    double num = (4 * (lp[0] - lp[1]) / 2e-2 - (lp[2] - lp[3]) / 4e-2) / 3;
    double err = fabs(num - d_scale) / fmax(fabs(d_scale), 1e-4);
    printf("  fd %-44s numeric %+.6e analytic %+.6e rel err %.1e\n", "logit_scale", num, d_scale, err);
    CHECK(err < FD_TOL, "logit_scale: finite difference %.6g vs analytic %.6g", num, d_scale);
    printf("  worst tensor rel err %.1e (tolerance %.0e)\n", worst, FD_TOL);
    free(d);
    clip_model_free(&g);
}

/* the same activation gradient (d_input of the text tower) with and without weight gradients */
static void test_same_activation_grad(ClipModel *m, Batch *bt) {
    printf("activation gradient: weight-gradient path = frozen path\n");
    int D = m->cfg.txt.width, E = m->cfg.embed;
    size_t ne = (size_t)NB * NT * D;
    float *emb = k_alloc(ne), *d1 = k_alloc(ne), *d2 = k_alloc(ne), *df = k_alloc((size_t)NB * E);
    op_gather_rows(emb, m->txt.tok_emb, bt->tokens, NB * NT, D);
    float *hf = cg_malloc((size_t)NB * E * sizeof(float));
    clip_random_fill_host(hf, (size_t)NB * E, "dfeat", SEED, 0, 1);
    k_upload(df, hf, (size_t)NB * E);
    ClipModel g;
    clip_model_clone(&g, m, 0);
    for (int mode = 0; mode < 2; mode++) {
        TowerInput in = tower_input_defaults();
        in.B = NB, in.embeds = emb, in.T_in = NT, in.pool_rows = bt->eot, in.want_grad = 1;
        in.d_input = mode ? d2 : d1, in.grads = mode ? &g : NULL;
        TowerRun *r = tower_forward(m, TOWER_TEXT, &in);
        tower_backward(r, NULL, df);
        tower_free(r);
    }
    float *h1 = cg_malloc(ne * sizeof(float)), *h2 = cg_malloc(ne * sizeof(float));
    k_download(h1, d1, ne), k_download(h2, d2, ne);
    CHECK_CLOSE("text d_input, weight-gradient vs frozen path", h2, h1, ne, 1e-5);
    free(h1), free(h2), free(hf);
    k_free(emb), k_free(d1), k_free(d2), k_free(df);
    clip_model_free(&g);
}

/* AdamW with warm-up and cosine decay on one batch: the loss must fall well below ln NB */
static void test_loss_falls(ClipModel *m, Batch *bt) {
    printf("loss curve on a fixed batch of %d pairs\n", NB);
    PretrainConfig c = pretrain_defaults();
    c.steps = 40, c.warmup = 4, c.lr = 3e-3;
    Pretrainer *p = pretrainer_new(m, &c);
    double first = 0, last = 0;
    for (long s = 0; s < c.steps; s++) {
        double l = pretrainer_step(p, &bt->b);
        if (s == 0) first = l;
        last = l;
        if (s % 8 == 0 || s == c.steps - 1) printf("  step %3ld lr %.2e loss %.4f\n", s, pretrain_lr(&c, s), l);
    }
    /* random features: about ln NB, a little above with the initial scale 1/0.07 */
    CHECK(first > log((double)NB) - 0.3 && first < log((double)NB) + 1.0,
          "first loss %.4f, expected near ln %d = %.4f", first, NB, log((double)NB));
    CHECK(last < 0.25 * first, "loss fell from %.4f to %.4f only (expected < 25%%)", first, last);
    CHECK(pretrainer_steps_done(p) == c.steps, "steps done %ld", pretrainer_steps_done(p));
    pretrainer_free(p);
}

int main(void) {
    k_init_cpu(1);
    ClipConfig cfg = small_config();
    clip_config_finish(&cfg);
    ClipModel r, m;
    if (clip_random_model(&r, &cfg, SEED)) {
        fprintf(stderr, "random model: %s\n", cg_error());
        return 1;
    }
    clip_model_clone(&m, &r, 1);
    clip_model_free(&r);
    m.logit_scale = (float)log(1 / 0.07); /* CLIP's initial temperature */
    Batch bt;
    make_batch(&bt, &cfg);
    test_weight_grads(&m, &bt);
    test_same_activation_grad(&m, &bt);
    test_loss_falls(&m, &bt);
    k_free(bt.images);
    clip_model_free(&m);
    return test_finish("test_pretrain");
}
