/* tests/test_kernels.c — the CPU backend of kernels/ops.h against naive double-precision
 * reference loops written here, and every backward op against central finite differences of
 * those references (in double, so the differences are accurate to ~1e-9 and the tolerances
 * below measure the float kernels). Also: fp16/bf16 upload bit patterns, memory helpers,
 * untouched padding columns, accumulate-vs-overwrite semantics and fatal argument checks. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "kernels/ops.h"
#include "testlib.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double urand(void) { /* xorshift64*, uniform in [0, 1) */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1p-53;
}

static float frand(double lo, double hi) { return (float)(lo + (hi - lo) * urand()); }

static float *host_rand(size_t n, double lo, double hi) {
    float *h = cg_malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = frand(lo, hi);
    return h;
}

static double *to_double(const float *f, size_t n) {
    double *d = cg_malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = f[i];
    return d;
}

static float *dev_from(const float *h, size_t n) {
    float *d = k_alloc(n);
    k_upload(d, h, n);
    return d;
}

static float *host_from(const float *d, size_t n) {
    float *h = cg_malloc((n ? n : 1) * sizeof(float));
    k_download(h, d, n);
    return h;
}

/* max |a − ref| / max(max |ref|, floor) over the elements i ≡ 0 (mod step); NaN if any is NaN */
static double err_rel(const float *a, const double *ref, size_t n, size_t step, double floor_) {
    double md = 0.0, mr = floor_;
    int nan = 0;
    for (size_t i = 0; i < n; i += step) {
        double d = fabs((double)a[i] - ref[i]);
        nan |= isnan(d);
        if (d > md) md = d;
        if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
    }
    return nan ? NAN : md / mr;
}

/* elementwise: max |a − ref| / max(|ref|, floor); NaN if any is NaN */
static double err_elem(const float *a, const double *ref, size_t n, double floor_) {
    double e = 0.0;
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]) / fmax(fabs(ref[i]), floor_);
        nan |= isnan(d);
        if (d > e) e = d;
    }
    return nan ? NAN : e;
}

static void report(const char *name, double err, double tol) {
    printf("  %-62s %9.2e (tol %.0e)\n", name, err, tol);
    CHECK(err <= tol, "%s: error %.3g > tolerance %.3g", name, err, tol);
}

/* Σ w⊙y */
static double wsum(const double *w, const double *y, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += w[i] * y[i];
    return s;
}

/* Central differences of loss(ctx) w.r.t. x[i] for i ≡ 0 (mod step), into g[i]. */
typedef double (*LossFn)(void *ctx);
static void fd_grad(double *g, double *x, size_t n, size_t step, double h, LossFn loss,
                    void *ctx) {
    for (size_t i = 0; i < n; i += step) {
        double x0 = x[i];
        x[i] = x0 + h;
        double lp = loss(ctx);
        x[i] = x0 - h;
        double lm = loss(ctx);
        x[i] = x0;
        g[i] = (lp - lm) / (2.0 * h);
    }
}

#define FD_H 1e-5

/* ---- memory and uploads ---------------------------------------------------------------------- */

static void test_memory(void) {
    printf("memory\n");
    float *p = k_alloc(1001);
    CHECK(((uintptr_t)p & 63) == 0, "k_alloc: pointer %p not 64-byte aligned", (void *)p);
    float *h = host_from(p, 1001);
    int zero = 1;
    for (int i = 0; i < 1001; i++) zero &= h[i] == 0.0f;
    CHECK(zero, "k_alloc: memory not zero-filled");
    float *big = k_alloc((size_t)1 << 20); /* parallel zeroing path */
    float *hb = host_from(big, (size_t)1 << 20);
    zero = 1;
    for (size_t i = 0; i < (size_t)1 << 20; i++) zero &= hb[i] == 0.0f;
    CHECK(zero, "k_alloc: large allocation not zero-filled");
    k_fill(p, 2.5f, 1001);
    k_zero(p + 10, 5);
    k_download(h, p, 1001);
    CHECK(h[9] == 2.5f && h[10] == 0.0f && h[14] == 0.0f && h[15] == 2.5f && h[1000] == 2.5f,
          "k_fill/k_zero: wrong values");
    float *src = host_rand(1001, -1, 1), *q = k_alloc(1001);
    k_upload(p, src, 1001);
    k_copy(q, p, 1001);
    k_download(h, q, 1001);
    CHECK(memcmp(h, src, 1001 * sizeof(float)) == 0, "k_upload/k_copy/k_download: not exact");
    k_copy(p + 1, p, 1000); /* overlapping copy behaves like memmove */
    k_download(h, p, 1001);
    CHECK(h[1] == src[0] && h[1000] == src[999], "k_copy: overlapping copy wrong");
    k_free(p);
    k_free(q);
    k_free(big);
    free(h);
    free(hb);
    free(src);
}

static float bits_f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* upload little-endian 16-bit patterns from an odd (unaligned) address */
static void upload16(float *dst, const uint16_t *pat, size_t n, KDtype dt) {
    unsigned char *buf = cg_malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        buf[1 + 2 * i] = (unsigned char)(pat[i] & 0xff);
        buf[2 + 2 * i] = (unsigned char)(pat[i] >> 8);
    }
    k_upload_cast(dst, buf + 1, dt, n);
    free(buf);
}

static void test_upload_cast(void) {
    printf("upload_cast\n");
    /* fp16: zero, negative zero, one, -2, max normal, min normal, subnormals, inf, NaN, 1/3 */
    static const uint16_t h16[] = {0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001,
                                   0x03ff, 0x8001, 0x7c00, 0xfc00, 0x3555, 0x0200};
    const float e16[] = {0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, 0x1p-14f, 0x1p-24f,
                         1023 * 0x1p-24f, -0x1p-24f, INFINITY, -INFINITY, 0.333251953125f,
                         0x1p-15f};
    enum { N16 = sizeof h16 / sizeof h16[0] };
    float *d = k_alloc(65536);
    float out[N16];
    upload16(d, h16, N16, K_F16);
    k_download(out, d, N16);
    int bad = 0;
    for (int i = 0; i < N16; i++)
        if (f_bits(out[i]) != f_bits(e16[i])) {
            bad++;
            fprintf(stderr, "  f16 0x%04x -> %a (0x%08x), expected %a\n", h16[i], out[i],
                    f_bits(out[i]), e16[i]);
        }
    CHECK(bad == 0, "k_upload_cast F16: %d known patterns wrong", bad);
    uint16_t nan16 = 0x7e01;
    upload16(d, &nan16, 1, K_F16);
    k_download(out, d, 1);
    CHECK(isnan(out[0]) && (f_bits(out[0]) & 0x7fffff) == (0x201u << 13),
          "k_upload_cast F16: NaN 0x7e01 -> 0x%08x", f_bits(out[0]));

    /* all 65536 fp16 patterns against an independent formula: (-1)^s · 2^(e-15) · (1 + m/1024) */
    uint16_t *all = cg_malloc(65536 * sizeof(uint16_t));
    for (int i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    upload16(d, all, 65536, K_F16);
    float *got = host_from(d, 65536);
    bad = 0;
    for (int i = 0; i < 65536; i++) {
        int s = i >> 15, e = (i >> 10) & 31, m = i & 1023;
        double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                    : ldexp(1024 + m, e - 25);
        if (s) v = -v;
        int ok = isnan(v) ? isnan(got[i]) : (got[i] == (float)v && !signbit(got[i]) == !s);
        bad += !ok;
    }
    CHECK(bad == 0, "k_upload_cast F16: %d of 65536 patterns wrong", bad);

    /* bf16: the upper half of the fp32 bits, exactly */
    static const uint16_t hb[] = {0x3f80, 0xc000, 0x7f80, 0xff80, 0x8000, 0x0001, 0x4049};
    const float eb[] = {1.0f, -2.0f, INFINITY, -INFINITY, -0.0f, bits_f(0x00010000u),
                        3.140625f};
    enum { NB = sizeof hb / sizeof hb[0] };
    upload16(d, hb, NB, K_BF16);
    k_download(out, d, NB);
    bad = 0;
    for (int i = 0; i < NB; i++) bad += f_bits(out[i]) != f_bits(eb[i]);
    CHECK(bad == 0, "k_upload_cast BF16: %d known patterns wrong", bad);
    upload16(d, all, 65536, K_BF16);
    k_download(got, d, 65536);
    bad = 0;
    for (int i = 0; i < 65536; i++) bad += f_bits(got[i]) != ((uint32_t)i << 16);
    CHECK(bad == 0, "k_upload_cast BF16: %d of 65536 patterns wrong", bad);

    /* fp32 from an unaligned address */
    float vals[5] = {1.5f, -0.0f, 3e-40f, -7.25f, INFINITY};
    unsigned char raw[1 + sizeof vals];
    memcpy(raw + 1, vals, sizeof vals);
    k_upload_cast(d, raw + 1, K_F32, 5);
    k_download(out, d, 5);
    CHECK(memcmp(out, vals, sizeof vals) == 0, "k_upload_cast F32: unaligned source not exact");
    free(all);
    free(got);
    k_free(d);
}

/* ---- matrix products ------------------------------------------------------------------------- */

typedef struct {
    const double *x, *w, *b, *wt; /* wt: loss weights */
    double *y;
    int n, k, m;
    KWLayout layout;
} MatCtx;

static void ref_matmul(double *y, const double *x, const double *w, const double *b, int n,
                       int k, int m, KWLayout layout) {
    for (int r = 0; r < n; r++)
        for (int j = 0; j < m; j++) {
            double s = b ? b[j] : 0.0;
            for (int p = 0; p < k; p++)
                s += x[(size_t)r * k + p] *
                     (layout == K_W_OUT_IN ? w[(size_t)j * k + p] : w[(size_t)p * m + j]);
            y[(size_t)r * m + j] = s;
        }
}

static double mat_loss(void *c) {
    MatCtx *t = c;
    ref_matmul(t->y, t->x, t->w, t->b, t->n, t->k, t->m, t->layout);
    return wsum(t->wt, t->y, (size_t)t->n * t->m);
}

static void test_matmul(void) {
    printf("matmul forward / backward\n");
    /* the last two are large enough to be split over the threads: by rows, then by columns */
    const int shapes[][4] = {{1, 1, 1, 1},     {7, 13, 11, 1},    {33, 70, 19, 1},
                             {5, 129, 67, 1},  {300, 100, 201, 997}, {12, 300, 2000, 97}};
    char name[128];
    for (int si = 0; si < 6; si++) {
        int n = shapes[si][0], k = shapes[si][1], m = shapes[si][2];
        size_t step = (size_t)shapes[si][3];
        size_t nx = (size_t)n * k, nw = (size_t)m * k, ny = (size_t)n * m;
        float *x = host_rand(nx, -1, 1), *w = host_rand(nw, -1, 1), *b = host_rand(m, -1, 1);
        float *y0 = host_rand(ny, -1, 1), *wt = host_rand(ny, -1, 1);
        double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, m);
        double *y0d = to_double(y0, ny), *wtd = to_double(wt, ny);
        double *ref = cg_malloc(ny * sizeof(double)), *g = cg_malloc(nx * sizeof(double));
        float *dx_ = dev_from(x, nx), *dw_ = dev_from(w, nw), *db_ = dev_from(b, m);
        float *dy = k_alloc(ny), *dwt = dev_from(wt, ny), *ddx = k_alloc(nx);
        float *got = cg_malloc(ny * sizeof(float)), *gx = cg_malloc(nx * sizeof(float));
        for (int layout = 0; layout < 2; layout++) {
            for (int bias = 0; bias < 2; bias++)
                for (int acc = 0; acc < 2; acc++) {
                    k_upload(dy, y0, ny);
                    op_matmul(dy, dx_, dw_, bias ? db_ : NULL, n, k, m, (KWLayout)layout, acc);
                    k_download(got, dy, ny);
                    ref_matmul(ref, xd, wd, bias ? bd : NULL, n, k, m, (KWLayout)layout);
                    if (acc)
                        for (size_t i = 0; i < ny; i++) ref[i] += y0d[i];
                    snprintf(name, sizeof name, "op_matmul n=%d k=%d m=%d %s bias=%d acc=%d", n,
                             k, m, layout ? "IN_OUT" : "OUT_IN", bias, acc);
                    report(name, err_rel(got, ref, ny, 1, 1e-30), 2e-6);
                }
            /* activation gradient against finite differences of the reference */
            MatCtx c = {xd, wd, NULL, wtd, ref, n, k, m, (KWLayout)layout};
            fd_grad(g, xd, nx, step, FD_H, mat_loss, &c);
            for (int acc = 0; acc < 2; acc++) {
                k_upload(ddx, x, nx); /* prior content: garbage (acc=0) or base (acc=1) */
                op_matmul_backward(ddx, dwt, dw_, n, k, m, (KWLayout)layout, acc);
                k_download(gx, ddx, nx);
                if (acc)
                    for (size_t i = 0; i < nx; i++) gx[i] -= x[i];
                snprintf(name, sizeof name, "op_matmul_backward dx vs FD n=%d k=%d m=%d %s acc=%d",
                         n, k, m, layout ? "IN_OUT" : "OUT_IN", acc);
                report(name, err_rel(gx, g, nx, step, 1e-30), 2e-6);
            }
        }
        free(x), free(w), free(b), free(y0), free(wt), free(xd), free(wd), free(bd), free(y0d);
        free(wtd), free(ref), free(g), free(got), free(gx);
        k_free(dx_), k_free(dw_), k_free(db_), k_free(dy), k_free(dwt), k_free(ddx);
    }
}

static void test_dense_backward(void) {
    printf("dense backward\n");
    /* the last: dw = dyᵀx and dx = dy·W large enough to be split over the threads */
    const int shapes[][4] = {{7, 13, 11, 1}, {40, 9, 70, 1}, {400, 90, 150, 97}};
    char name[128];
    for (int si = 0; si < 3; si++) {
        int n = shapes[si][0], k = shapes[si][1], m = shapes[si][2];
        size_t step = (size_t)shapes[si][3], bstep = step > 1 ? 7 : 1;
        size_t nx = (size_t)n * k, nw = (size_t)m * k, ny = (size_t)n * m;
        float *x = host_rand(nx, -1, 1), *w = host_rand(nw, -1, 1), *b = host_rand(m, -1, 1);
        float *wt = host_rand(ny, -1, 1), *base = host_rand(nx + nw + m, -1, 1);
        double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, m);
        double *wtd = to_double(wt, ny), *y = cg_malloc(ny * sizeof(double));
        double *gx = cg_malloc(nx * sizeof(double)), *gw = cg_malloc(nw * sizeof(double));
        double *gb = cg_malloc(m * sizeof(double));
        MatCtx c = {xd, wd, bd, wtd, y, n, k, m, K_W_OUT_IN};
        fd_grad(gx, xd, nx, step, FD_H, mat_loss, &c);
        fd_grad(gw, wd, nw, step, FD_H, mat_loss, &c);
        fd_grad(gb, bd, m, bstep, FD_H, mat_loss, &c);
        /* parameter gradients accumulate onto prior content */
        for (size_t i = 0; i < nw; i++) gw[i] += base[nx + i];
        for (int j = 0; j < m; j++) gb[j] += base[nx + nw + j];
        float *dxx = dev_from(x, nx), *dww = dev_from(w, nw), *dwt = dev_from(wt, ny);
        float *ddx = k_alloc(nx), *ddw = k_alloc(nw), *ddb = k_alloc(m);
        float *hx = cg_malloc(nx * sizeof(float)), *hw = cg_malloc(nw * sizeof(float));
        float *hb = cg_malloc(m * sizeof(float));
        for (int acc = 0; acc < 2; acc++) {
            k_upload(ddx, base, nx);
            k_upload(ddw, base + nx, nw);
            k_upload(ddb, base + nx + nw, m);
            op_dense_backward(ddx, ddw, ddb, dwt, dxx, dww, n, k, m, acc);
            k_download(hx, ddx, nx);
            k_download(hw, ddw, nw);
            k_download(hb, ddb, m);
            if (acc)
                for (size_t i = 0; i < nx; i++) hx[i] -= base[i];
            snprintf(name, sizeof name, "op_dense_backward n=%d k=%d m=%d acc=%d: dx vs FD", n,
                     k, m, acc);
            report(name, err_rel(hx, gx, nx, step, 1e-30), 2e-6);
            snprintf(name, sizeof name, "op_dense_backward n=%d k=%d m=%d acc=%d: dw (+=) vs FD",
                     n, k, m, acc);
            report(name, err_rel(hw, gw, nw, step, 1e-30), 2e-6);
            snprintf(name, sizeof name, "op_dense_backward n=%d k=%d m=%d acc=%d: db (+=) vs FD",
                     n, k, m, acc);
            report(name, err_rel(hb, gb, m, bstep, 1e-30), 2e-6);
        }
        /* NULL outputs are skipped: dx only leaves nothing else to write */
        k_upload(ddx, base, nx);
        op_dense_backward(ddx, NULL, NULL, dwt, dxx, dww, n, k, m, 0);
        k_download(hx, ddx, nx);
        snprintf(name, sizeof name, "op_dense_backward dx only (dw=db=NULL) n=%d", n);
        report(name, err_rel(hx, gx, nx, step, 1e-30), 2e-6);
        free(x), free(w), free(b), free(wt), free(base), free(xd), free(wd), free(bd);
        free(wtd), free(y), free(gx), free(gw), free(gb), free(hx), free(hw), free(hb);
        k_free(dxx), k_free(dww), k_free(dwt), k_free(ddx), k_free(ddw), k_free(ddb);
    }
}

/* the weight-gradient op of pretraining: both layouts, with and without db, always '+=' onto
 * prior content, against finite differences of the reference product */
static void test_matmul_weight_grad(void) {
    printf("matmul weight gradient\n");
    const int shapes[][4] = {{7, 13, 11, 1}, {40, 9, 70, 1}, {400, 90, 150, 97}};
    char name[128];
    for (int si = 0; si < 3; si++) {
        int n = shapes[si][0], k = shapes[si][1], m = shapes[si][2];
        size_t step = (size_t)shapes[si][3], bstep = step > 1 ? 7 : 1;
        size_t nx = (size_t)n * k, nw = (size_t)m * k, ny = (size_t)n * m;
        float *x = host_rand(nx, -1, 1), *w = host_rand(nw, -1, 1), *b = host_rand(m, -1, 1);
        float *wt = host_rand(ny, -1, 1), *base = host_rand(nw + m, -1, 1);
        double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, m);
        double *wtd = to_double(wt, ny), *y = cg_malloc(ny * sizeof(double));
        double *gw = cg_malloc(nw * sizeof(double)), *gb = cg_malloc(m * sizeof(double));
        float *dxx = dev_from(x, nx), *dwt = dev_from(wt, ny), *ddw = k_alloc(nw);
        float *ddb = k_alloc(m), *hw = cg_malloc(nw * sizeof(float)), *hb = cg_malloc(m * sizeof(float));
        for (int layout = 0; layout < 2; layout++) {
            MatCtx c = {xd, wd, bd, wtd, y, n, k, m, (KWLayout)layout};
            fd_grad(gw, wd, nw, step, FD_H, mat_loss, &c);
            fd_grad(gb, bd, m, bstep, FD_H, mat_loss, &c);
            for (size_t i = 0; i < nw; i++) gw[i] += base[i];
            for (int j = 0; j < m; j++) gb[j] += base[nw + j];
            for (int with_db = 0; with_db < 2; with_db++) {
                k_upload(ddw, base, nw);
                k_upload(ddb, base + nw, m);
                op_matmul_weight_grad(ddw, with_db ? ddb : NULL, dwt, dxx, n, k, m,
                                      (KWLayout)layout);
                k_download(hw, ddw, nw);
                k_download(hb, ddb, m);
                snprintf(name, sizeof name, "op_matmul_weight_grad n=%d k=%d m=%d %s: dw (+=) vs FD",
                         n, k, m, layout ? "IN_OUT" : "OUT_IN");
                report(name, err_rel(hw, gw, nw, step, 1e-30), 2e-6);
                if (with_db) {
                    snprintf(name, sizeof name, "op_matmul_weight_grad n=%d %s: db (+=) vs FD", n,
                             layout ? "IN_OUT" : "OUT_IN");
                    report(name, err_rel(hb, gb, m, bstep, 1e-30), 2e-6);
                } else {
                    int same = !memcmp(hb, base + nw, (size_t)m * sizeof(float));
                    CHECK(same, "op_matmul_weight_grad with db = NULL wrote the bias buffer");
                }
            }
        }
        free(x), free(w), free(b), free(wt), free(base), free(xd), free(wd), free(bd);
        free(wtd), free(y), free(gw), free(gb), free(hw), free(hb);
        k_free(dxx), k_free(dwt), k_free(ddw), k_free(ddb);
    }
}

/* op_dot against the double sum of the products */
static void test_dot(void) {
    printf("dot\n");
    const size_t ns[] = {1, 33, 70000};
    for (int i = 0; i < 3; i++) {
        size_t n = ns[i];
        float *a = host_rand(n, -1, 1), *b = host_rand(n, -1, 1);
        float *da = dev_from(a, n), *db = dev_from(b, n);
        double ref = 0.0;
        for (size_t j = 0; j < n; j++) ref += (double)a[j] * (double)b[j];
        double got = op_dot(da, db, n);
        char name[64];
        snprintf(name, sizeof name, "op_dot n=%zu", n);
        report(name, fabs(got - ref) / (fabs(ref) > 1 ? fabs(ref) : 1), 1e-12);
        free(a), free(b), k_free(da), k_free(db);
    }
}

/* ---- layernorm ------------------------------------------------------------------------------- */

typedef struct {
    const double *x, *g, *b, *wt;
    double *y, *mean, *rstd;
    int n, d;
    double eps;
} LnCtx;

static void ref_layernorm(LnCtx *t) {
    for (int r = 0; r < t->n; r++) {
        const double *x = t->x + (size_t)r * t->d;
        double mu = 0.0, var = 0.0;
        for (int j = 0; j < t->d; j++) mu += x[j];
        mu /= t->d;
        for (int j = 0; j < t->d; j++) var += (x[j] - mu) * (x[j] - mu);
        var /= t->d; /* biased */
        double rs = 1.0 / sqrt(var + t->eps);
        t->mean[r] = mu;
        t->rstd[r] = rs;
        for (int j = 0; j < t->d; j++)
            t->y[(size_t)r * t->d + j] = (x[j] - mu) * rs * t->g[j] + t->b[j];
    }
}

static double ln_loss(void *c) {
    LnCtx *t = c;
    ref_layernorm(t);
    return wsum(t->wt, t->y, (size_t)t->n * t->d);
}

static void test_layernorm_case(int n, int d, size_t step) {
    char name[160];
    size_t nx = (size_t)n * d;
    const double eps = 1e-5;
    float *x = host_rand(nx, -1, 1), *g = host_rand(d, 0.5, 1.5), *b = host_rand(d, -1, 1);
    for (size_t i = 0; i < nx; i++) x[i] += 3.0f; /* a mean far from zero */
    float *wt = host_rand(nx, -1, 1), *base = host_rand(nx + 2 * d, -1, 1);
    double *xd = to_double(x, nx), *gd = to_double(g, d), *bd = to_double(b, d);
    double *wtd = to_double(wt, nx), *y = cg_malloc(nx * sizeof(double));
    double *mean = cg_malloc(n * sizeof(double)), *rstd = cg_malloc(n * sizeof(double));
    LnCtx c = {xd, gd, bd, wtd, y, mean, rstd, n, d, eps};
    ref_layernorm(&c);
    float *dx_ = dev_from(x, nx), *dg = dev_from(g, d), *db = dev_from(b, d);
    float *dy = k_alloc(nx), *dm = k_alloc(n), *dr = k_alloc(n), *dwt = dev_from(wt, nx);
    op_layernorm(dy, dm, dr, dx_, dg, db, n, d, (float)eps);
    float *hy = host_from(dy, nx), *hm = host_from(dm, n), *hr = host_from(dr, n);
    snprintf(name, sizeof name, "op_layernorm n=%d d=%d: y", n, d);
    report(name, err_rel(hy, y, nx, 1, 1e-30), 2e-6);
    snprintf(name, sizeof name, "op_layernorm n=%d d=%d: mean", n, d);
    report(name, err_elem(hm, mean, n, 1e-30), 1e-6);
    snprintf(name, sizeof name, "op_layernorm n=%d d=%d: rstd", n, d);
    report(name, err_elem(hr, rstd, n, 1e-30), 1e-6);
    float *dy2 = k_alloc(nx); /* inference call without statistics gives the same y */
    op_layernorm(dy2, NULL, NULL, dx_, dg, db, n, d, (float)eps);
    float *hy2 = host_from(dy2, nx);
    CHECK(memcmp(hy, hy2, nx * sizeof(float)) == 0, "op_layernorm: y differs without mean/rstd");

    double *gx = cg_malloc(nx * sizeof(double)), *gg = cg_malloc(d * sizeof(double));
    double *gb = cg_malloc(d * sizeof(double));
    fd_grad(gx, xd, nx, step, FD_H, ln_loss, &c);
    fd_grad(gg, gd, d, 1, FD_H, ln_loss, &c);
    fd_grad(gb, bd, d, 1, FD_H, ln_loss, &c);
    for (int j = 0; j < d; j++) gg[j] += base[nx + j], gb[j] += base[nx + d + j];
    float *ddx = k_alloc(nx), *ddg = k_alloc(d), *ddb = k_alloc(d);
    float *hx = cg_malloc(nx * sizeof(float)), *hg = cg_malloc(d * sizeof(float));
    float *hb = cg_malloc(d * sizeof(float));
    for (int acc = 0; acc < 2; acc++) {
        k_upload(ddx, base, nx);
        k_upload(ddg, base + nx, d);
        k_upload(ddb, base + nx + d, d);
        op_layernorm_backward(ddx, ddg, ddb, dwt, dx_, dm, dr, dg, n, d, acc);
        k_download(hx, ddx, nx);
        k_download(hg, ddg, d);
        k_download(hb, ddb, d);
        if (acc)
            for (size_t i = 0; i < nx; i++) hx[i] -= base[i];
        snprintf(name, sizeof name, "op_layernorm_backward n=%d d=%d acc=%d: dx vs FD", n, d, acc);
        report(name, err_rel(hx, gx, nx, step, 1e-30), 1e-5);
        snprintf(name, sizeof name, "op_layernorm_backward n=%d d=%d acc=%d: dgamma (+=) vs FD", n,
                 d, acc);
        report(name, err_rel(hg, gg, d, 1, 1e-30), 1e-5);
        snprintf(name, sizeof name, "op_layernorm_backward n=%d d=%d acc=%d: dbeta (+=) vs FD", n,
                 d, acc);
        report(name, err_rel(hb, gb, d, 1, 1e-30), 1e-5);
    }
    /* frozen γ/β: dgamma = dbeta = NULL */
    k_upload(ddx, base, nx);
    op_layernorm_backward(ddx, NULL, NULL, dwt, dx_, dm, dr, dg, n, d, 0);
    k_download(hx, ddx, nx);
    snprintf(name, sizeof name, "op_layernorm_backward n=%d d=%d frozen gamma/beta: dx vs FD", n,
             d);
    report(name, err_rel(hx, gx, nx, step, 1e-30), 1e-5);

    free(x), free(g), free(b), free(wt), free(base), free(xd), free(gd), free(bd), free(wtd);
    free(y), free(mean), free(rstd), free(hy), free(hm), free(hr), free(hy2), free(gx), free(gg);
    free(gb), free(hx), free(hg), free(hb);
    k_free(dx_), k_free(dg), k_free(db), k_free(dy), k_free(dm), k_free(dr), k_free(dwt);
    k_free(dy2), k_free(ddx), k_free(ddg), k_free(ddb);
}

static void test_layernorm(void) {
    printf("layernorm\n");
    test_layernorm_case(5, 37, 1);
    test_layernorm_case(48, 768, 97); /* parallel path; finite differences on a sample of x */
}

/* ---- elementwise ----------------------------------------------------------------------------- */

typedef struct {
    const double *x, *wt;
    double *y;
    size_t n;
} EwCtx;

static double ref_qgelu(double x) { return x / (1.0 + exp(-1.702 * x)); }

static double qgelu_loss(void *c) {
    EwCtx *t = c;
    for (size_t i = 0; i < t->n; i++) t->y[i] = ref_qgelu(t->x[i]);
    return wsum(t->wt, t->y, t->n);
}

static double ref_gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

static double gelu_loss(void *c) {
    EwCtx *t = c;
    for (size_t i = 0; i < t->n; i++) t->y[i] = ref_gelu(t->x[i]);
    return wsum(t->wt, t->y, t->n);
}

/* exact GELU (erf): forward against double erf, backward against finite differences */
static void test_gelu(void) {
    printf("exact GELU\n");
    const size_t n = 70001;
    float *x = host_rand(n, -12, 12);
    const float special[] = {0.0f, -0.0f, 1e-20f, -1e-20f, 50.0f, -50.0f, 1e30f, -1e30f};
    memcpy(x, special, sizeof special);
    double *xd = to_double(x, n), *y = cg_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) y[i] = ref_gelu(xd[i]);
    float *dx_ = dev_from(x, n), *dy = k_alloc(n);
    op_gelu(dy, dx_, n);
    float *hy = host_from(dy, n);
    /* PyTorch's formula ½x(1 + erf(x/√2)), also here: for x < 0 the sum 1 + erf cancels, so the
     * error is absolute there (about |x|·2⁻²⁴); relative for |y| > 1 */
    report("op_gelu x in [-12,12] and extremes (elementwise, rel for |y| > 1, else abs)",
           err_elem(hy, y, n, 1.0), 2e-6);
    CHECK(hy[0] == 0.0f && hy[1] == 0.0f && hy[4] == 50.0f && hy[5] == 0.0f &&
              hy[6] == 1e30f && hy[7] == 0.0f,
          "op_gelu: special values %g %g %g %g %g %g", hy[0], hy[1], hy[4], hy[5], hy[6], hy[7]);
    CHECK(fabs(hy[2] - 0.5e-20) < 1e-27, "op_gelu(1e-20) = %g, expected 5e-21", hy[2]);
    /* GELU and QuickGELU differ: the activation really is another function */
    float q1, g1, one = 1.0f, *d1 = dev_from(&one, 1), *o1 = k_alloc(1);
    op_gelu(o1, d1, 1), k_download(&g1, o1, 1);
    op_quickgelu(o1, d1, 1), k_download(&q1, o1, 1);
    CHECK(fabsf(g1 - 0.8413447f) < 2e-7f && fabsf(q1 - 0.8457957f) < 2e-7f,
          "gelu(1) = %.7f (expected 0.8413447), quickgelu(1) = %.7f (0.8457957)", g1, q1);

    const size_t nb = 2001;
    float *xb = host_rand(nb, -8, 8), *wt = host_rand(nb, -1, 1), *base = host_rand(nb, -1, 1);
    double *xbd = to_double(xb, nb), *wtd = to_double(wt, nb), *yb = cg_malloc(nb * 8);
    double *g = cg_malloc(nb * sizeof(double)), *ref = cg_malloc(nb * sizeof(double));
    for (size_t i = 0; i < nb; i++) {
        EwCtx ci = {xbd + i, wtd + i, yb + i, 1};
        fd_grad(g + i, xbd + i, 1, 1, FD_H, gelu_loss, &ci);
    }
    float *dxb = dev_from(xb, nb), *dwt = dev_from(wt, nb), *ddx = k_alloc(nb);
    float *hg = cg_malloc(nb * sizeof(float));
    for (int acc = 0; acc < 2; acc++) {
        k_upload(ddx, base, nb);
        op_gelu_backward(ddx, dwt, dxb, nb, acc);
        k_download(hg, ddx, nb);
        for (size_t i = 0; i < nb; i++) ref[i] = g[i] + (acc ? base[i] : 0.0);
        /* g' = Φ + xφ crosses zero near x = -0.75: the floor covers the cancellation there */
        if (acc)
            report("op_gelu_backward acc=1 vs prior + FD", err_rel(hg, ref, nb, 1, 1e-30), 2e-6);
        else
            report("op_gelu_backward acc=0 vs FD (elementwise rel, floor 1e-2)",
                   err_elem(hg, ref, nb, 1e-2), 1e-5);
    }
    free(x), free(xd), free(y), free(hy), free(xb), free(wt), free(base), free(xbd), free(wtd);
    free(yb), free(g), free(ref), free(hg);
    k_free(dx_), k_free(dy), k_free(d1), k_free(o1), k_free(dxb), k_free(dwt), k_free(ddx);
}

static void test_elementwise(void) {
    printf("elementwise\n");
    /* QuickGELU over a wide range, the extremes and the parallel path */
    const size_t n = 70001;
    float *x = host_rand(n, -12, 12);
    const float special[] = {0.0f, -0.0f, 1e-20f, -1e-20f, 50.0f, -50.0f, 90.0f, -90.0f, 1e30f,
                             -1e30f};
    memcpy(x, special, sizeof special);
    double *xd = to_double(x, n), *y = cg_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) y[i] = ref_qgelu(xd[i]);
    float *dx_ = dev_from(x, n), *dy = k_alloc(n);
    op_quickgelu(dy, dx_, n);
    float *hy = host_from(dy, n);
    /* relative per element where |y| > 1e-30: the tails must be accurate too */
    report("op_quickgelu x in [-12,12] and extremes (elementwise rel)",
           err_elem(hy, y, n, 1e-30), 4e-6);
    CHECK(hy[1] == 0.0f && hy[0] == 0.0f && hy[8] == 1e30f && hy[9] == 0.0f,
          "op_quickgelu: special values %g %g %g %g", hy[0], hy[1], hy[8], hy[9]);

    /* backward against finite differences (elementwise, so all of x is cheap) */
    const size_t nb = 2001;
    float *xb = host_rand(nb, -8, 8), *wt = host_rand(nb, -1, 1), *base = host_rand(nb, -1, 1);
    double *xbd = to_double(xb, nb), *wtd = to_double(wt, nb), *yb = cg_malloc(nb * 8);
    double *g = cg_malloc(nb * sizeof(double));
    /* each x[i] only moves y[i]: FD on a one-element context per i */
    for (size_t i = 0; i < nb; i++) {
        EwCtx ci = {xbd + i, wtd + i, yb + i, 1};
        fd_grad(g + i, xbd + i, 1, 1, FD_H, qgelu_loss, &ci);
    }
    float *dxb = dev_from(xb, nb), *dwt = dev_from(wt, nb), *ddx = k_alloc(nb);
    float *hg = cg_malloc(nb * sizeof(float));
    double *ref = cg_malloc(nb * sizeof(double));
    for (int acc = 0; acc < 2; acc++) {
        k_upload(ddx, base, nb);
        op_quickgelu_backward(ddx, dwt, dxb, nb, acc);
        k_download(hg, ddx, nb);
        for (size_t i = 0; i < nb; i++) ref[i] = g[i] + (acc ? base[i] : 0.0);
        /* acc=0 elementwise (the floor covers the zero of g' near x = -1.28, where its two
         * O(0.3) terms cancel in float); acc=1 relative to the largest prior + gradient */
        if (acc)
            report("op_quickgelu_backward acc=1 vs prior + FD", err_rel(hg, ref, nb, 1, 1e-30),
                   2e-6);
        else
            report("op_quickgelu_backward acc=0 vs FD (elementwise rel, floor 1e-2)",
                   err_elem(hg, ref, nb, 1e-2), 1e-5);
    }
    free(ref);

    /* add, add_broadcast, scale: exact in float */
    const size_t outer = 13, m = 3001;
    float *a = host_rand(outer * m, -1, 1), *bb = host_rand(outer * m, -1, 1);
    float *da = dev_from(a, outer * m), *dbb = dev_from(bb, outer * m);
    op_add(da, dbb, outer * m);
    float *h = host_from(da, outer * m);
    int bad = 0;
    for (size_t i = 0; i < outer * m; i++) bad += h[i] != a[i] + bb[i];
    CHECK(bad == 0, "op_add: %d elements differ from y + x", bad);
    k_upload(da, a, outer * m);
    op_add_broadcast(da, dbb, outer, m);
    k_download(h, da, outer * m);
    bad = 0;
    for (size_t o = 0; o < outer; o++)
        for (size_t j = 0; j < m; j++) bad += h[o * m + j] != a[o * m + j] + bb[j];
    CHECK(bad == 0, "op_add_broadcast: %d elements differ", bad);
    k_upload(da, a, outer * m);
    op_scale(da, -0.37f, outer * m);
    k_download(h, da, outer * m);
    bad = 0;
    for (size_t i = 0; i < outer * m; i++) bad += h[i] != a[i] * -0.37f;
    CHECK(bad == 0, "op_scale: %d elements differ", bad);
    printf("  op_add / op_add_broadcast / op_scale exact: %s\n", bad ? "no" : "yes");

    free(x), free(xd), free(y), free(hy), free(xb), free(wt), free(base), free(xbd), free(wtd);
    free(yb), free(g), free(hg), free(a), free(bb), free(h);
    k_free(dx_), k_free(dy), k_free(dxb), k_free(dwt), k_free(ddx), k_free(da), k_free(dbb);
}

/* ---- attention ------------------------------------------------------------------------------- */

/* A test layout: q in its own buffer or interleaved with k and v. Buffers are described by
 * (rows, ld) and offsets of q/k/v inside them. */
typedef struct {
    KAttnShape s;
    size_t nq, nkv, no;          /* buffer sizes (floats) */
    int koff, voff;              /* column offsets of k and v in the kv buffer */
    int interleaved;             /* q, k and v all in the kv buffer (qoff 0), Tq == Tk */
} AttnCase;

typedef struct {
    const AttnCase *ac;
    const double *q, *kv, *wt; /* q == kv when interleaved */
    double *o, *p;
    int only_b, only_h;        /* >= 0: recompute this (batch, head) only */
} AttnCtx;

/* O and P in double; o has ld_o (padding columns untouched), p is [B,h,Tq,Tk] */
static void ref_attention(AttnCtx *t) {
    const KAttnShape *s = &t->ac->s;
    double *sc = cg_malloc((size_t)s->Tk * sizeof(double));
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < s->heads; h++) {
            if ((t->only_b >= 0 && b != t->only_b) || (t->only_h >= 0 && h != t->only_h))
                continue;
            for (int i = 0; i < s->Tq; i++) {
                const double *q = t->q + ((size_t)b * s->Tq + i) * s->ld_q + h * s->dh;
                int pos = s->q_pos ? s->q_pos[b * s->Tq + i] : i;
                double mx = -INFINITY;
                for (int j = 0; j < s->Tk; j++) {
                    const double *k = t->kv + ((size_t)b * s->Tk + j) * s->ld_kv + t->ac->koff +
                                      h * s->dh;
                    double d = 0.0;
                    for (int c = 0; c < s->dh; c++) d += q[c] * k[c];
                    sc[j] = (s->causal && j > pos) ? -INFINITY : d * s->scale;
                    if (sc[j] > mx) mx = sc[j];
                }
                double sum = 0.0;
                for (int j = 0; j < s->Tk; j++) sum += sc[j] = exp(sc[j] - mx);
                double *p = t->p + (((size_t)b * s->heads + h) * s->Tq + i) * s->Tk;
                for (int j = 0; j < s->Tk; j++) p[j] = sc[j] / sum;
                double *o = t->o + ((size_t)b * s->Tq + i) * s->ld_o + h * s->dh;
                for (int c = 0; c < s->dh; c++) {
                    double acc = 0.0;
                    for (int j = 0; j < s->Tk; j++)
                        acc += p[j] * t->kv[((size_t)b * s->Tk + j) * s->ld_kv + t->ac->voff +
                                            h * s->dh + c];
                    o[c] = acc;
                }
            }
        }
    free(sc);
}

static double attn_loss(void *c) {
    AttnCtx *t = c;
    ref_attention(t);
    return wsum(t->wt, t->o, t->ac->no); /* wt is zero on padding columns */
}

/* Finite differences over a q or kv buffer (rows of ld, T rows per batch, head blocks of dh at
 * the column offsets offs[]). A perturbation only moves the outputs of its own (batch, head),
 * so only that pair is recomputed: the other pairs' terms cancel in the difference. */
static void fd_attention(double *g, double *buf, size_t n, int ld, int T, const int *offs,
                         int noffs, size_t step, AttnCtx *c) {
    const KAttnShape *s = &c->ac->s;
    for (size_t i = 0; i < n; i += step) {
        int col = (int)(i % ld), h = -1;
        for (int k = 0; k < noffs; k++)
            if (col >= offs[k] && col < offs[k] + s->heads * s->dh) h = (col - offs[k]) / s->dh;
        g[i] = 0.0;
        if (h < 0) continue;
        c->only_b = (int)(i / ld) / T;
        c->only_h = h;
        fd_grad(g + i, buf + i, 1, 1, FD_H, attn_loss, c);
    }
    c->only_b = c->only_h = -1;
    ref_attention(c);
}

/* Analytic gradient of L = Σ wt⊙O in double (after ref_attention filled t->p):
 * dV = Pᵀ dO, dP = dO Vᵀ, dS = P⊙(dP − rowsum(dP⊙P)), dQ = dS K·scale, dK = dSᵀ Q·scale.
 * gq may alias gkv (interleaved q). Both must be zeroed by the caller. */
static void ref_attention_backward(const AttnCtx *t, double *gq, double *gkv) {
    const KAttnShape *s = &t->ac->s;
    int koff = t->ac->koff, voff = t->ac->voff;
    double *dp = cg_malloc((size_t)s->Tk * sizeof(double));
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < s->heads; h++)
            for (int i = 0; i < s->Tq; i++) {
                size_t qi = ((size_t)b * s->Tq + i) * s->ld_q + h * s->dh;
                const double *dout = t->wt + ((size_t)b * s->Tq + i) * s->ld_o + h * s->dh;
                const double *p = t->p + (((size_t)b * s->heads + h) * s->Tq + i) * s->Tk;
                double dot = 0.0;
                for (int j = 0; j < s->Tk; j++) {
                    size_t kj = ((size_t)b * s->Tk + j) * s->ld_kv + h * s->dh;
                    double d = 0.0;
                    for (int c = 0; c < s->dh; c++) {
                        d += dout[c] * t->kv[kj + voff + c];
                        gkv[kj + voff + c] += p[j] * dout[c];
                    }
                    dp[j] = d;
                    dot += d * p[j];
                }
                for (int j = 0; j < s->Tk; j++) {
                    size_t kj = ((size_t)b * s->Tk + j) * s->ld_kv + h * s->dh;
                    double ds = p[j] * (dp[j] - dot) * s->scale;
                    for (int c = 0; c < s->dh; c++) {
                        gq[qi + c] += ds * t->kv[kj + koff + c];
                        gkv[kj + koff + c] += ds * t->q[qi + c];
                    }
                }
            }
    free(dp);
}

/* max |a − b| / max |b| over the elements i ≡ 0 (mod step) of the head columns of one part */
static double err_part(const double *a, const double *b, size_t n, size_t step, int ld,
                       int off, int w) {
    double md = 0.0, mr = 1e-30;
    int nan = 0;
    for (size_t i = 0; i < n; i += step) {
        int col = (int)(i % ld);
        if (col < off || col >= off + w) continue;
        double d = fabs(a[i] - b[i]);
        nan |= isnan(d);
        md = fmax(md, d);
        mr = fmax(mr, fabs(b[i]));
    }
    return nan ? NAN : md / mr;
}

/* Runs forward and backward of one case: the float op against the double reference (every
 * element), the reference backward against finite differences (every step-th element). */
static void test_attention_case(const char *label, AttnCase *ac, size_t step) {
    char name[200];
    KAttnShape *s = &ac->s;
    const int w = s->heads * s->dh;
    size_t np = (size_t)s->B * s->heads * s->Tq * s->Tk;
    float *q = ac->interleaved ? NULL : host_rand(ac->nq, -1.5, 1.5);
    float *kv = host_rand(ac->nkv, -1.5, 1.5), *wt = host_rand(ac->no, -1, 1);
    for (size_t r = 0; r < (size_t)s->B * s->Tq; r++) /* no loss weight on padding columns */
        for (int c = w; c < s->ld_o; c++) wt[r * s->ld_o + c] = 0.0f;
    double *qd = q ? to_double(q, ac->nq) : NULL, *kvd = to_double(kv, ac->nkv);
    double *wtd = to_double(wt, ac->no);
    double *o = calloc(ac->no, sizeof(double)), *p = cg_malloc(np * sizeof(double));
    AttnCtx c = {ac, qd ? qd : kvd, kvd, wtd, o, p, -1, -1};
    ref_attention(&c);

    /* forward */
    float *dq = q ? dev_from(q, ac->nq) : NULL, *dkv = dev_from(kv, ac->nkv);
    const float *qp = dq ? dq : dkv;
    const float sentinel = 7.0f;
    float *dout = k_alloc(ac->no), *dp = k_alloc(np);
    k_fill(dout, sentinel, ac->no);
    op_attention(dout, dp, qp, dkv + ac->koff, dkv + ac->voff, s);
    float *ho = host_from(dout, ac->no), *hp = host_from(dp, np);
    int pad_ok = 1;
    for (size_t i = 0; i < ac->no; i++)
        if ((int)(i % s->ld_o) >= w) pad_ok &= ho[i] == sentinel;
    CHECK(pad_ok, "%s: op_attention wrote into padding columns of o", label);
    double *hod = to_double(ho, ac->no);
    snprintf(name, sizeof name, "op_attention %s: O", label);
    report(name, err_part(hod, o, ac->no, 1, s->ld_o, 0, w), 2e-6);
    free(hod);
    snprintf(name, sizeof name, "op_attention %s: probs", label);
    report(name, err_rel(hp, p, np, 1, 1e-30), 2e-6);
    int masked_ok = 1;
    for (size_t i = 0; i < np; i++)
        if (p[i] == 0.0) masked_ok &= hp[i] == 0.0f; /* masked: exactly 0 */
    CHECK(masked_ok, "%s: masked probabilities are not exactly 0", label);
    float *do2 = k_alloc(ac->no); /* without probs: same O */
    op_attention(do2, NULL, qp, dkv + ac->koff, dkv + ac->voff, s);
    float *ho2 = host_from(do2, ac->no);
    double diff = 0.0;
    for (size_t i = 0; i < ac->no; i++)
        if ((int)(i % s->ld_o) < w) diff = fmax(diff, fabs(ho2[i] - ho[i]));
    CHECK(diff == 0.0, "%s: op_attention without probs differs by %g", label, diff);

    /* reference gradients: analytic (all elements) and finite differences (sampled) */
    double *aq = q ? calloc(ac->nq, sizeof(double)) : NULL, *akv = calloc(ac->nkv, 8);
    ref_attention_backward(&c, aq ? aq : akv, akv);
    double *gq = q ? calloc(ac->nq, sizeof(double)) : NULL, *gkv = calloc(ac->nkv, 8);
    const int qoffs[1] = {0}, kvoffs[3] = {ac->koff, ac->voff, 0};
    if (q) fd_attention(gq, qd, ac->nq, s->ld_q, s->Tq, qoffs, 1, step, &c);
    fd_attention(gkv, kvd, ac->nkv, s->ld_kv, s->Tk, kvoffs, ac->interleaved ? 3 : 2, step, &c);
    const int nparts = ac->interleaved ? 3 : 2;
    const int poff[3] = {ac->interleaved ? 0 : ac->koff, ac->interleaved ? ac->koff : ac->voff,
                         ac->voff};
    const char *pname[3] = {ac->interleaved ? "dq" : "dk", ac->interleaved ? "dk" : "dv", "dv"};
    double e_fd = q ? err_part(aq, gq, ac->nq, step, s->ld_q, 0, w) : 0.0;
    for (int part = 0; part < nparts; part++)
        e_fd = fmax(e_fd, err_part(akv, gkv, ac->nkv, step, s->ld_kv, poff[part], w));
    snprintf(name, sizeof name, "attention reference backward %s: vs FD", label);
    report(name, e_fd, 3e-7);

    /* the float backward, '=' and '+=' */
    float *dwt = dev_from(wt, ac->no);
    float *base_q = q ? host_rand(ac->nq, -1, 1) : NULL, *base_kv = host_rand(ac->nkv, -1, 1);
    float *gdq = q ? k_alloc(ac->nq) : NULL, *gdkv = k_alloc(ac->nkv);
    double *hq = q ? cg_malloc(ac->nq * sizeof(double)) : NULL;
    double *hkv = cg_malloc(ac->nkv * sizeof(double));
    float *tmp = cg_malloc((ac->nq > ac->nkv ? ac->nq : ac->nkv) * sizeof(float));
    for (int acc = 0; acc < 2; acc++) {
        if (q) k_upload(gdq, base_q, ac->nq);
        k_upload(gdkv, base_kv, ac->nkv);
        float *gq_dev = q ? gdq : gdkv; /* interleaved: dq lives in the kv buffer */
        op_attention_backward(gq_dev, gdkv + ac->koff, gdkv + ac->voff, dwt, dp, qp,
                              dkv + ac->koff, dkv + ac->voff, s, acc);
        /* columns outside the heads keep their prior content; inside: (prior +) gradient */
        int untouched = 1;
        if (q) {
            k_download(tmp, gdq, ac->nq);
            for (size_t i = 0; i < ac->nq; i++) {
                int inside = (int)(i % s->ld_q) < w;
                if (!inside) untouched &= tmp[i] == base_q[i];
                hq[i] = (double)tmp[i] - (acc ? base_q[i] : 0.0);
            }
        }
        k_download(tmp, gdkv, ac->nkv);
        for (size_t i = 0; i < ac->nkv; i++) {
            int col = (int)(i % s->ld_kv), inside = 0;
            for (int part = 0; part < nparts; part++)
                inside |= col >= poff[part] && col < poff[part] + w;
            if (!inside) untouched &= tmp[i] == base_kv[i];
            hkv[i] = (double)tmp[i] - (acc ? base_kv[i] : 0.0);
        }
        CHECK(untouched, "%s: op_attention_backward acc=%d touched columns it does not own", label,
              acc);
        if (q) {
            snprintf(name, sizeof name, "op_attention_backward %s acc=%d: dq", label, acc);
            report(name, err_part(hq, aq, ac->nq, 1, s->ld_q, 0, w), 1e-5);
        }
        for (int part = 0; part < nparts; part++) { /* each part scaled by its own maximum */
            snprintf(name, sizeof name, "op_attention_backward %s acc=%d: %s", label, acc,
                     pname[part]);
            report(name, err_part(hkv, akv, ac->nkv, 1, s->ld_kv, poff[part], w), 1e-5);
        }
    }
    free(q), free(kv), free(wt), free(qd), free(kvd), free(wtd), free(o), free(p), free(ho);
    free(hp), free(ho2), free(aq), free(akv), free(gq), free(gkv), free(base_q), free(base_kv);
    free(hq), free(hkv), free(tmp);
    k_free(dq), k_free(dkv), k_free(dout), k_free(dp), k_free(do2), k_free(dwt), k_free(gdq);
    k_free(gdkv);
}

static AttnCase interleaved_case(int B, int T, int heads, int dh, int causal) {
    int d = heads * dh;
    AttnCase ac = {{B, T, T, heads, dh, 3 * d, 3 * d, d, causal, NULL, 1.0f / sqrtf((float)dh)},
                   0, (size_t)B * T * 3 * d, (size_t)B * T * d, d, 2 * d, 1};
    return ac;
}

/* query rows in their own buffer (padded rows), k and v interleaved in a padded buffer */
static AttnCase split_case(int B, int Tq, int Tk, int heads, int dh, int causal,
                           const int *q_pos) {
    int d = heads * dh, ld_q = d + 2, ld_kv = 2 * d + 1, ld_o = d + 3;
    AttnCase ac = {{B, Tq, Tk, heads, dh, ld_q, ld_kv, ld_o, causal, q_pos, 0.3f},
                   (size_t)B * Tq * ld_q, (size_t)B * Tk * ld_kv, (size_t)B * Tq * ld_o, 0,
                   d + 1, 0};
    return ac;
}

static void test_attention(void) {
    printf("attention\n");
    AttnCase a = interleaved_case(2, 7, 3, 5, 0);
    test_attention_case("qkv [B,T,3d] B=2 T=7 h=3 dh=5", &a, 1);
    AttnCase b = interleaved_case(2, 7, 3, 5, 1);
    test_attention_case("qkv [B,T,3d] causal B=2 T=7 h=3 dh=5", &b, 1);
    AttnCase c = split_case(2, 6, 6, 2, 4, 0, NULL);
    test_attention_case("split q / kv, padded rows, B=2 T=6 h=2 dh=4", &c, 1);
    static const int pos[] = {8, 2, 5, 0, 7, 8, 3, 1};
    AttnCase d = split_case(2, 4, 9, 2, 3, 1, pos);
    test_attention_case("causal Tq=4 < Tk=9 with q_pos, h=2 dh=3", &d, 1);
    AttnCase e = split_case(1, 3, 9, 1, 6, 1, NULL); /* q_pos NULL: positions 0..Tq-1 */
    test_attention_case("causal Tq=3 < Tk=9 without q_pos", &e, 1);
    /* shapes that use full register tiles, several query blocks and edge tiles */
    AttnCase f = interleaved_case(2, 77, 2, 64, 1);
    test_attention_case("qkv causal B=2 T=77 h=2 dh=64 (FD sample)", &f, 97);
    AttnCase g = interleaved_case(2, 197, 3, 64, 0); /* ViT-B/16 sequence length */
    test_attention_case("qkv B=2 T=197 h=3 dh=64 (FD sample)", &g, 1009);
    static int pos2[40];
    for (int i = 0; i < 40; i++) pos2[i] = (i * 37) % 90;
    AttnCase h = split_case(1, 40, 90, 2, 64, 1, pos2);
    test_attention_case("causal Tq=40 < Tk=90 q_pos, dh=64 (FD sample)", &h, 61);
}

/* ---- loss and feature normalisation ---------------------------------------------------------- */

typedef struct {
    const double *l;
    const int *labels;
    int B, C;
} CeCtx;

static double ref_ce(void *c) {
    CeCtx *t = c;
    double loss = 0.0;
    for (int i = 0; i < t->B; i++) {
        const double *l = t->l + (size_t)i * t->C;
        double mx = l[0], s = 0.0;
        for (int j = 1; j < t->C; j++) mx = fmax(mx, l[j]);
        for (int j = 0; j < t->C; j++) s += exp(l[j] - mx);
        loss += mx + log(s) - l[t->labels[i]];
    }
    return loss / t->B;
}

static void test_cross_entropy(void) {
    printf("cross entropy\n");
    const int B = 6, C = 11;
    const int labels[6] = {0, 10, 3, 3, 7, 5};
    float *l = host_rand((size_t)B * C, -5, 5);
    for (int j = 0; j < C; j++) l[2 * C + j] += 200.0f; /* float exp would overflow */
    double *ld = to_double(l, (size_t)B * C), *g = cg_malloc((size_t)B * C * sizeof(double));
    CeCtx c = {ld, labels, B, C};
    double ref = ref_ce(&c);
    const float gs = 0.7f;
    fd_grad(g, ld, (size_t)B * C, 1, FD_H, ref_ce, &c);
    for (int i = 0; i < B * C; i++) g[i] *= gs;
    float *dl = dev_from(l, (size_t)B * C), *dg = k_alloc((size_t)B * C);
    k_fill(dg, 9.0f, (size_t)B * C);
    double loss = op_cross_entropy(dg, dl, labels, B, C, gs);
    double loss2 = op_cross_entropy(NULL, dl, labels, B, C, gs);
    report("op_cross_entropy: loss vs double log-sum-exp (rel)", fabs(loss - ref) / ref, 1e-12);
    CHECK(loss == loss2, "op_cross_entropy: loss differs without dlogits");
    float *hg = host_from(dg, (size_t)B * C);
    report("op_cross_entropy: dlogits * grad_scale vs FD", err_rel(hg, g, (size_t)B * C, 1, 1e-30),
           1e-6);
    double rowsum = 0.0;
    for (int j = 0; j < C; j++) rowsum += hg[2 * C + j];
    CHECK(fabs(rowsum) < 1e-7, "op_cross_entropy: gradient row does not sum to 0 (%g)", rowsum);
    free(l), free(ld), free(g), free(hg);
    k_free(dl), k_free(dg);
}

typedef struct {
    const double *x, *wt;
    double *y, *nrm;
    int n, d;
} L2Ctx;

static double l2_loss(void *c) {
    L2Ctx *t = c;
    for (int r = 0; r < t->n; r++) {
        double s = 0.0;
        for (int j = 0; j < t->d; j++) s += t->x[(size_t)r * t->d + j] * t->x[(size_t)r * t->d + j];
        t->nrm[r] = sqrt(s);
        for (int j = 0; j < t->d; j++)
            t->y[(size_t)r * t->d + j] = t->x[(size_t)r * t->d + j] / t->nrm[r];
    }
    return wsum(t->wt, t->y, (size_t)t->n * t->d);
}

static void test_l2norm(void) {
    printf("l2norm\n");
    const int n = 9, d = 37;
    size_t nx = (size_t)n * d;
    float *x = host_rand(nx, -2, 2), *wt = host_rand(nx, -1, 1), *base = host_rand(nx, -1, 1);
    double *xd = to_double(x, nx), *wtd = to_double(wt, nx), *y = cg_malloc(nx * 8);
    double *nrm = cg_malloc(n * 8), *g = cg_malloc(nx * 8);
    L2Ctx c = {xd, wtd, y, nrm, n, d};
    l2_loss(&c);
    float *dx_ = dev_from(x, nx), *dy = k_alloc(nx), *dn = k_alloc(n), *dwt = dev_from(wt, nx);
    op_l2norm(dy, dn, dx_, n, d);
    float *hy = host_from(dy, nx), *hn = host_from(dn, n);
    report("op_l2norm: y", err_elem(hy, y, nx, 1e-3), 1e-6);
    report("op_l2norm: norms", err_elem(hn, nrm, n, 1e-30), 1e-6);
    fd_grad(g, xd, nx, 1, FD_H, l2_loss, &c);
    float *ddx = k_alloc(nx), *hg = cg_malloc(nx * sizeof(float));
    for (int acc = 0; acc < 2; acc++) {
        k_upload(ddx, base, nx);
        op_l2norm_backward(ddx, dwt, dy, dn, n, d, acc);
        k_download(hg, ddx, nx);
        if (acc)
            for (size_t i = 0; i < nx; i++) hg[i] -= base[i];
        report(acc ? "op_l2norm_backward acc=1 vs FD" : "op_l2norm_backward acc=0 vs FD",
               err_rel(hg, g, nx, 1, 1e-30), 2e-6);
    }
    free(x), free(wt), free(base), free(xd), free(wtd), free(y), free(nrm), free(g), free(hy);
    free(hn), free(hg);
    k_free(dx_), k_free(dy), k_free(dn), k_free(dwt), k_free(ddx);
}

/* ---- token rows and images ------------------------------------------------------------------- */

static double dotf(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static void test_gather_scatter_case(int R, int n, int d) {
    char name[128];
    int *idx = cg_malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) idx[i] = (i * 5 + 3) % R; /* repeats when n > R */
    idx[0] = R - 1;
    float *x = host_rand((size_t)R * d, -1, 1), *y = host_rand((size_t)n * d, -1, 1);
    float *base = host_rand((size_t)R * d, -1, 1);
    float *dx_ = dev_from(x, (size_t)R * d), *dy = dev_from(y, (size_t)n * d);
    float *dg = k_alloc((size_t)n * d), *ds = dev_from(base, (size_t)R * d);
    op_gather_rows(dg, dx_, idx, n, d);
    float *hg = host_from(dg, (size_t)n * d);
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad += memcmp(hg + (size_t)i * d, x + (size_t)idx[i] * d, d * sizeof(float)) != 0;
    CHECK(bad == 0, "op_gather_rows: %d rows differ", bad);
    op_scatter_add_rows(ds, dy, idx, n, d);
    float *hs = host_from(ds, (size_t)R * d);
    double *ref = cg_malloc((size_t)R * d * sizeof(double));
    for (size_t i = 0; i < (size_t)R * d; i++) ref[i] = base[i];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) ref[(size_t)idx[i] * d + j] += y[(size_t)i * d + j];
    snprintf(name, sizeof name, "op_scatter_add_rows R=%d n=%d d=%d (+= with repeats)", R, n, d);
    report(name, err_rel(hs, ref, (size_t)R * d, 1, 1e-30), 1e-6);
    /* adjoint: <gather(x), y> = <x, scatter(y)> */
    k_zero(ds, (size_t)R * d);
    op_scatter_add_rows(ds, dy, idx, n, d);
    k_download(hs, ds, (size_t)R * d);
    double lhs = dotf(hg, y, (size_t)n * d), rhs = dotf(x, hs, (size_t)R * d);
    snprintf(name, sizeof name, "<gather(x),y> vs <x,scatter_add(y)> R=%d n=%d d=%d", R, n, d);
    /* relative to Σ|x·scatter(y)|: the signed sums cancel, the float rows' rounding does not */
    double mag = 0.0;
    for (size_t i = 0; i < (size_t)R * d; i++) mag += fabs((double)x[i] * hs[i]);
    report(name, fabs(lhs - rhs) / fmax(mag, 1e-30), 1e-6);
    free(idx), free(x), free(y), free(base), free(hg), free(hs), free(ref);
    k_free(dx_), k_free(dy), k_free(dg), k_free(ds);
}

static void test_batched(void) {
    char name[128];
    const int B = 5;
    const size_t n = 37, dst_bs = 50, src_bs = 41;
    float *src = host_rand(B * src_bs, -1, 1), *dst0 = host_rand(B * dst_bs, -1, 1);
    float *dsrc = dev_from(src, B * src_bs), *ddst = k_alloc(B * dst_bs);
    float *h = cg_malloc(B * dst_bs * sizeof(float));
    for (int bc = 0; bc < 2; bc++)
        for (int acc = 0; acc < 2; acc++) {
            k_upload(ddst, dst0, B * dst_bs);
            op_copy_batched(ddst, dst_bs, dsrc, bc ? 0 : src_bs, B, n, acc);
            k_download(h, ddst, B * dst_bs);
            int bad = 0;
            for (int b = 0; b < B; b++)
                for (size_t j = 0; j < dst_bs; j++) {
                    float e = dst0[b * dst_bs + j];
                    if (j < n) {
                        float sv = src[(bc ? 0 : b * src_bs) + j];
                        e = acc ? e + sv : sv;
                    }
                    bad += h[b * dst_bs + j] != e;
                }
            CHECK(bad == 0, "op_copy_batched broadcast=%d acc=%d: %d elements wrong", bc, acc,
                  bad);
        }
    /* sum_batched against a double reference, acc on/off */
    float *base = host_rand(n, -1, 1), *hs = cg_malloc(n * sizeof(float));
    double *ref = cg_malloc(n * sizeof(double));
    float *dsum = k_alloc(n);
    for (int acc = 0; acc < 2; acc++) {
        k_upload(dsum, base, n);
        op_sum_batched(dsum, dsrc, src_bs, B, n, acc);
        k_download(hs, dsum, n);
        for (size_t j = 0; j < n; j++) {
            ref[j] = acc ? base[j] : 0.0;
            for (int b = 0; b < B; b++) ref[j] += src[b * src_bs + j];
        }
        snprintf(name, sizeof name, "op_sum_batched B=%d n=%zu acc=%d", B, n, acc);
        report(name, err_rel(hs, ref, n, 1, 1e-30), 1e-6);
    }
    /* adjoint of the broadcast copy: <copy_bcast(x), Y> = <x, sum_batched(Y)> */
    const size_t nl = 70000; /* parallel path */
    float *x = host_rand(nl, -1, 1), *Y = host_rand(B * nl, -1, 1);
    float *dx_ = dev_from(x, nl), *dY = dev_from(Y, B * nl), *dX = k_alloc(B * nl);
    float *ds2 = k_alloc(nl);
    op_copy_batched(dX, nl, dx_, 0, B, nl, 0);
    op_sum_batched(ds2, dY, nl, B, nl, 0);
    float *hX = host_from(dX, B * nl), *hs2 = host_from(ds2, nl);
    double lhs = dotf(hX, Y, B * nl), rhs = dotf(x, hs2, nl);
    report("<copy_batched(x, bs=0), Y> vs <x, sum_batched(Y)> n=70000",
           fabs(lhs - rhs) / fabs(lhs), 1e-6);
    free(src), free(dst0), free(h), free(base), free(hs), free(ref), free(x), free(Y), free(hX);
    free(hs2);
    k_free(dsrc), k_free(ddst), k_free(dsum), k_free(dx_), k_free(dY), k_free(dX), k_free(ds2);
}

static void test_rows(void) {
    printf("token rows\n");
    test_gather_scatter_case(6, 9, 33);
    test_gather_scatter_case(7, 12, 4100); /* column-parallel scatter */
    test_batched();
}

static void test_im2col(void) {
    printf("im2col\n");
    const int B = 2, R = 12, p = 4, g = R / p;
    size_t ni = (size_t)B * 3 * R * R, nc = (size_t)B * g * g * 3 * p * p;
    float *img = host_rand(ni, -1, 1), *dimg = dev_from(img, ni), *dc = k_alloc(nc);
    op_im2col_patches(dc, dimg, B, R, p);
    float *h = host_from(dc, nc);
    int bad = 0;
    for (int b = 0; b < B; b++)
        for (int r = 0; r < g; r++)
            for (int c = 0; c < g; c++)
                for (int ch = 0; ch < 3; ch++)
                    for (int i = 0; i < p; i++)
                        for (int j = 0; j < p; j++) {
                            float e = img[(((size_t)b * 3 + ch) * R + r * p + i) * R + c * p + j];
                            float v = h[((size_t)b * g * g + r * g + c) * 3 * p * p +
                                        (size_t)(ch * p + i) * p + j];
                            bad += e != v;
                        }
    CHECK(bad == 0, "op_im2col_patches: %d elements wrong", bad);
    printf("  op_im2col_patches exact: %s\n", bad ? "no" : "yes");
    free(img), free(h);
    k_free(dimg), k_free(dc);
}

/* ---- fatal argument checks (in a child process) ---------------------------------------------- */

static void child_exit(void) { _exit(1); } /* skip library destructors in the forked child */

static void expect_fatal(const char *what, const char *needle, void (*fn)(void)) {
    int fds[2];
    if (pipe(fds) != 0) {
        CHECK(0, "pipe failed");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        cg_set_fatal_hook(child_exit);
        fn();
        _exit(0);
    }
    close(fds[1]);
    char buf[512] = {0};
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(buf, needle);
    printf("  fatal %-40s %s\n", what, ok ? "ok" : "MISSING");
    CHECK(ok, "%s: expected exit 1 with \"%s\", got status %d and \"%s\"", what, needle, st, buf);
}

static float dummy[64];
static void bad_matmul(void) { op_matmul(dummy, dummy, dummy, NULL, 0, 3, 4, K_W_OUT_IN, 0); }
static void bad_layout(void) { op_matmul(dummy, dummy, dummy, NULL, 1, 1, 1, (KWLayout)5, 0); }
static void bad_attn(void) {
    KAttnShape s = {1, 2, 2, 2, 4, 4, 8, 8, 0, NULL, 0.5f}; /* ld_q < heads*dh */
    op_attention(dummy, NULL, dummy, dummy, dummy, &s);
}
static void bad_qpos(void) {
    static const int pos[2] = {0, -1};
    KAttnShape s = {1, 2, 2, 1, 4, 4, 8, 4, 1, pos, 0.5f};
    op_attention(dummy, NULL, dummy, dummy, dummy, &s);
}
static void bad_label(void) {
    static const int lab[2] = {0, 3};
    op_cross_entropy(NULL, dummy, lab, 2, 3, 1.0f);
}
static void bad_dtype(void) { k_upload_cast(dummy, dummy, (KDtype)9, 4); }
static void bad_im2col(void) { op_im2col_patches(dummy, dummy, 1, 10, 4); }

static void test_fatal(void) {
    printf("fatal argument checks\n");
    expect_fatal("op_matmul n=0", "op_matmul: n=0 k=3 m=4 must be positive", bad_matmul);
    expect_fatal("op_matmul bad layout", "must be K_W_OUT_IN", bad_layout);
    expect_fatal("op_attention ld_q too small", "must be >= heads*dh", bad_attn);
    expect_fatal("op_attention negative q_pos", "q_pos[1]=-1 must be >= 0", bad_qpos);
    expect_fatal("op_cross_entropy label out of range", "labels[1]=3 must be in [0, 3)",
                 bad_label);
    expect_fatal("k_upload_cast unknown dtype", "dtype 9 must be", bad_dtype);
    expect_fatal("op_im2col_patches R % p != 0", "R a multiple of p", bad_im2col);
}

int main(void) {
    test_fatal(); /* first: forks before any OpenMP/OpenBLAS work has started */
    k_init_cpu(0);
    printf("backend %s, %d threads\n", k_backend_name(), k_threads());
    CHECK(k_backend() == K_BACKEND_CPU, "k_backend: not CPU");
    test_memory();
    test_upload_cast();
    test_matmul();
    test_dense_backward();
    test_matmul_weight_grad();
    test_dot();
    test_layernorm();
    test_elementwise();
    test_gelu();
    test_attention();
    test_cross_entropy();
    test_l2norm();
    test_rows();
    test_im2col();
    return test_finish("test_kernels");
}
