/* tests/test_clip_b16.c — the C towers at full ViT-B/16 size against the PyTorch reference of
 * tests/reference/clip_b16_ref.py (tests/data/clip_b16_ref.h5): random weights from the shared
 * seeded generator (seed 7), one 224×224 image, three prompts; per-layer activations, pooled
 * rows, features, input-row gradients and prompt-plan gradients, plain and with a plan (vision
 * rows appended before ln_pre and replaced before block 4; text rows replaced before block 4 and
 * inserted at row 1 before block 8). Tolerance: 1e-4 relative to each tensor's max |ref|. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gen/clip_random.h"
#include "core/model/clip_tower.h"
#include "core/model/clip_weights.h"
#include "base/util.h"
#include "results/h5read.h"
#include "tests/testlib.h"

#define TOL 1e-4
#define NB 3
static const int SEL[4] = {0, 1, 98, 196};

static hid_t F;
static int plan_mode;

static float *ref(const char *fmt, const char *g, size_t expect) {
    char path[256];
    snprintf(path, sizeof path, fmt, g);
    H5Shape s;
    float *r = h5r_read_f32(F, path, &s);
    if (!r) cg_fatal("%s", cg_error());
    if (expect && s.n != expect) cg_fatal("%s: %zu elements, expected %zu", path, s.n, expect);
    return r;
}

/* uploads and frees the host buffer h */
static float *dev_upload(float *h, size_t n) {
    float *d = k_alloc(n);
    k_upload(d, h, n);
    free(h);
    return d;
}

static float *host(const float *d, size_t n) {
    float *h = cg_malloc(n * sizeof(float));
    k_download(h, d, n);
    return h;
}

/* worst error over a sequence of (got, ref) pairs, relative to the largest |ref| seen */
typedef struct {
    double maxerr, maxref;
} Acc;
static void acc_add(Acc *a, double got, double r) {
    double e = fabs(got - r);
    if (!(e <= a->maxerr)) a->maxerr = e;
    if (fabs(r) > a->maxref) a->maxref = fabs(r);
}
static void acc_check(const Acc *a, const char *what, int layer) {
    double rel = a->maxerr / (a->maxref > 0 ? a->maxref : 1);
    CHECK(rel <= TOL, "%s entry %d: max error %.3g relative (tolerance %.0e)", what, layer, rel, TOL);
}

/* ---- vision observer: row sums and norms of every row, the selected rows ------------------- */
typedef struct {
    const char *g;
    double *rowsum, *rownorm; /* [13, ntok] */
    float *rows;              /* [13, 4, 768] */
    int ntok;
    double worst;
} VisObs;

static void vis_observe(void *ctx, int layer, const float *x, int B, int T, int d) {
    VisObs *o = ctx;
    float *h = host(x, (size_t)T * d);
    Acc sum = {0}, norm = {0}, rows = {0};
    for (int t = 0; t < T; t++) {
        int tok = layer == 12 ? 0 : t; /* the last block computes the class row only */
        double s = 0, q = 0;
        for (int j = 0; j < d; j++) s += h[(size_t)t * d + j], q += (double)h[(size_t)t * d + j] * h[(size_t)t * d + j];
        acc_add(&sum, s, o->rowsum[layer * o->ntok + tok]);
        acc_add(&norm, sqrt(q), o->rownorm[layer * o->ntok + tok]);
        for (int k = 0; k < 4; k++)
            if (SEL[k] == tok)
                for (int j = 0; j < d; j++)
                    acc_add(&rows, h[(size_t)t * d + j], o->rows[((size_t)layer * 4 + k) * d + j]);
    }
    /* row sums are sums of ~768 terms with cancellation: compare against the norm scale */
    sum.maxref = norm.maxref * sqrt((double)d);
    acc_check(&sum, "vision hidden row sums", layer);
    acc_check(&norm, "vision hidden row norms", layer);
    acc_check(&rows, "vision hidden rows [0,1,98,196]", layer);
    free(h);
}

static void run_vision(const ClipModel *m, const char *g) {
    int W = 768, N = 197, ntok = plan_mode ? 199 : 197;
    size_t nimg = (size_t)3 * 224 * 224;
    float *img_h = cg_malloc(nimg * sizeof(float));
    clip_random_fill_host(img_h, nimg, "input.image", 7, 0, 1.0);
    float *img = dev_upload(img_h, nimg);
    VisObs o = {g, NULL, NULL, NULL, ntok, 0};
    H5Shape s;
    char p[128];
    snprintf(p, sizeof p, "/%s/vision/hidden_rowsum", g);
    float *rs = h5r_read_f32(F, p, &s);
    snprintf(p, sizeof p, "/%s/vision/hidden_rownorm", g);
    float *rn = h5r_read_f32(F, p, &s);
    if (!rs || !rn) cg_fatal("%s", cg_error());
    o.rowsum = cg_malloc(s.n * sizeof(double)), o.rownorm = cg_malloc(s.n * sizeof(double));
    for (size_t i = 0; i < s.n; i++) o.rowsum[i] = rs[i], o.rownorm[i] = rn[i];
    free(rs), free(rn);
    o.rows = ref("/%s/vision/hidden_rows", g, (size_t)13 * 4 * W);
    float *app = dev_upload(ref("/inputs/plan.vis_append%s", "", 2 * W), 2 * W);
    float *rep = dev_upload(ref("/inputs/plan.vis_replace4%s", "", 2 * W), 2 * W);
    float *g_app = k_alloc(2 * W), *g_rep = k_alloc(2 * W), *d_in = k_alloc((size_t)N * W);
    PromptPlan plan = {0};
    plan_add(&plan, PLAN_INSERT, -1, N, 2, 0, app, g_app);
    plan_add(&plan, PLAN_REPLACE, 4, N, 2, 0, rep, g_rep);
    TowerInput in = tower_input_defaults();
    in.B = 1, in.images = img, in.plan = plan_mode ? &plan : NULL;
    in.want_grad = 1, in.d_input = d_in, in.observe = vis_observe, in.observe_ctx = &o;
    TowerRun *r = tower_forward(m, TOWER_VISION, &in);
    float *feat = host(tower_features(r), 512), *pooled = host(tower_pooled(r), W);
    float *rf = ref("/%s/vision/feat", g, 512), *rp = ref("/%s/vision/pooled_ln", g, W);
    CHECK_CLOSE("vision feat", feat, rf, 512, TOL);
    CHECK_CLOSE("vision pooled_ln", pooled, rp, W, TOL);
    float *df = dev_upload(ref("/inputs/input.dfeat_vision%s", "", 512), 512);
    tower_backward(r, NULL, df);
    float *dz = host(d_in, (size_t)N * W);
    if (!plan_mode) {
        float *rd = ref("/plain/vision/d_rows%s", "", (size_t)N * W);
        CHECK_CLOSE("vision d_rows (all 197 rows)", dz, rd, (size_t)N * W, TOL);
        free(rd);
    }
    float *sel = ref("/%s/vision/d_rows_sel", g, 4 * W), *mine = cg_malloc(4 * W * sizeof(float));
    for (int k = 0; k < 4; k++) memcpy(mine + k * W, dz + (size_t)SEL[k] * W, W * sizeof(float));
    CHECK_CLOSE("vision d_rows rows [0,1,98,196]", mine, sel, 4 * W, TOL);
    if (plan_mode) {
        float *ga = host(g_app, 2 * W), *gr = host(g_rep, 2 * W);
        float *ra = ref("/plan/grad/vis_append%s", "", 2 * W), *rr = ref("/plan/grad/vis_replace4%s", "", 2 * W);
        CHECK_CLOSE("vision plan grad vis_append", ga, ra, 2 * W, TOL);
        CHECK_CLOSE("vision plan grad vis_replace4", gr, rr, 2 * W, TOL);
        free(ga), free(gr), free(ra), free(rr);
    }
    tower_free(r);
    free(o.rowsum), free(o.rownorm), free(o.rows), free(feat), free(pooled), free(rf),
        free(rp), free(dz), free(sel), free(mine);
    k_free(img), k_free(app), k_free(rep), k_free(g_app), k_free(g_rep), k_free(d_in), k_free(df);
}

/* ---- text observer: rows 0..15 of every prompt ------------------------------------------- */
typedef struct {
    float *hidden; /* [13, 3, 16, 512] */
    const int *pool;
} TxtObs;

static void txt_observe(void *ctx, int layer, const float *x, int B, int T, int d) {
    TxtObs *o = ctx;
    float *h = host(x, (size_t)B * T * d);
    Acc a = {0};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T && t < 16; t++) {
            int row = layer == 12 ? o->pool[b] : t; /* query-only last block: pooled row */
            if (row >= 16) continue;
            for (int j = 0; j < d; j++)
                acc_add(&a, h[((size_t)b * T + t) * d + j],
                        o->hidden[(((size_t)layer * NB + b) * 16 + row) * d + j]);
        }
    acc_check(&a, "text hidden rows", layer);
    free(h);
}

static void run_text(const ClipModel *m, const char *g) {
    int D = 512, T = 77;
    H5Shape s;
    int *ids = h5r_read_int(F, "/inputs/token_ids", &s), *eot = h5r_read_int(F, "/inputs/eot", &s);
    if (!ids || !eot) cg_fatal("%s", cg_error());
    float *emb = k_alloc((size_t)NB * T * D), *d_in = k_alloc((size_t)NB * T * D);
    op_gather_rows(emb, m->txt.tok_emb, ids, NB * T, D);
    float *rep = dev_upload(ref("/inputs/plan.txt_replace4%s", "", 2 * D), 2 * D);
    float *ins = dev_upload(ref("/inputs/plan.txt_insert8%s", "", 2 * D), 2 * D);
    float *g_rep = k_alloc(2 * D), *g_ins = k_alloc(2 * D);
    PromptPlan plan = {0};
    plan_add(&plan, PLAN_REPLACE, 4, 1, 2, 0, rep, g_rep);
    plan_add(&plan, PLAN_INSERT, 8, 1, 2, 0, ins, g_ins);
    int pool[NB];
    for (int b = 0; b < NB; b++) pool[b] = eot[b] + (plan_mode ? 2 : 0);
    TxtObs o = {ref("/%s/text/hidden", g, (size_t)13 * NB * 16 * D), pool};
    TowerInput in = tower_input_defaults();
    in.B = NB, in.embeds = emb, in.T_in = T, in.plan = plan_mode ? &plan : NULL, in.pool_rows = pool;
    in.want_grad = 1, in.d_input = d_in, in.observe = txt_observe, in.observe_ctx = &o;
    TowerRun *r = tower_forward(m, TOWER_TEXT, &in);
    printf("  text tower ran %d of 77 input rows\n", tower_rows_run(r));
    float *feat = host(tower_features(r), NB * 512), *pooled = host(tower_pooled(r), NB * D);
    float *rf = ref("/%s/text/feat", g, NB * 512), *rp = ref("/%s/text/pooled_ln", g, NB * D);
    CHECK_CLOSE("text feat", feat, rf, NB * 512, TOL);
    CHECK_CLOSE("text pooled_ln", pooled, rp, NB * D, TOL);
    float *df = dev_upload(ref("/inputs/input.dfeat_text%s", "", NB * 512), NB * 512);
    tower_backward(r, NULL, df);
    float *di = host(d_in, (size_t)NB * T * D), *mine = cg_malloc((size_t)NB * 16 * D * sizeof(float));
    for (int b = 0; b < NB; b++) memcpy(mine + (size_t)b * 16 * D, di + (size_t)b * T * D, 16 * D * sizeof(float));
    float *rd = ref("/%s/text/d_input", g, (size_t)NB * 16 * D);
    CHECK_CLOSE("text d_input rows 0..15", mine, rd, (size_t)NB * 16 * D, TOL);
    if (plan_mode) {
        float *gr = host(g_rep, 2 * D), *gi = host(g_ins, 2 * D);
        float *rr = ref("/plan/grad/txt_replace4%s", "", 2 * D), *ri = ref("/plan/grad/txt_insert8%s", "", 2 * D);
        CHECK_CLOSE("text plan grad txt_replace4", gr, rr, 2 * D, TOL);
        CHECK_CLOSE("text plan grad txt_insert8", gi, ri, 2 * D, TOL);
        free(gr), free(gi), free(rr), free(ri);
    }
    tower_free(r);
    free(ids), free(eot), free(o.hidden), free(feat), free(pooled), free(rf), free(rp), free(di),
        free(mine), free(rd);
    k_free(emb), k_free(d_in), k_free(rep), k_free(ins), k_free(g_rep), k_free(g_ins), k_free(df);
}

int main(void) {
    k_init_cpu(0);
    F = h5r_open("tests/data/clip_b16_ref.h5");
    if (F < 0) cg_fatal("%s", cg_error());
    ClipConfig cfg;
    if (clip_config_from_arch(&cfg, "ViT-B/16") != 0) cg_fatal("%s", cg_error());
    ClipModel m;
    if (clip_random_model(&m, &cfg, 7) != 0) cg_fatal("%s", cg_error());
    const char *groups[2] = {"plain", "plan"};
    for (plan_mode = 0; plan_mode < 2; plan_mode++) {
        int before = tl_fail;
        run_vision(&m, groups[plan_mode]);
        run_text(&m, groups[plan_mode]);
        printf("  %s: %s\n", groups[plan_mode], tl_fail == before ? "all within 1e-4" : "FAILURES");
    }
    clip_model_free(&m);
    h5r_close(F);
    return test_finish("test_clip_b16");
}
