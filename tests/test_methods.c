/* tests/test_methods.c — the methods on a tiny random CLIP (core/gen/clip_random.h):
 *   - CoCoOp's shared-prefix path against the plain path (every full prompt of every image):
 *     loss, logits, every gradient, evaluation logits;
 *   - CoOp's prompt layouts (end, middle, front; unified and class-specific context) against a
 *     plain recomputation: the prompt rows assembled on the host from the token embedding and
 *     the context, all 77 rows through the text tower, CLIP's logits;
 *   - finite differences of each method's loss along a random direction of its learnable
 *     block against the analytic directional derivative;
 *   - a group of 2 and 3 ranks (threads with an in-process communicator): the images of the
 *     batch and CoOp's class prompts split over the ranks, the gradient block all-reduced,
 *     against the one-rank loss, gradient and evaluation logits. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/gen/clip_random.h"
#include "core/model/clip_tower.h"
#include "core/model/clip_weights.h"
#include "core/methods/cos_head.h"
#include "core/methods/registry.h"
#include "core/methods/method_impl.h"
#include "core/base/rng.h"
#include "core/text/tokenizer.h"
#include "base/util.h"
#include "core/methods/zeroshot.h"
#include "kernels/ops.h"
#include "tests/testlib.h"

#define VOCAB_PATH "data/clip/bpe_simple_vocab_16e6.txt.gz"
#define SEED 23
#define NB 3
static const char *const NAMES[] = {"golden retriever", "tabby cat", "school bus", "pizza",
                                    "sunflower", "a_very long class name"};
#define NC 6

static ClipModel clip;
static Tokenizer *tok;
static float *images;
static int labels[NB] = {1, 4, 0};

static ClipConfig tiny_config(void) {
    ClipConfig c = {0};
    strcpy(c.arch, "custom");
    c.vis = (TowerDims){128, 2, 2, 512};
    c.txt = (TowerDims){128, 2, 2, 512};
    c.image_res = 32, c.patch = 8, c.grid = 4, c.vis_tokens = 17;
    c.embed = 64, c.vocab = 49408, c.context = 77;
    return c;
}

static Method *make(MethodKind k, const char *ctx_init, int n_ctx, int csc, const char *pos) {
    MethodEnv env = {.clip = &clip, .tok = tok, .seed = SEED, .comm = comm_self()};
    method_config_defaults(&env.cfg, k, "base2new", "caltech101");
    snprintf(env.cfg.ctx_init, sizeof env.cfg.ctx_init, "%s", ctx_init);
    env.cfg.n_ctx = n_ctx, env.cfg.csc = csc;
    snprintf(env.cfg.class_token_position, sizeof env.cfg.class_token_position, "%s", pos);
    strcpy(env.dataset, "caltech101");
    Method *m = method_create(&env);
    if (!m) cg_fatal("method_create: %s", cg_error());
    if (m->ops->set_classes(m, NAMES, NC, "caltech101")) cg_fatal("set_classes: %s", cg_error());
    return m;
}

static float *host_copy(const float *dev, size_t n) {
    float *h = cg_malloc(n * sizeof(float));
    k_download(h, dev, n);
    return h;
}

static double fb(Method *m, float *grad_host) {
    k_zero(m->params.grad, m->params.n);
    m->record = 1;
    double loss = method_forward_backward(m, images, labels, NB, NB, NULL);
    m->record = 0;
    if (grad_host) k_download(grad_host, m->params.grad, m->params.n);
    return loss;
}

/* ---- CoCoOp: shared prefix vs plain ---------------------------------------------------- */

static void test_cocoop_prefix(const char *ctx_init, int n_ctx) {
    printf("CoCoOp shared prefix vs plain (ctx_init '%s', n_ctx %d)\n", ctx_init, n_ctx);
    Method *m = make(method_kind_from_name("cocoop"), ctx_init, n_ctx, 0, "end");
    size_t n = m->params.n;
    float *g_fast = cg_malloc(n * sizeof(float)), *g_plain = cg_malloc(n * sizeof(float));
    double l_fast = fb(m, g_fast);
    const MethodRecord *r = method_recorded(m, "logits");
    float lf[NB * NC], lp[NB * NC], ef[NB * NC], ep[NB * NC];
    memcpy(lf, r->host, sizeof lf);
    m->ops->logits(m, images, NB, EVAL_DEFAULT, ef);
    /* the chunked suffixes (one class per text-tower call, two passes) */
    float *g_chunk = cg_malloc(n * sizeof(float)), lc[NB * NC];
    cocoop_set_chunk_rows(m, 1);
    double l_chunk = fb(m, g_chunk);
    memcpy(lc, method_recorded(m, "logits")->host, sizeof lc);
    cocoop_set_chunk_rows(m, 0);
    CHECK(fabs(l_chunk - l_fast) < 1e-6, "chunked loss %.9g vs %.9g", l_chunk, l_fast);
    CHECK_CLOSE("chunked suffixes: logits", lc, lf, NB * NC, 1e-6);
    CHECK_CLOSE("chunked suffixes: gradient block", g_chunk, g_fast, n, 5e-5); /* README §7 */
    free(g_chunk);
    cocoop_set_plain(m, 1);
    double l_plain = fb(m, g_plain);
    memcpy(lp, method_recorded(m, "logits")->host, sizeof lp);
    m->ops->logits(m, images, NB, EVAL_DEFAULT, ep);
    printf("  loss %.7f vs %.7f\n", l_fast, l_plain);
    CHECK(fabs(l_fast - l_plain) < 1e-6, "loss %.9g vs plain %.9g", l_fast, l_plain);
    CHECK_CLOSE("train logits", lf, lp, NB * NC, 1e-5);
    CHECK_CLOSE("eval logits", ef, ep, NB * NC, 1e-5);
    for (int i = 0; i < m->params.count; i++) {
        const ParamTensor *t = &m->params.t[i];
        /* 5e-5 of max |g|: the fixtures' gradient acceptance (README §7); the two paths sum in
         * another order, and OpenBLAS's kernels (Zen, Skylake-X) differ in theirs too */
        CHECK_CLOSE(t->name, g_fast + t->offset, g_plain + t->offset, t->numel, 5e-5);
    }
    free(g_fast), free(g_plain);
    method_free(m);
}

/* ---- CoOp layouts vs a plain recomputation -------------------------------------------- */

/* logits [NB, NC] from prompts assembled on the host: [SOS, …] with the context at its rows */
static void coop_plain_logits(Method *m, const char *pos, int csc, float *out) {
    int D = clip.cfg.txt.width, E = clip.cfg.embed, M = m->params.t[0].shape[csc ? 1 : 0];
    char tmpl[256] = "";
    for (int i = 0; i < M; i++) strcat(tmpl, i ? " X" : "X");
    strcat(tmpl, " {}.");
    ClassPrompts p;
    if (prompts_build(&p, tok, tmpl, NAMES, NC, 77)) cg_fatal("%s", cg_error());
    const int *ids = p.ids, *eot = p.eot, *lens = p.name_lens;
    float *ctx = host_copy(param_data(&m->params, "prompt_learner.ctx"), m->params.t[0].numel);
    float *emb = cg_malloc((size_t)NC * 77 * D * sizeof(float));
    float *all = k_alloc((size_t)NC * 77 * D);
    embed_tokens(&clip, ids, NC * 77, all);
    k_download(emb, all, (size_t)NC * 77 * D);
    float *x = cg_calloc((size_t)NC * 77 * D, sizeof(float));
    for (int c = 0; c < NC; c++) {
        const float *e = emb + (size_t)c * 77 * D, *v = ctx + (csc ? (size_t)c * M * D : 0);
        float *row = x + (size_t)c * 77 * D;
        int nl = lens[c], r = 0, h = M / 2;
        memcpy(row + (size_t)r++ * D, e, D * sizeof(float)); /* SOS */
        const float *name = e + (size_t)(1 + M) * D;
        if (!strcmp(pos, "front")) {
            memcpy(row + (size_t)r * D, name, (size_t)nl * D * sizeof(float)), r += nl;
            memcpy(row + (size_t)r * D, v, (size_t)M * D * sizeof(float)), r += M;
        } else if (!strcmp(pos, "middle")) {
            memcpy(row + (size_t)r * D, v, (size_t)h * D * sizeof(float)), r += h;
            memcpy(row + (size_t)r * D, name, (size_t)nl * D * sizeof(float)), r += nl;
            memcpy(row + (size_t)r * D, v + (size_t)h * D, (size_t)(M - h) * D * sizeof(float)), r += M - h;
        } else {
            memcpy(row + (size_t)r * D, v, (size_t)M * D * sizeof(float)), r += M;
            memcpy(row + (size_t)r * D, name, (size_t)nl * D * sizeof(float)), r += nl;
        }
        memcpy(row + (size_t)r * D, e + (size_t)r * D, (size_t)(77 - r) * D * sizeof(float));
    }
    k_upload(all, x, (size_t)NC * 77 * D);
    TowerInput in = tower_input_defaults();
    in.B = NC, in.embeds = all, in.T_in = 77, in.pool_rows = eot, in.truncate = 0;
    in.last_query_only = 0;
    TowerRun *run = tower_forward(&clip, TOWER_TEXT, &in);
    float *img = image_features(&clip, images, NB);
    CosHead h;
    cos_head_forward(&h, img, tower_features(run), NB, NC, E, expf(clip.logit_scale));
    k_download(out, h.logits, (size_t)NB * NC);
    cos_head_free(&h);
    tower_free(run);
    k_free(all), k_free(img);
    prompts_free(&p);
    free(ctx), free(emb), free(x);
}

static void test_coop_layout(const char *pos, int csc) {
    printf("CoOp %s%s vs plain recomputation\n", pos, csc ? " CSC" : "");
    Method *m = make(method_kind_from_name("coop"), "", 5, csc, pos);
    float got[NB * NC], ref[NB * NC], ev[NB * NC];
    fb(m, NULL);
    memcpy(got, method_recorded(m, "logits")->host, sizeof got);
    m->ops->logits(m, images, NB, EVAL_DEFAULT, ev);
    coop_plain_logits(m, pos, csc, ref);
    char name[64];
    snprintf(name, sizeof name, "%s%s train logits", pos, csc ? " CSC" : "");
    CHECK_CLOSE(name, got, ref, NB * NC, 1e-5);
    snprintf(name, sizeof name, "%s%s eval logits", pos, csc ? " CSC" : "");
    CHECK_CLOSE(name, ev, ref, NB * NC, 1e-5);
    method_free(m);
}

/* CoOp's chunked two-pass text tower (bounded activation memory) against one pass */
static void test_coop_chunks(const char *pos, int csc) {
    Method *m = make(method_kind_from_name("coop"), "", 5, csc, pos);
    size_t n = m->params.n;
    float *g1 = cg_malloc(n * sizeof(float)), *g2 = cg_malloc(n * sizeof(float));
    float l1[NB * NC], l2[NB * NC];
    double a = fb(m, g1);
    memcpy(l1, method_recorded(m, "logits")->host, sizeof l1);
    coop_set_chunk_rows(m, 1); /* one class per call */
    double b = fb(m, g2);
    memcpy(l2, method_recorded(m, "logits")->host, sizeof l2);
    char name[80];
    printf("CoOp %s%s chunked (1 class per text-tower call) vs one pass: loss %.7f vs %.7f\n", pos,
           csc ? " CSC" : "", b, a);
    CHECK(fabs(a - b) < 1e-6, "chunked loss %.9g vs %.9g", b, a);
    snprintf(name, sizeof name, "chunked %s logits", pos);
    CHECK_CLOSE(name, l2, l1, NB * NC, 1e-6);
    snprintf(name, sizeof name, "chunked %s gradient", pos);
    CHECK_CLOSE(name, g2, g1, n, 1e-5);
    free(g1), free(g2);
    method_free(m);
}

/* ---- finite differences ----------------------------------------------------------------- */

static void test_fd(const char *label, Method *m, double eps, double tol) {
    size_t n = m->params.n;
    float *g = cg_malloc(n * sizeof(float)), *p0 = host_copy(m->params.data, n);
    float *dir = cg_malloc(n * sizeof(float)), *p = cg_malloc(n * sizeof(float));
    fb(m, g);
    uint64_t key = cg_rng_key(SEED, 1, "fd direction");
    /* direction: (ĝ + r̂)/‖·‖ with r random: a large derivative, and not only along g */
    double dot = 0, norm = 0, gn = 0, rn = 0;
    for (size_t i = 0; i < n; i++) {
        dir[i] = (float)cg_rng_normal(key, i);
        rn += (double)dir[i] * dir[i], gn += (double)g[i] * g[i];
    }
    for (size_t i = 0; i < n; i++) {
        dir[i] = (float)(dir[i] / sqrt(rn) + g[i] / sqrt(gn));
        norm += (double)dir[i] * dir[i];
    }
    norm = sqrt(norm);
    for (size_t i = 0; i < n; i++) dir[i] = (float)(dir[i] / norm), dot += (double)g[i] * dir[i];
    double l[2];
    for (int s = 0; s < 2; s++) {
        double sg = s ? -1 : 1;
        for (size_t i = 0; i < n; i++) p[i] = (float)(p0[i] + sg * eps * dir[i]);
        k_upload(m->params.data, p, n);
        m->params_version++;
        l[s] = fb(m, NULL);
    }
    k_upload(m->params.data, p0, n);
    m->params_version++;
    double num = (l[0] - l[1]) / (2 * eps), err = fabs(num - dot) / fmax(fabs(dot), 1e-12);
    printf("  fd %-28s numeric %+.6e analytic %+.6e rel err %.1e\n", label, num, dot, err);
    CHECK(err < tol, "%s: directional derivative %g, finite difference %g", label, dot, num);
    free(g), free(p0), free(dir), free(p);
}

/* ---- a rank group of threads ----------------------------------------------------------- */

#define MAXR 3
typedef struct {
    pthread_barrier_t bar;
    int size;
    const float *send[MAXR];
    float *buf[MAXR];
    double x[MAXR];
} Group;

typedef struct {
    CgComm comm;
    Group *g;
} ThreadComm;

static void tc_allreduce(CgComm *c, float *buf, size_t n) {
    Group *g = ((ThreadComm *)c)->g;
    g->buf[c->rank] = buf;
    pthread_barrier_wait(&g->bar);
    float *sum = cg_calloc(n ? n : 1, sizeof(float)), *h = cg_malloc((n ? n : 1) * sizeof(float));
    for (int r = 0; r < g->size; r++) { /* same order on every rank: identical sums */
        k_download(h, g->buf[r], n);
        for (size_t i = 0; i < n; i++) sum[i] += h[i];
    }
    pthread_barrier_wait(&g->bar);
    k_upload(buf, sum, n);
    pthread_barrier_wait(&g->bar);
    free(sum), free(h);
}

static void tc_allgatherv(CgComm *c, const float *send, float *recv, const size_t *counts) {
    Group *g = ((ThreadComm *)c)->g;
    g->send[c->rank] = send;
    pthread_barrier_wait(&g->bar);
    size_t off = 0;
    for (int r = 0; r < g->size; r++) {
        if (counts[r]) k_copy(recv + off, g->send[r], counts[r]);
        off += counts[r];
    }
    pthread_barrier_wait(&g->bar);
}

static double tc_sum(CgComm *c, double x) {
    Group *g = ((ThreadComm *)c)->g;
    g->x[c->rank] = x;
    pthread_barrier_wait(&g->bar);
    double s = 0;
    for (int r = 0; r < g->size; r++) s += g->x[r];
    pthread_barrier_wait(&g->bar);
    return s;
}


typedef struct {
    ThreadComm tc;
    MethodKind kind;
    int csc;
    const char *pos;
    int nb;        /* images in the batch */
    double loss;
    float *grad;   /* [n] after the all-reduce */
    float lg[NB * NC];
    size_t n;
} RankJob;

static void *rank_main(void *arg) {
    RankJob *j = arg;
    CgComm *c = &j->tc.comm;
    MethodEnv env = {.clip = &clip, .tok = tok, .seed = SEED, .comm = c};
    method_config_defaults(&env.cfg, j->kind, "base2new", "caltech101");
    env.cfg.ctx_init[0] = 0, env.cfg.n_ctx = 5, env.cfg.csc = j->csc;
    snprintf(env.cfg.class_token_position, sizeof env.cfg.class_token_position, "%s", j->pos);
    Method *m = method_create(&env);
    if (!m || m->ops->set_classes(m, NAMES, NC, "caltech101")) cg_fatal("%s", cg_error());
    int lo, cnt, R = clip.cfg.image_res;
    comm_split_range(j->nb, c->size, c->rank, &lo, &cnt);
    const float *img = images + (size_t)lo * 3 * R * R;
    k_zero(m->params.grad, m->params.n);
    double share = method_forward_backward(m, img, labels + lo, cnt, j->nb, NULL);
    j->loss = c->sum_double(c, share);
    c->allreduce_sum(c, m->params.grad, m->params.n);
    j->n = m->params.n;
    j->grad = host_copy(m->params.grad, m->params.n);
    float part[NB * NC];
    m->ops->logits(m, img, cnt, EVAL_DEFAULT, part);
    memcpy(j->lg + (size_t)lo * NC, part, (size_t)cnt * NC * sizeof(float));
    method_free(m);
    return NULL;
}

static void test_ranks(MethodKind kind, int csc, const char *pos, int size, int nb) {
    Method *m = make(kind, "", 5, csc, pos);
    float *g1 = cg_malloc(m->params.n * sizeof(float)), lg1[NB * NC];
    k_zero(m->params.grad, m->params.n);
    double l1 = method_forward_backward(m, images, labels, nb, nb, NULL);
    k_download(g1, m->params.grad, m->params.n);
    m->ops->logits(m, images, nb, EVAL_DEFAULT, lg1);
    Group g = {.size = size};
    pthread_barrier_init(&g.bar, NULL, (unsigned)size);
    RankJob jobs[MAXR];
    pthread_t th[MAXR];
    for (int r = 0; r < size; r++) {
        memset(&jobs[r], 0, sizeof jobs[r]);
        jobs[r].tc = (ThreadComm){{r, size, NULL, tc_allreduce, tc_allgatherv, tc_sum}, &g};
        jobs[r].kind = kind, jobs[r].csc = csc, jobs[r].pos = pos, jobs[r].nb = nb;
        pthread_create(&th[r], NULL, rank_main, &jobs[r]);
    }
    for (int r = 0; r < size; r++) pthread_join(th[r], NULL);
    float lg[NB * NC];
    for (int r = 0; r < size; r++) { /* each rank's images' rows */
        int lo, cnt;
        comm_split_range(nb, size, r, &lo, &cnt);
        memcpy(lg + (size_t)lo * NC, jobs[r].lg + (size_t)lo * NC, (size_t)cnt * NC * sizeof(float));
    }
    char name[96];
    printf("%s%s %s, batch %d on %d ranks: loss %.7f vs one rank %.7f\n", method_name(kind), csc ? " CSC" : "",
           pos, nb, size, jobs[0].loss, l1);
    CHECK(fabs(jobs[0].loss - l1) < 1e-6, "%d ranks: loss %.9g vs %.9g", size, jobs[0].loss, l1);
    snprintf(name, sizeof name, "%d ranks: gradient block", size);
    CHECK_CLOSE(name, jobs[0].grad, g1, m->params.n, 2e-5); /* other summation order */
    for (int r = 1; r < size; r++)
        CHECK(!memcmp(jobs[r].grad, jobs[0].grad, m->params.n * sizeof(float)),
              "rank %d holds another gradient than rank 0", r);
    snprintf(name, sizeof name, "%d ranks: eval logits", size);
    CHECK_CLOSE(name, lg, lg1, nb * NC, 2e-6);
    for (int r = 0; r < size; r++) free(jobs[r].grad);
    pthread_barrier_destroy(&g.bar);
    free(g1);
    method_free(m);
}

int main(void) {
    k_init_cpu(2);
    ClipConfig cfg = tiny_config();
    if (clip_random_model(&clip, &cfg, SEED) != 0) cg_fatal("%s", cg_error());
    clip.logit_scale = 2.0f; /* softer logits: better conditioned finite differences */
    if (!(tok = tokenizer_load(VOCAB_PATH))) cg_fatal("%s", cg_error());
    size_t ni = (size_t)NB * 3 * 32 * 32;
    float *h = cg_malloc(ni * sizeof(float));
    clip_random_fill_host(h, ni, "images", SEED, 0.0, 1.0);
    images = k_alloc(ni);
    k_upload(images, h, ni);
    free(h);

    test_cocoop_prefix("a photo of a", 0);
    test_cocoop_prefix("", 7);
    test_coop_layout("end", 0);
    test_coop_layout("middle", 0);
    test_coop_layout("front", 0);
    test_coop_layout("middle", 1);
    test_coop_layout("front", 1);
    test_coop_chunks("end", 0);
    test_coop_chunks("middle", 1);

    printf("finite differences along a random direction of the learnable block\n");
    const char *pos[] = {"end", "middle", "front"};
    for (int i = 0; i < 3; i++) {
        Method *m = make(method_kind_from_name("coop"), "", 4, i == 1, pos[i]);
        char label[64];
        snprintf(label, sizeof label, "coop %s%s", pos[i], i == 1 ? " CSC" : "");
        test_fd(label, m, 3e-3, 2e-3);
        method_free(m);
    }
    for (int plain = 0; plain < 2; plain++) {
        Method *m = make(method_kind_from_name("cocoop"), "a photo of a", 0, 0, "end");
        cocoop_set_plain(m, plain);
        test_fd(plain ? "cocoop plain" : "cocoop shared prefix", m, 1e-3, 2e-3);
        method_free(m);
    }
    /* KgCoOp: CoOp plus W·(1 − mean cos) to the hand-crafted features. From "a photo of a"
     * the learned prompts start equal to the hand-crafted ones (cos = 1: the term's gradient is
     * 0 there), so the check starts from a random context, where the term pulls; W = 50 makes
     * it dominate while the fp32 sum of 1 − cos keeps the central difference well resolved */
    static const char *const kg_w[] = {"8", "50"};
    for (int i = 0; i < 2; i++) {
        MethodEnv env = {.clip = &clip, .tok = tok, .seed = SEED, .comm = comm_self()};
        method_config_defaults(&env.cfg, method_kind_from_name("kgcoop"), "base2new", "caltech101");
        CHECK(method_option_set(&env.cfg, "w", kg_w[i]) == 0, "kgcoop w: %s", cg_error());
        env.cfg.ctx_init[0] = 0, env.cfg.n_ctx = 4;
        strcpy(env.dataset, "caltech101");
        Method *m = method_create(&env);
        if (!m || m->ops->set_classes(m, NAMES, NC, "caltech101")) cg_fatal("kgcoop: %s", cg_error());
        char label[64];
        snprintf(label, sizeof label, "kgcoop W=%s", kg_w[i]);
        test_fd(label, m, 3e-3, 2e-3);
        fb(m, NULL);
        const MethodRecord *sc = method_recorded(m, "loss_score");
        CHECK(sc && sc->host[0] > 0 && sc->host[0] < 1, "kgcoop: score 1 - mean cos = %g",
              sc ? sc->host[0] : -1.0);
        method_free(m);
    }
    test_ranks(method_kind_from_name("kgcoop"), 0, "end", 3, NB); /* the term counted once */
    test_ranks(method_kind_from_name("coop"), 0, "end", 2, NB);
    test_ranks(method_kind_from_name("coop"), 1, "middle", 3, NB);
    test_ranks(method_kind_from_name("coop"), 0, "front", 3, 1);   /* two ranks without images */
    test_ranks(method_kind_from_name("cocoop"), 0, "end", 2, NB);
    test_ranks(method_kind_from_name("cocoop"), 0, "end", 3, 1);   /* batch 1: only the classes split */
    test_ranks(method_kind_from_name("zsclip"), 0, "end", 3, NB);
    {
        Method *m = make(method_kind_from_name("zsclip"), "", 0, 0, "end");
        float lg[NB * NC];
        double loss = fb(m, NULL);
        CHECK(m->params.n == 0 && isfinite(loss), "zero-shot: %zu params, loss %g", m->params.n, loss);
        m->ops->logits(m, images, NB, EVAL_DEFAULT, lg);
        CHECK_CLOSE("zsclip eval logits = step-0 logits", lg, method_recorded(m, "logits")->host,
                    NB * NC, 1e-6);
        method_free(m);
    }
    k_free(images);
    tokenizer_free(tok);
    clip_model_free(&clip);
    return test_finish("test_methods");
}
