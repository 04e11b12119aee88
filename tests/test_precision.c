/* tests/test_precision.c — the reduced-precision products (kernels/ops.h k_set_matmul_precision,
 * kernels/precision.h) on the CPU backend:
 *   - the rounding to tf32, bf16 and fp16 is bit-identical to PyTorch's own conversions
 *     (tests/data/precision_round.h5 from tests/reference/precision_ref.py: edge cases, ties,
 *     subnormals, overflow, NaN/inf, random values over many exponents);
 *   - one product and its backward products at each precision equal PyTorch's (the same file,
 *     /matmul), ~1000 times closer than the fp32 products;
 *   - op_matmul (both layouts, bias, '=' and '+='), op_matmul_backward and op_dense_backward at
 *     each precision equal a double-precision product of the operands rounded by that rule
 *     (within fp32 summation), and differ from the fp32 products by about the type's unit;
 *   - the setting: names, errors, and train_run's restoring of the previous one (core/train/train.c)
 *     is covered by the golden precision fixtures (tests/cli_golden.sh). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"
#include "kernels/ops.h"
#include "kernels/precision.h"
#include "results/h5read.h"
#include "tests/testlib.h"

static const char *const NAMES[] = {"fp32", "tf32", "bf16", "fp16"};

static uint32_t bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* both NaN, or the same bits (so −0 ≠ +0) */
static int same(float a, float b) {
    return (isnan(a) && isnan(b)) || bits(a) == bits(b);
}

static float *dev(const float *h, size_t n) {
    float *d = k_alloc(n);
    k_upload(d, h, n);
    return d;
}

static float *host(const float *d, size_t n) {
    float *h = cg_malloc(n * sizeof(float));
    k_download(h, d, n);
    return h;
}

static void test_rounding_table(const char *path) {
    printf("rounding against PyTorch (%s)\n", path);
    hid_t f = h5r_open(path);
    CHECK(f >= 0, "%s: %s", path, cg_error());
    if (f < 0) return;
    H5Shape sx;
    float *x = h5r_read_f32(f, "/x", &sx);
    CHECK(x != NULL, "%s: /x: %s", path, cg_error());
    for (int p = K_PREC_TF32; x && p <= K_PREC_FP16; p++) {
        char name[16];
        snprintf(name, sizeof name, "/%s", NAMES[p]);
        H5Shape sr;
        float *want = h5r_read_f32(f, name, &sr);
        CHECK(want && sr.n == sx.n, "%s: %s missing or of another length", path, name);
        size_t bad = 0, first = 0;
        for (size_t i = 0; want && i < sx.n; i++) {
            if (!same(k_round_to((KPrecision)p, x[i]), want[i])) {
                if (!bad) first = i;
                bad++;
            }
        }
        printf("  %-6s %zu values, %zu differ\n", NAMES[p], sx.n, bad);
        CHECK(want && bad == 0, "%s: %zu of %zu values differ, first x=%a: %a, want %a", name,
              bad, sx.n, (double)x[first], (double)k_round_to((KPrecision)p, x[first]),
              (double)want[first]);
        free(want);
    }
    free(x);
    h5r_close(f);
}

/* a few values by hand: ties to even, the carry into the exponent, fp16's range ends */
static void test_rounding_cases(void) {
    printf("rounding cases\n");
    CHECK(k_round_bf16(1.0f + 0x1p-8f) == 1.0f, "bf16 tie below: even is 1");
    CHECK(k_round_bf16(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f, "bf16 tie above: even is 1+2^-6");
    CHECK(k_round_tf32(1.0f + 0x1p-11f) == 1.0f, "tf32 tie to even");
    CHECK(k_round_tf32(1.0f + 0x1p-11f + 0x1p-23f) == 1.0f + 0x1p-10f, "tf32 above the tie");
    CHECK(isinf(k_round_bf16(3.4028235e38f)), "bf16 of FLT_MAX is inf");
    CHECK(k_round_fp16(65519.0f) == 65504.0f, "fp16 65519 -> 65504");
    CHECK(isinf(k_round_fp16(65520.0f)) && k_round_fp16(-65520.0f) < 0, "fp16 ±65520 -> ±inf");
    CHECK(k_round_fp16(0x1p-25f) == 0.0f, "fp16: 2^-25 ties to 0");
    CHECK(k_round_fp16(0x1.8p-24f) == 0x1p-23f, "fp16: 1.5·2^-24 ties to 2^-23");
    CHECK(bits(k_round_fp16(-0x1p-30f)) == 0x80000000u, "fp16: tiny negatives round to -0");
    CHECK(k_round_fp16(1023.5f * 0x1p-24f) == 0x1p-14f, "fp16: 1023.5·2^-24 ties up to 2^-14");
    CHECK(k_round_fp16(1022.5f * 0x1p-24f) == 1022.0f * 0x1p-24f, "fp16: 1022.5·2^-24 ties down");
    CHECK(isnan(k_round_fp16(NAN)) && isnan(k_round_bf16(NAN)) && isnan(k_round_tf32(NAN)),
          "NaN stays NaN");
    CHECK(isinf(k_round_tf32(INFINITY)) && k_round_bf16(-INFINITY) == -INFINITY, "inf stays");
}

/* max over rows of max|got − ref| / max|ref| within the row */
static double rowwise_err(const float *got, const float *ref, int rows, int cols) {
    double worst = 0;
    for (int r = 0; r < rows; r++) {
        double md = 0, mr = 1e-38;
        for (int c = 0; c < cols; c++) {
            size_t i = (size_t)r * cols + c;
            double d = fabs((double)got[i] - ref[i]);
            if (!(d <= md)) md = d;
            mr = fmax(mr, fabs((double)ref[i]));
        }
        worst = fmax(worst, md / mr);
    }
    return worst;
}

/* One product and its two backward products per precision, computed by PyTorch from the
 * rounded operands (float64 sums) with rows from 2^-16 to 2^12 (fp16 subnormals included):
 * within fp32 summation of them, while the plain fp32 product is ~1000 times further. */
static void test_torch_products(const char *path) {
    printf("products against PyTorch (%s /matmul)\n", path);
    hid_t f = h5r_open(path);
    CHECK(f >= 0, "%s: %s", path, cg_error());
    if (f < 0) return;
    H5Shape sx, sw, sdy;
    float *hx = h5r_read_f32(f, "/matmul/x", &sx), *hw = h5r_read_f32(f, "/matmul/w", &sw);
    float *hdy = h5r_read_f32(f, "/matmul/dy", &sdy);
    CHECK(hx && hw && hdy && sx.ndim == 2 && sw.ndim == 2 && sx.dims[1] == sw.dims[1],
          "%s: /matmul/x, w, dy", path);
    if (!hx || !hw || !hdy) return;
    int n = (int)sx.dims[0], k = (int)sx.dims[1], m = (int)sw.dims[0];
    float *x = dev(hx, sx.n), *w = dev(hw, sw.n), *dy = dev(hdy, sdy.n);
    float *y = k_alloc((size_t)n * m), *dx = k_alloc((size_t)n * k), *dw = k_alloc((size_t)m * k);
    for (int p = 0; p < 4; p++) {
        k_set_matmul_precision(NAMES[p]);
        op_matmul(y, x, w, NULL, n, k, m, K_W_OUT_IN, 0);
        op_matmul_backward(dx, dy, w, n, k, m, K_W_OUT_IN, 0);
        k_zero(dw, (size_t)m * k);
        op_dense_backward(NULL, dw, NULL, dy, x, w, n, k, m, 0);
        const struct { const char *name; float *d; int rows, cols; } outs[] = {
            {"y", y, n, m}, {"dx", dx, n, k}, {"dw", dw, m, k}};
        for (int o = 0; o < 3; o++) {
            char ds[64];
            snprintf(ds, sizeof ds, "/matmul/%s/%s", NAMES[p], outs[o].name);
            H5Shape sr;
            float *ref = h5r_read_f32(f, ds, &sr);
            double far = 0;
            h5r_attr_double(f, ds, "fp32_rel_diff_rowwise", &far);
            size_t cnt = (size_t)outs[o].rows * outs[o].cols;
            CHECK(ref && sr.n == cnt, "%s: missing or of another size", ds);
            if (!ref || sr.n != cnt) continue;
            float *got = host(outs[o].d, cnt);
            double e = rowwise_err(got, ref, outs[o].rows, outs[o].cols);
            printf("  %-22s row-wise rel err %.2e   (plain fp32 is %.2e away)\n", ds, e, far);
            CHECK(e <= 2e-6, "%s: row-wise error %.3g", ds, e);
            if (p != K_PREC_FP32)
                CHECK(far >= 200 * e, "%s: fp32 is only %.3g away (ours %.3g)", ds, far, e);
            free(got), free(ref);
        }
    }
    k_set_matmul_precision("fp32");
    free(hx), free(hw), free(hdy);
    k_free(x), k_free(w), k_free(dy), k_free(y), k_free(dx), k_free(dw);
    h5r_close(f);
}

static void test_setting(void) {
    printf("the setting\n");
    for (int p = 0; p < 4; p++)
        CHECK(k_set_matmul_precision(NAMES[p]) == 0 && k_precision() == (KPrecision)p &&
                  !strcmp(k_matmul_precision(), NAMES[p]),
              "k_set_matmul_precision(%s)", NAMES[p]);
    CHECK(k_set_matmul_precision("fp64") != 0 && strstr(cg_error(), "fp64") &&
              k_precision() == K_PREC_FP16,
          "fp64 refused without changing the setting (%s)", cg_error());
    CHECK(k_set_matmul_precision(NULL) != 0, "NULL refused");
    k_set_matmul_precision("fp32");
}

/* ---- the products -------------------------------------------------------------------------- */

static float *host_rand(size_t n, uint64_t *s, float scale) {
    float *a = cg_malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        a[i] = scale * ((float)((*s >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f);
    }
    return a;
}

/* C[M,N] (+)= Σ_k A(i,k)·B(k,j) in double over rounded operands; A(i,k) = a[i*sai + k*sak] */
static void ref_product(double *c, int M, int N, int K, const float *a, size_t sai, size_t sak,
                        const float *b, size_t sbk, size_t sbj, KPrecision p) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)k_round_to(p, a[i * sai + k * sak]) *
                     (double)k_round_to(p, b[k * sbk + j * sbj]);
            c[(size_t)i * N + j] += s;
        }
}

/* max |got − want| / max |want| */
static double rel_err(const float *got, const double *want, size_t n) {
    double md = 0, mw = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= md)) md = d;
        if (fabs(want[i]) > mw) mw = fabs(want[i]);
    }
    return md / mw;
}

/* The type's unit (2^-p, p significand bits) bounds how far a product can move from fp32; a
 * product of K random terms moves by about unit·sqrt(K)/K of its scale at least. */
static const double UNIT[] = {0x1p-24, 0x1p-11, 0x1p-8, 0x1p-11};

static void check_rel(const char *what, KPrecision p, const float *got, const double *want,
                      size_t n) {
    double e = rel_err(got, want, n);
    printf("  %-6s %-40s max rel err %.2e\n", NAMES[p], what, e);
    CHECK(e <= 2e-6, "%s %s: max rel err %.3g against the rounded-operand product", NAMES[p],
          what, e);
}

static void test_products(int n, int k, int m) {
    printf("products n=%d k=%d m=%d\n", n, k, m);
    uint64_t s = 12345 + (uint64_t)n * 31 + (uint64_t)k;
    size_t nx = (size_t)n * k, nw = (size_t)m * k, ny = (size_t)n * m;
    float *hx = host_rand(nx, &s, 3.7f), *hw = host_rand(nw, &s, 0.9f);
    float *hb = host_rand((size_t)m, &s, 1.0f), *hy0 = host_rand(ny, &s, 1.0f);
    float *hdy = host_rand(ny, &s, 2.3f);
    float *x = dev(hx, nx), *w = dev(hw, nw), *b = dev(hb, (size_t)m), *dy = dev(hdy, ny);
    double *want = cg_malloc((nx > nw ? (nx > ny ? nx : ny) : (nw > ny ? nw : ny)) * sizeof(double));
    float *fp32_y = NULL;
    for (int pi = 0; pi < 4; pi++) {
        KPrecision p = (KPrecision)pi;
        k_set_matmul_precision(NAMES[p]);
        for (int layout = 0; layout < 2; layout++) {
            /* W [m,k] (OUT_IN) or [k,m] (IN_OUT): W(kk, j) */
            size_t sbk = layout == K_W_OUT_IN ? 1 : (size_t)m, sbj = layout == K_W_OUT_IN ? (size_t)k : 1;
            for (int acc = 0; acc < 2; acc++) {
                float *y = dev(hy0, ny);
                op_matmul(y, x, w, b, n, k, m, (KWLayout)layout, acc);
                for (size_t i = 0; i < ny; i++) want[i] = hb[i % m] + (acc ? hy0[i] : 0.0);
                ref_product(want, n, m, k, hx, k, 1, hw, sbk, sbj, p);
                float *hy = host(y, ny);
                char what[64];
                snprintf(what, sizeof what, "op_matmul layout %d acc %d", layout, acc);
                check_rel(what, p, hy, want, ny);
                if (p == K_PREC_FP32 && layout == 0 && acc == 0) fp32_y = hy;
                else if (layout == 0 && acc == 0 && k >= 100) { /* moved by about the unit */
                    double ch = 0, mx = 0;
                    for (size_t i = 0; i < ny; i++) {
                        ch = fmax(ch, fabs((double)hy[i] - fp32_y[i]));
                        mx = fmax(mx, fabs((double)fp32_y[i]));
                    }
                    printf("  %-6s %-40s %.2e (unit %.1e)\n", NAMES[p], "differs from fp32 by",
                           ch / mx, UNIT[p]);
                    CHECK(ch / mx > UNIT[p] / 64 && ch / mx < UNIT[p] * 8,
                          "%s: differs from fp32 by %.3g, the unit is %.3g", NAMES[p], ch / mx,
                          UNIT[p]);
                    free(hy);
                } else free(hy);
                k_free(y);
            }
            /* dx = dy · dy/dx: dx(i, kk) = Σ_j dy(i, j) W(kk, j) */
            float *dx = k_alloc(nx);
            op_matmul_backward(dx, dy, w, n, k, m, (KWLayout)layout, 0);
            memset(want, 0, nx * sizeof(double));
            ref_product(want, n, k, m, hdy, m, 1, hw, sbj, sbk, p);
            float *hdx = host(dx, nx);
            check_rel(layout ? "op_matmul_backward IN_OUT" : "op_matmul_backward OUT_IN", p,
                      hdx, want, nx);
            free(hdx), k_free(dx);
        }
        /* the dense layer: dw[m,k] += dyᵀ·x, db += Σ dy, dx = dy·W */
        float *hdw0 = host_rand(nw, &s, 1.0f), *dw = dev(hdw0, nw), *db = k_alloc((size_t)m);
        float *dx = k_alloc(nx);
        op_dense_backward(dx, dw, db, dy, x, w, n, k, m, 0);
        for (size_t i = 0; i < nw; i++) want[i] = hdw0[i];
        ref_product(want, m, k, n, hdy, 1, m, hx, k, 1, p);
        float *hdw = host(dw, nw);
        check_rel("op_dense_backward dw (+=)", p, hdw, want, nw);
        double dbw[64] = {0};
        for (int r = 0; r < n; r++)
            for (int j = 0; j < m; j++) dbw[j] += hdy[(size_t)r * m + j];
        float *hdb = host(db, (size_t)m);
        check_rel("op_dense_backward db (fp32, not rounded)", p, hdb, dbw, (size_t)m);
        memset(want, 0, nx * sizeof(double));
        ref_product(want, n, k, m, hdy, m, 1, hw, k, 1, p);
        float *hdx = host(dx, nx);
        check_rel("op_dense_backward dx", p, hdx, want, nx);
        free(hdw0), free(hdw), free(hdb), free(hdx);
        k_free(dw), k_free(db), k_free(dx);
    }
    k_set_matmul_precision("fp32");
    free(fp32_y), free(want);
    free(hx), free(hw), free(hb), free(hy0), free(hdy);
    k_free(x), k_free(w), k_free(b), k_free(dy);
}

int main(int argc, char **argv) {
    k_init_cpu(0);
    const char *table = argc > 1 ? argv[1] : "tests/data/precision_round.h5";
    test_rounding_cases();
    test_rounding_table(table);
    test_setting();
    test_torch_products(table);
    test_products(1, 1, 1);
    test_products(37, 300, 29);   /* one sgemm */
    test_products(130, 257, 61);  /* split over the threads */
    return test_finish("test_precision");
}
