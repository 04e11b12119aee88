/* runner/cmd_golden.c — `clipgrid golden FIXTURE.h5...`: runs fixture files in the format of
 * shared/fixtures/official/README.md through the method they name and prints, per tensor, the
 * largest absolute and relative error, then "N passed, N failed". Generic over the method
 * interface (core/methods/method.h): the trainer in /config picks the method, the /config attributes
 * give its options, /init its learnable tensors by name; then the step-0 records, loss and
 * gradients, the optimiser steps (/steps, /steps_adamw), and the evaluation logits (/eval,
 * /eval_adamw, with MMRL's base/novel inference through EvalMode). Large tensors are compared
 * through their digests (sample values and float64 reductions). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_weights.h"
#include "core/methods/registry.h"
#include "core/train/step.h"
#include "core/text/tokenizer.h"
#include "base/util.h"
#include "core/model/clip_meta.h"
#include "core/methods/method.h"
#include "core/optim/optim.h"
#include "results/h5read.h"
#include "runner/cli.h"
#include "runner/golden_check.h"
#include "runner/golden_h5.h"

/* README §7 (fixtures computed in fp32; for reduced precision see precision_tol) */
#define TOL_FEAT 1e-5   /* logits and features, relative */
/* logits and features after the AdamW steps: the ~23 MMRL elements whose step-0 gradient is
 * cancellation noise take an update of up to lr whatever the summation order (fixture README
 * §7, "AdamW caveat"); the parameter check masks them, the evaluation cannot */
#define TOL_EVAL_ADAMW 5e-5
#define TOL_LOSS 1e-5   /* losses, absolute */
#define TOL_GRAD 5e-5   /* gradients, relative to the tensor's max |g| */
#define TOL_PARAM 1e-6  /* parameters after SGD steps, absolute */
/* parameters after AdamW steps (masked): the fixture README §7 measures 4.4e-6 between fp32
 * and float64 after masking; tests/test_methods_deep.c uses the same bound */
#define TOL_PARAM_ADAMW 1e-5
#define TOL_DIGEST 1e-5 /* float64 digests, relative */
#define NOISE_FACTOR 3.0 /* reduced precision: tolerance = this × the dataset's p_noise_rel */
#define ADAMW_MASK 1e-6 /* AdamW: elements with |g0| <= this are ill-conditioned */

typedef struct {
    char *model_path;
    ClipModel model;
    int loaded;
    Tokenizer *tok;
    const char *precision; /* --precision: the products' precision instead of the fixture's */
} GoldenCtx;

static const ClipModel *ctx_model(GoldenCtx *g, const char *path) {
    if (g->loaded && !strcmp(g->model_path, path)) return &g->model;
    if (g->loaded) clip_model_free(&g->model), free(g->model_path), g->loaded = 0;
    /* the official fixtures' CLIP is built by OpenAI's clip/model.py (fixtures README §2):
     * QuickGELU and 64-wide heads, unless the sweep/caller set other hints */
    const ClipArchHints *h = clip_arch_hints_get();
    int own = h->act < 0 && !h->heads && !h->head_width;
    if (own) {
        ClipArchHints fx;
        clip_arch_hints_clear(&fx);
        fx.act = CLIP_ACT_QUICKGELU, fx.head_width = 64;
        snprintf(fx.src, sizeof fx.src, "golden fixture: OpenAI clip/model.py");
        clip_arch_hints_set(&fx);
    }
    int rc = clip_model_load(&g->model, path);
    if (own) clip_arch_hints_set(NULL);
    if (rc != 0) return NULL;
    g->model_path = cg_strdup(path), g->loaded = 1;
    return &g->model;
}

/* ---- comparisons ------------------------------------------------------------------------- */

/* max |got − ref| over the unmasked elements, against tol·scale (scale 0: max |ref|) */
static void compare_scaled(GoldenTally *t, const char *name, const double *got, const double *ref,
                           size_t n, double tol, double scale, const unsigned char *mask,
                           const char *how) {
    double maxabs = 0, maxref = 0;
    int bad = 0;
    size_t masked = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask && mask[i]) {
            masked++;
            continue;
        }
        if (!isfinite(got[i])) bad = 1;
        double d = fabs(got[i] - ref[i]);
        if (d > maxabs) maxabs = d;
        if (fabs(ref[i]) > maxref) maxref = fabs(ref[i]);
    }
    double s = scale > 0 ? scale : maxref, rel = s > 0 ? maxabs / s : maxabs;
    int ok = !bad && (strcmp(how, "abs") ? rel <= tol : maxabs <= tol);
    printf("  %-34s max abs err %.3e  max rel err %.3e  (%s tol %.0e%s)  %s\n", name, maxabs, rel,
           how, tol, masked ? ", masked" : "", ok ? "ok" : (bad ? "FAIL (non-finite)" : "FAIL"));
    if (masked) printf("  %-34s %zu elements with |g0| <= %.0e masked (README §7)\n", "", masked, ADAMW_MASK);
    if (ok) t->passed++;
    else t->failed++;
}

static double *to_f64(const float *x, size_t n) {
    double *d = cg_malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

/* A fixture whose products are at a reduced precision (its /config precision attribute) cannot
 * be held to fp32 tolerances: two correct computations at that precision that only sum in
 * another order differ where an operand near a rounding tie goes the other way, by a unit of
 * the type, and that spreads through the model, to about the size of the precision's own
 * effect. Each dataset of such a fixture carries p_noise_rel, the largest difference between
 * the reference and five other correct summation orders (tests/reference/precision_ref.py),
 * and is compared relative to max |ref| within NOISE_FACTOR times that (precision_tol; digest
 * checks keep their fp32 rule: the precision fixtures have none). This checks that the
 * computation agrees at the precision's noise level (and catches wrong operands, layouts or
 * conversions on a backend); that the operands are rounded as specified is tested where it
 * can be told apart, on single products (tests/test_precision.c). */
static int reduced_precision;

/* The comparison of dataset `path`: in a fp32 fixture the caller's tol/how/scale as they are;
 * in a reduced-precision one relative to max |ref| within max(NOISE_FACTOR·p_noise_rel, the
 * relative fp32 tolerance). Returns 0, with a failed verdict, when such a fixture's dataset has
 * no p_noise_rel. */
static int precision_tol(GoldenTally *t, hid_t f, const char *path, double *tol,
                         const char **how, double *scale) {
    if (!reduced_precision) return 1;
    double v;
    if (gh5_attr_numbers(f, path, "p_noise_rel", &v, 1) != 1) {
        golden_verdict(t, path, 0, "a reduced-precision fixture needs p_noise_rel on every dataset");
        return 0;
    }
    *tol = fmax(NOISE_FACTOR * v, strcmp(*how, "abs") ? *tol : 0);
    *how = "rel", *scale = 0;
    return 1;
}

/* host tensor `got` [n] against float dataset `path` */
static void check_host(GoldenTally *t, hid_t f, const char *path, const float *got, size_t n,
                       double tol, const char *how, double scale, const unsigned char *mask) {
    if (!precision_tol(t, f, path, &tol, &how, &scale)) return;
    size_t rn = 0;
    double *ref = gh5_read_f64(f, path, &rn);
    if (!ref || rn != n) {
        char msg[160];
        snprintf(msg, sizeof msg, ref ? "reference has %zu elements, we have %zu" : "missing in the fixture",
                 rn, n);
        golden_verdict(t, path, 0, msg);
        free(ref);
        return;
    }
    double *g = to_f64(got, n);
    compare_scaled(t, path, g, ref, n, tol, scale, mask, how);
    free(g), free(ref);
}

static void check_scalar(GoldenTally *t, hid_t f, const char *path, double got, double tol) {
    size_t n = 0;
    double *ref = gh5_read_f64(f, path, &n), scale = 0;
    const char *how = "abs";
    if (!ref || n != 1) golden_verdict(t, path, 0, "missing in the fixture");
    else if (precision_tol(t, f, path, &tol, &how, &scale))
        compare_scaled(t, path, &got, ref, 1, tol, scale, NULL, how);
    free(ref);
}

/* ---- the method and its parameters ------------------------------------------------------- */

static void copy_attr_string(hid_t f, const char *name, char *dst, size_t cap) {
    if (H5Aexists_by_name(f, "/config", name, H5P_DEFAULT) <= 0) return;
    char *s = h5r_attr_string(f, "/config", name);
    if (s) snprintf(dst, cap, "%s", s);
    free(s);
}

/* the text of /config attribute `name` as a sweep file would give it ("4", "0.002",
 * "a photo of a", "[2, 3]"); 0 when absent */
static int attr_text(hid_t f, const char *name, char *buf, size_t cap) {
    if (H5Aexists_by_name(f, "/config", name, H5P_DEFAULT) <= 0) return 0;
    hid_t a = H5Aopen_by_name(f, "/config", name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ty = H5Aget_type(a);
    int is_string = H5Tget_class(ty) == H5T_STRING;
    H5Tclose(ty), H5Aclose(a);
    if (is_string) {
        copy_attr_string(f, name, buf, cap);
        return 1;
    }
    double v[16];
    int n = gh5_attr_numbers(f, "/config", name, v, 16);
    if (n <= 0) return 0;
    size_t l = 0;
    if (n > 1) l += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < n && l < cap; i++)
        l += (size_t)snprintf(buf + l, cap - l, "%s%.17g", i ? ", " : "", v[i]);
    if (n > 1 && l < cap) snprintf(buf + l, cap - l, "]");
    return 1;
}

/* the fixtures' names for a few options (the official config keys), tried before the key */
static const char *fixture_name(const char *key, int second) {
    static const struct { const char *key, *names[2]; } A[] = {
        {"n_ctx", {"n_ctx_config", "n_ctx"}},     {"depth", {"prompt_depth", "deep_prompt_depth"}},
        {"optim", {"optimizer", NULL}},           {"batch", {"batch_size", NULL}},
        {"test_batch", {"test_batch_size", NULL}}, {"prompt_depth", {NULL, NULL}},
    };
    for (size_t i = 0; i < sizeof A / sizeof A[0]; i++)
        if (!strcmp(A[i].key, key)) return A[i].names[second];
    return second ? NULL : key;
}

/* the method's options from the /config attributes over its published defaults: every key of
 * the method (core/methods/registry.h) whose attribute the fixture has */
static MethodConfig config_from_fixture(GoldenTally *t, hid_t f, MethodKind kind,
                                        const char *dataset) {
    MethodConfig c;
    method_config_defaults(&c, kind, "base2new", dataset);
    const MethodKey *keys = method_keys();
    char text[1024];
    for (int i = 0; keys[i].key; i++) {
        if (!(keys[i].methods & (1u << kind))) continue;
        for (int k = 0; k < 2; k++) {
            const char *name = fixture_name(keys[i].key, k);
            if (!name || !attr_text(f, name, text, sizeof text)) continue;
            if (method_option_set(&c, keys[i].key, text) != 0) golden_verdict(t, name, 0, cg_error());
            break;
        }
    }
    c.train.warmup_epochs = 0;
    return c;
}

/* /init/NAME into the learnable block, for every declared tensor; every /init member must be
 * one of them. Returns 0 when all loaded. */
static int load_init(GoldenTally *t, hid_t f, Method *m) {
    ParamBlock *pb = &m->params;
    int ok = 1, n_init = 0, unknown = 0;
    char path[256], msg[256];
    for (int i = 0; i < pb->count; i++) {
        snprintf(path, sizeof path, "/init/%s", pb->t[i].name);
        H5Shape s;
        float *h = h5r_read_f32(f, path, &s);
        if (!h || s.n != pb->t[i].numel) {
            snprintf(msg, sizeof msg, h ? "size %zu, the method declares %zu" : "missing", h ? s.n : 0,
                     pb->t[i].numel);
            golden_verdict(t, path, 0, msg);
            ok = 0;
        } else {
            k_upload(pb->data + pb->t[i].offset, h, s.n);
        }
        free(h);
    }
    char **names = h5r_group_members(f, "/init", &n_init);
    for (int i = 0; i < n_init; i++)
        if (param_find(pb, names[i]) < 0) {
            snprintf(path, sizeof path, "/init/%s", names[i]);
            golden_verdict(t, path, 0, "not a learnable tensor of our method");
            unknown++;
        }
    h5r_free_strings(names, n_init);
    snprintf(msg, sizeof msg, "%d tensors, %zu floats", pb->count, pb->n);
    if (pb->count || n_init) golden_verdict(t, "init", ok && !unknown && n_init == pb->count, msg);
    m->params_version++;
    return ok ? 0 : -1;
}

/* [rows, cols] view of a tensor for its digests: [shape0, rest] */
static void rows_cols(const ParamTensor *pt, size_t *rows, size_t *cols) {
    *rows = pt->ndim ? (size_t)pt->shape[0] : 1;
    *cols = pt->numel / (*rows ? *rows : 1);
}

/* A float64 reduction over a set S of elements (README §5.7) is accepted when
 *   |got − ref| <= tol_elem·sqrt(|S|) + TOL_DIGEST·|ref| + allow·(masked elements in S)
 * i.e. what independent element errors within the element tolerance give (sums of gradients
 * and of parameter deltas cancel: a plain relative test against a near-zero sum measures only
 * fp32 rounding), plus the README's relative 1e-5, plus, for AdamW, the ±allow an
 * ill-conditioned (masked) element may move. The line prints the largest error/allowed ratio. */
typedef struct {
    double tol_elem, allow;
} DigestTol;

static void compare_reduction(GoldenTally *t, const char *name, const double *got,
                              const double *ref, size_t n, double set_size, const double *masked,
                              const DigestTol *dt, int is_norm) {
    double worst = 0, maxabs = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double m = masked ? masked[i] : 0;
        double allowed = is_norm == 2 ? dt->tol_elem + (m > 0 ? dt->allow : 0)
                         : is_norm == 1 ? sqrt(dt->tol_elem * dt->tol_elem * set_size + dt->allow * dt->allow * m)
                                        : dt->tol_elem * sqrt(set_size) + dt->allow * m;
        allowed += TOL_DIGEST * fabs(ref[i]);
        double e = fabs(got[i] - ref[i]);
        if (!isfinite(got[i])) bad = 1;
        if (e > maxabs) maxabs = e;
        if (allowed > 0 && e / allowed > worst) worst = e / allowed;
        if (allowed <= 0 && e > 0) worst = INFINITY;
    }
    int ok = !bad && worst <= 1.0;
    printf("  %-34s max abs err %.3e  err/allowed %.3f  (elem tol %.1e x sqrt(%.0f))  %s\n", name,
           maxabs, worst, dt->tol_elem, set_size, ok ? "ok" : "FAIL");
    if (ok) t->passed++;
    else t->failed++;
}

/* digest group `grp` (…/NAME) of tensor x against ours; with x0, the delta_* reductions of
 * x − x0 (parameters after a step), else the reductions of x (a gradient) */
static void check_digest(GoldenTally *t, hid_t f, const char *grp, const char *name,
                         const ParamTensor *pt, const float *x, const float *x0, double tol,
                         const unsigned char *mask_full, double allow) {
    char path[1024], idxp[512];
    snprintf(idxp, sizeof idxp, "/digests/sample_index/%s", name);
    H5Shape s;
    int *idx = h5r_read_int(f, idxp, &s);
    if (!idx) return golden_verdict(t, idxp, 0, "missing in the fixture");
    size_t ns = s.n, rows, cols;
    const char *pre = x0 ? "delta_" : "";
    rows_cols(pt, &rows, &cols);
    float *v = cg_malloc(pt->numel * sizeof(float));
    for (size_t i = 0; i < pt->numel; i++) v[i] = x0 ? x[i] - x0[i] : x[i];
    Digest d;
    digest_compute(&d, v, rows, cols);
    /* the element tolerance: gradients relative to the tensor's max |g| (the fixture's when
     * stored), parameters absolute */
    DigestTol dt = {.tol_elem = tol, .allow = allow};
    if (!x0) {
        size_t n1 = 0;
        snprintf(path, sizeof path, "%s/max_abs", grp);
        double *mx = gh5_read_f64(f, path, &n1);
        dt.tol_elem = tol * (mx && n1 == 1 ? mx[0] : d.max_abs);
        free(mx);
    }
    /* sample values are of the tensor itself (after the step), not of the delta */
    float *sv = cg_malloc(ns * sizeof(float));
    unsigned char *smask = mask_full ? cg_calloc(ns, 1) : NULL;
    for (size_t i = 0; i < ns; i++) {
        int ok = idx[i] >= 0 && (size_t)idx[i] < pt->numel;
        sv[i] = ok ? x[idx[i]] : NAN;
        if (smask && ok) smask[i] = mask_full[idx[i]];
    }
    snprintf(path, sizeof path, "%s/sample_values", grp);
    check_host(t, f, path, sv, ns, x0 ? tol : dt.tol_elem, "abs", 0, smask);
    /* masked elements per row / column / in all */
    double *mr = cg_calloc(rows ? rows : 1, sizeof(double)), *mc = cg_calloc(cols ? cols : 1, sizeof(double));
    double mall = 0;
    for (size_t r = 0; mask_full && r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            if (mask_full[r * cols + c]) mr[r]++, mc[c]++, mall++;
    struct { const char *sfx; double *got; size_t n; double set; const double *masked; int norm; } R[] = {
        {"sum_over_dim1", d.dim1, rows, (double)cols, mr, 0}, {"sum_over_dim0", d.dim0, cols, (double)rows, mc, 0},
        {"sum", &d.sum, 1, (double)pt->numel, &mall, 0}, {"l2_norm", &d.l2, 1, (double)pt->numel, &mall, 1},
        {"max_abs", &d.max_abs, 1, 1, &mall, 2}};
    for (size_t r = 0; r < sizeof R / sizeof R[0]; r++) {
        snprintf(path, sizeof path, "%s/%s%s", grp, pre, R[r].sfx);
        size_t rn = 0;
        double *ref = gh5_read_f64(f, path, &rn);
        if (!ref || rn != R[r].n) golden_verdict(t, path, 0, ref ? "size differs" : "missing in the fixture");
        else compare_reduction(t, path, R[r].got, ref, rn, R[r].set, R[r].masked, &dt, R[r].norm);
        free(ref);
    }
    digest_free(&d);
    free(v), free(sv), free(smask), free(idx), free(mr), free(mc);
}

/* every learnable tensor: the full array at `full_grp`/NAME, or the digests at `dig_grp`/NAME */
static void check_params(GoldenTally *t, hid_t f, Method *m, const float *host, const float *host0,
                         const char *full_grp, const char *dig_grp, double tol, const char *how,
                         const unsigned char *mask, double allow) {
    ParamBlock *pb = &m->params;
    char path[512];
    for (int i = 0; i < pb->count; i++) {
        const ParamTensor *pt = &pb->t[i];
        const float *x = host + pt->offset;
        const unsigned char *mk = mask ? mask + pt->offset : NULL;
        snprintf(path, sizeof path, "%s/%s", full_grp, pt->name);
        if (h5r_exists(f, path)) {
            check_host(t, f, path, x, pt->numel, tol, how, 0, mk);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dig_grp, pt->name);
        if (h5r_exists(f, path))
            check_digest(t, f, path, pt->name, pt, x, host0 ? host0 + pt->offset : NULL, tol, mk, allow);
        else golden_verdict(t, full_grp, 0, pt->name);
    }
}

/* ---- the phases ------------------------------------------------------------------------- */

typedef struct {
    float *images, *test_images;
    int *labels, *test_labels;
    int B, TB;
} Inputs;

static int read_inputs(GoldenTally *t, hid_t f, Inputs *in) {
    H5Shape s, ls;
    float *h = h5r_read_f32(f, "/inputs/images", &s);
    in->labels = h5r_read_int(f, "/inputs/labels", &ls);
    if (!h || !in->labels) return free(h), golden_verdict(t, "inputs", 0, cg_error()), -1;
    in->B = (int)s.dims[0];
    in->images = k_alloc(s.n);
    k_upload(in->images, h, s.n);
    free(h);
    h = h5r_read_f32(f, "/inputs/test_images", &s);
    in->test_labels = h5r_read_int(f, "/inputs/test_labels", &ls);
    if (h) {
        in->TB = (int)s.dims[0];
        in->test_images = k_alloc(s.n);
        k_upload(in->test_images, h, s.n);
        free(h);
    }
    return 0;
}

static void free_inputs(Inputs *in) {
    if (in->images) k_free(in->images);
    if (in->test_images) k_free(in->test_images);
    free(in->labels), free(in->test_labels);
}

static int is_sanity(const char *name) {
    return !strcmp(name, "loss_from_logits") || !strcmp(name, "loss_recomputed_from_components");
}

/* every dataset of group `grp` except those in `skip` against the method's records */
static void check_records(GoldenTally *t, hid_t f, Method *m, const char *grp,
                          const char *const *skip) {
    int n = 0;
    char **names = h5r_group_members(f, grp, &n);
    char path[512];
    for (int i = 0; i < n; i++) {
        int skipped = is_sanity(names[i]);
        for (int k = 0; skip && skip[k]; k++) skipped |= !strcmp(names[i], skip[k]);
        snprintf(path, sizeof path, "%s/%s", grp, names[i]);
        if (skipped || H5Oexists_by_name(f, path, H5P_DEFAULT) <= 0) continue;
        H5O_info_t info;
        if (H5Oget_info_by_name(f, path, &info, H5P_DEFAULT) < 0 || info.type != H5O_TYPE_DATASET)
            continue;
        const MethodRecord *r = method_recorded(m, names[i]);
        if (!r) {
            golden_verdict(t, path, 0, "not produced by our method");
            continue;
        }
        size_t cnt = 1;
        for (int d = 0; d < r->ndim; d++) cnt *= (size_t)r->shape[d];
        int loss = !strncmp(names[i], "loss", 4);
        double feat = strstr(grp, "adamw") ? TOL_EVAL_ADAMW : TOL_FEAT;
        check_host(t, f, path, r->host, cnt, loss ? TOL_LOSS : feat, loss ? "abs" : "rel", 0, NULL);
    }
    h5r_free_strings(names, n);
}

static void check_tokens(GoldenTally *t, hid_t f, Method *m) {
    const MethodRecord *r = method_recorded(m, "tokenized_prompts");
    if (!r || !h5r_exists(f, "/inputs/tokenized_prompts")) return;
    H5Shape s;
    int *ids = h5r_read_int(f, "/inputs/tokenized_prompts", &s);
    size_t n = (size_t)r->shape[0] * r->shape[1];
    int diff = 0;
    for (size_t i = 0; ids && s.n == n && i < n; i++) diff += ids[i] != (int)r->host[i];
    char msg[128];
    snprintf(msg, sizeof msg, "%d classes, %d ids differ", r->shape[0], ids && s.n == n ? diff : -1);
    golden_verdict(t, "inputs/tokenized_prompts", ids && s.n == n && !diff, msg);
    free(ids);
}

static float *download_params(Method *m) {
    float *h = cg_malloc((m->params.n ? m->params.n : 1) * sizeof(float));
    if (m->params.n) k_download(h, m->params.data, m->params.n);
    return h;
}

/* forward and backward through the one training step (no update): the global loss */
static double run_fb(Method *m, const Inputs *in) {
    StepResult r;
    if (train_step(m, NULL, in->images, in->labels, in->B, in->B, 0, &r) != 0) return NAN;
    return r.loss;
}

/* step 0: records, loss, gradients; returns host gradients (caller frees) */
static float *golden_step0(GoldenTally *t, hid_t f, Method *m, const Inputs *in) {
    m->record = 1;
    double loss = run_fb(m, in);
    m->record = 0;
    static const char *const skip[] = {"loss", NULL};
    check_records(t, f, m, "/step0", skip);
    check_scalar(t, f, "/step0/loss", loss, TOL_LOSS);
    float *g = cg_malloc((m->params.n ? m->params.n : 1) * sizeof(float));
    if (m->params.n) {
        k_download(g, m->params.grad, m->params.n);
        check_params(t, f, m, g, NULL, "/step0/grads", "/step0/grad_digests", TOL_GRAD, "rel", NULL, 0);
    }
    return g;
}

/* three optimiser steps from /init; group "/steps" or "/steps_adamw" */
static void golden_steps(GoldenTally *t, hid_t f, Method *m, const Inputs *in, const char *grp,
                         const MethodConfig *cfg, const float *init, const unsigned char *mask) {
    char path[256];
    size_t nl = 0, nlr = 0;
    snprintf(path, sizeof path, "%s/losses", grp);
    double *losses = gh5_read_f64(f, path, &nl);
    snprintf(path, sizeof path, "%s/lr_per_step", grp);
    double *lrs = gh5_read_f64(f, path, &nlr);
    if (!losses || !lrs || nl != nlr) {
        golden_verdict(t, grp, 0, "losses / lr_per_step missing");
        free(losses), free(lrs);
        return;
    }
    if (m->params.n) k_upload(m->params.data, init, m->params.n);
    m->params_version++;
    Optimizer opt;
    if (optim_init(&opt, &cfg->train, m->params.n) != 0) {
        golden_verdict(t, grp, 0, cg_error());
        free(losses), free(lrs);
        return;
    }
    double *got = cg_malloc(nl * sizeof(double)), lr_sum = 0;
    for (size_t k = 0; k < nl; k++) {
        lr_sum += lrs[k]; /* an ill-conditioned AdamW element moves at most about lr per step */
        StepResult r;
        got[k] = train_step(m, &opt, in->images, in->labels, in->B, in->B, lrs[k], &r) ? NAN : r.loss;
        float *h = download_params(m);
        char full[128], dig[128];
        snprintf(full, sizeof full, "%s/params_after_step%zu", grp, k + 1);
        snprintf(dig, sizeof dig, "%s/digests_after_step%zu", grp, k + 1);
        if (h5r_exists(f, full) || h5r_exists(f, dig))
            check_params(t, f, m, h, init, full, dig, mask ? TOL_PARAM_ADAMW : TOL_PARAM, "abs", mask,
                         mask ? 2 * lr_sum : 0);
        free(h);
    }
    snprintf(path, sizeof path, "%s/losses", grp);
    size_t rn = 0;
    double *ref = gh5_read_f64(f, path, &rn);
    double tol = TOL_LOSS, scale = 0;
    const char *how = "abs";
    if (precision_tol(t, f, path, &tol, &how, &scale))
        compare_scaled(t, path, got, ref, nl, tol, scale, NULL, how);
    free(ref), free(got), free(losses), free(lrs);
    optim_free(&opt);
}

/* evaluation logits after the steps; group "/eval" or "/eval_adamw" */
static void golden_eval(GoldenTally *t, hid_t f, Method *m, const Inputs *in, const char *grp) {
    if (!in->test_images || !h5r_exists(f, grp)) return;
    int C = m->C, TB = in->TB;
    float *lg = cg_malloc((size_t)TB * C * sizeof(float));
    char path[256];
    m->record = 1;
    method_logits(m, in->test_images, TB, EVAL_DEFAULT, lg);
    m->record = 0;
    snprintf(path, sizeof path, "%s/logits", grp);
    double tol = strstr(grp, "adamw") ? TOL_EVAL_ADAMW : TOL_FEAT;
    check_host(t, f, path, lg, (size_t)TB * C, tol, "rel", 0, NULL);
    static const char *const skip[] = {"logits", "logits_base_inference", "logits_novel_inference", NULL};
    check_records(t, f, m, grp, skip);
    static const struct { const char *name; EvalMode mode; } modes[] = {
        {"logits_base_inference", EVAL_BASE}, {"logits_novel_inference", EVAL_NOVEL}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", grp, modes[i].name);
        if (!h5r_exists(f, path)) continue;
        method_logits(m, in->test_images, TB, modes[i].mode, lg);
        check_host(t, f, path, lg, (size_t)TB * C, tol, "rel", 0, NULL);
    }
    free(lg);
}

/* the AdamW run's settings from the /steps_adamw attributes */
static MethodConfig adamw_config(hid_t f, MethodConfig c) {
    double v[2];
    TrainConfig *t = &c.train;
    strcpy(t->optim, "adamw");
    if (gh5_attr_numbers(f, "/steps_adamw", "lr", v, 1) == 1) t->lr = v[0];
    if (gh5_attr_numbers(f, "/steps_adamw", "betas", v, 2) == 2) t->beta1 = v[0], t->beta2 = v[1];
    if (gh5_attr_numbers(f, "/steps_adamw", "eps", v, 1) == 1) t->eps = v[0];
    if (gh5_attr_numbers(f, "/steps_adamw", "weight_decay", v, 1) == 1) t->weight_decay = v[0];
    return c;
}

/* elements whose step-0 gradient (ours, or the fixture's where stored) is at most ADAMW_MASK */
static unsigned char *adamw_mask(hid_t f, Method *m, const float *g0) {
    unsigned char *mask = cg_calloc(m->params.n ? m->params.n : 1, 1);
    for (size_t i = 0; i < m->params.n; i++) mask[i] = fabsf(g0[i]) <= ADAMW_MASK;
    char path[512];
    for (int i = 0; i < m->params.count; i++) {
        const ParamTensor *pt = &m->params.t[i];
        snprintf(path, sizeof path, "/step0/grads/%s", pt->name);
        H5Shape s;
        float *ref = h5r_exists(f, path) ? h5r_read_f32(f, path, &s) : NULL;
        for (size_t j = 0; ref && s.n == pt->numel && j < s.n; j++)
            mask[pt->offset + j] |= fabsf(ref[j]) <= ADAMW_MASK;
        free(ref);
    }
    return mask;
}

static void golden_method(GoldenTally *t, hid_t f, GoldenCtx *g, const ClipModel *clip,
                          MethodKind kind) {
    char dataset[64] = "";
    copy_attr_string(f, "dataset_name", dataset, sizeof dataset);
    int C = 0;
    char **names = h5r_attr_strings(f, "/config", "classnames", &C);
    if (!names) return golden_verdict(t, "config/classnames", 0, cg_error());
    MethodEnv env = {.clip = clip, .tok = g->tok, .cfg = config_from_fixture(t, f, kind, dataset),
                     .comm = comm_self()};
    char *prec = env.cfg.train.precision;
    reduced_precision = strcmp(prec, "fp32") != 0; /* the fixture's */
    if (g->precision) snprintf(prec, sizeof env.cfg.train.precision, "%s", g->precision);
    if (reduced_precision)
        printf("  products in %s: each dataset within %.0f x its p_noise_rel (relative)\n", prec,
               NOISE_FACTOR);
    else if (g->precision)
        printf("  products in %s\n", prec);
    snprintf(env.dataset, sizeof env.dataset, "%s", dataset);
    double seed = 1;
    gh5_attr_numbers(f, "/config", "seed", &seed, 1);
    env.seed = (uint64_t)seed;
    Method *m = method_create(&env);
    Inputs in = {0};
    if (!m) {
        golden_verdict(t, "method", 0, cg_error());
    } else {
        m->record = 1;
        int rc = method_set_classes(m, (const char *const *)names, C, dataset);
        m->record = 0;
        if (rc != 0) golden_verdict(t, "set_classes", 0, cg_error());
        else if (load_init(t, f, m) == 0 && read_inputs(t, f, &in) == 0) {
            check_tokens(t, f, m);
            float *init = download_params(m);
            float *g0 = golden_step0(t, f, m, &in);
            if (h5r_exists(f, "/steps")) golden_steps(t, f, m, &in, "/steps", &env.cfg, init, NULL);
            golden_eval(t, f, m, &in, "/eval");
            if (h5r_exists(f, "/steps_adamw")) {
                MethodConfig ac = adamw_config(f, env.cfg);
                unsigned char *mask = adamw_mask(f, m, g0);
                golden_steps(t, f, m, &in, "/steps_adamw", &ac, init, mask);
                golden_eval(t, f, m, &in, "/eval_adamw");
                free(mask);
            }
            free(init), free(g0);
        }
    }
    free_inputs(&in);
    method_free(m);
    h5r_free_strings(names, C);
    reduced_precision = 0;
}

static void golden_file(GoldenTally *t, GoldenCtx *g, const char *path) {
    printf("%s\n", path);
    hid_t f = h5r_open(path);
    if (f < 0) return golden_verdict(t, "open", 0, cg_error());
    char *trainer = h5r_attr_string(f, "/config", "trainer");
    char *model_file = h5r_attr_string(f, "/config", "model_file");
    if (!trainer || !model_file) {
        golden_verdict(t, "config", 0, cg_error());
    } else {
        char *dir = cg_dirname(path), *mpath = cg_path_join(dir, model_file);
        const ClipModel *m = ctx_model(g, mpath);
        const MethodDesc *d = method_find_trainer(trainer);
        int kind = d ? method_kind_from_name(d->name) : -1;
        if (!m) golden_verdict(t, "model", 0, cg_error());
        else if (kind < 0) {
            char msg[256];
            snprintf(msg, sizeof msg, "trainer %s is not a known method", trainer);
            golden_verdict(t, "trainer", 0, msg);
        } else golden_method(t, f, g, m, (MethodKind)kind);
        free(dir), free(mpath);
    }
    free(trainer), free(model_file);
    h5r_close(f);
}

static void golden_usage(FILE *o) {
    fprintf(o, "usage: clipgrid golden [--vocab FILE] [--threads N] [--precision P] FIXTURE.h5...\n"
               "Runs each fixture (format of shared/fixtures/official/README.md) with the model named\n"
               "by its /config attribute model_file (resolved in the fixture's folder) through the\n"
               "method its trainer names (the official TRAINER.NAME of a registered method, e.g. CoOp): step-0\n"
               "records, loss and gradients, the optimiser steps, the evaluation logits. Prints, per\n"
               "tensor, the largest absolute and relative error; exits 1 on any failure.\n"
               "The products run at the fixture's /config precision (fp32 when absent), or at P\n"
               "(fp32, tf32, bf16, fp16) with --precision; a reduced-precision fixture is compared\n"
               "within 3 x each dataset's p_noise_rel (tests/reference/precision_ref.py).\n");
}

int cmd_golden(int argc, char **argv) {
    const char *vocab = NULL, *precision = NULL;
    int threads = 0, nfiles = 0;
    char **files = cg_calloc((size_t)argc, sizeof(char *));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) return golden_usage(stdout), free(files), 0;
        else if (!strcmp(argv[i], "--vocab") && i + 1 < argc) vocab = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) precision = argv[++i];
        else files[nfiles++] = argv[i];
    }
    if (!nfiles) return golden_usage(stderr), free(files), 2;
    cli_init_backend(threads);
    GoldenCtx g = {.precision = precision};
    if (!(g.tok = tokenizer_load(vocab ? vocab : cli_default_vocab())))
        cg_fatal("%s", cg_error());
    GoldenTally t = {0};
    for (int i = 0; i < nfiles; i++) golden_file(&t, &g, files[i]);
    printf("%d passed, %d failed\n", t.passed, t.failed);
    if (g.loaded) clip_model_free(&g.model);
    free(g.model_path), free(files);
    tokenizer_free(g.tok);
    return t.failed ? 1 : 0;
}
