/* tests/test_cuda_ops.c — every op of the CUDA backend against the CPU backend's op (the
 * reference, itself checked by test_kernels against finite differences and PyTorch) on random
 * shapes, odd sizes included: forward and backward, '=' and '+=' (outputs start from random
 * values), optional arguments NULL or not, causal and not, packed q/k/v strides, both batching
 * paths of attention. Also the caching allocator (zeroed reuse), overlapping copies and the
 * fp16/bf16 uploads (bit-exact), grids past 65535 rows/batches/chunks, and the host index arrays
 * (q_pos, idx, labels) rewritten as soon as the op returns (the op must have taken its copy).
 * Errors are max |cuda − cpu| relative to max |cpu|.
 * Without CUDA in the build, or without a usable driver/GPU, prints "SKIPPED: <reason>" and
 * exits 0. */
#include <stdint.h>
#include <string.h>

#include "base/util.h"
#include "kernels/backend.h"  // defines: the cpu_* reference implementations, kernels/ops.h
#include "tests/testlib.h"

/* ---- the dispatch itself, on the CPU backend (runs with or without CUDA) ----------------------- */

static void test_dispatch_cpu(void) {
    printf("dispatch (CPU backend)\n");
    k_init_cpu(0);
    CHECK(k_backend() == K_BACKEND_CPU && !strcmp(k_backend_name(), "cpu"),
          "k_init_cpu: backend %s", k_backend_name());
    CHECK(k_cuda_stream() == NULL && k_cuda_device() == -1, "CPU backend: a CUDA stream/device");
    /* one precision setting for both backends (kernels/ops.h): every name, not 'fp64' */
    CHECK(k_set_matmul_precision("bf16") == 0 && !strcmp(k_matmul_precision(), "bf16"),
          "CPU backend: bf16 products refused (%s)", cg_error());
    CHECK(k_set_matmul_precision("fp64") != 0 && !strcmp(k_matmul_precision(), "bf16"),
          "k_set_matmul_precision accepted 'fp64' (or changed the setting)");
    CHECK(k_set_matmul_precision("fp32") == 0 && !strcmp(k_matmul_precision(), "fp32"),
          "CPU backend: back to fp32 products: %s", k_matmul_precision());
    CHECK(k_init_named("tpu", 0, -1) != 0 && strstr(cg_error(), "CLIPGRID_BACKEND=tpu"),
          "k_init_named(tpu): no error (%s)", cg_error());
    CHECK(k_init_named("cpu", 0, -1) == 0 && k_backend() == K_BACKEND_CPU, "k_init_named(cpu): %s",
          cg_error());
    /* CPU here unless a GPU is usable */
    CHECK(k_init_named("auto", 0, -1) == 0, "k_init_named(auto) failed: %s", cg_error());
    k_init_cpu(0);
    /* an op through the table: y = x·Wᵀ on 1×2·(2×1) */
    float *x = k_alloc(2), *w = k_alloc(2), *y = k_alloc(1), out = 0.0f;
    const float hx[2] = {3.0f, -2.0f}, hw[2] = {0.5f, 4.0f};
    k_upload(x, hx, 2);
    k_upload(w, hw, 2);
    op_matmul(y, x, w, NULL, 1, 2, 1, K_W_OUT_IN, 0);
    k_download(&out, y, 1);
    CHECK(out == -6.5f, "op_matmul through the dispatch: %g, want -6.5", (double)out);
    k_free(x), k_free(w), k_free(y);
}

#ifndef CG_HAVE_CUDA
int main(void) {
    test_dispatch_cpu();
    if (tl_fail) return test_finish("test_cuda_ops");
    printf("SKIPPED: the CUDA backend is not built in (nvcc was not found at build time)\n");
    return 0;
}
#else

/* tolerances, relative to the largest reference value */
#define TOL_EXACT 0.0
#define TOL_ELEM 1e-6   /* elementwise formulas (FMA contraction may differ by an ulp) */
/* QuickGELU's derivative: CUDA's expf (<= 2 ulp) and the CPU's (~1 ulp) may differ by a few
 * ulp, which 1 − σ(1.702x) amplifies up to |1.702x|-fold for large x (8e-7 measured on the
 * CPU with expf perturbed by 2 ulp, inputs in [-6, 6)) */
#define TOL_GELU_BWD 3e-6
#define TOL_ROW 1e-5    /* row reductions (sum order differs) */
#define TOL_GEMM 2e-5   /* cuBLAS vs OpenBLAS products */
#define TOL_GEMM_LOWP 5e-5 /* the same on rounded operands (tensor-core fp32 sums) */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float urand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * 0x1p-24 * 2.0 - 1.0);
}

/* a host reference array and its device copy, same content */
typedef struct {
    float *h, *d;
    size_t n;
} Buf;

static Buf buf_rand(size_t n, float scale) {
    Buf b = {cg_malloc((n ? n : 1) * sizeof(float)), k_alloc(n), n};
    for (size_t i = 0; i < n; i++) b.h[i] = scale * urand();
    k_upload(b.d, b.h, n);
    return b;
}

static Buf buf_zero(size_t n) {
    Buf b = {cg_calloc(n ? n : 1, sizeof(float)), k_alloc(n), n};
    return b;
}

static void buf_free(Buf *b) {
    free(b->h);
    k_free(b->d);
    b->h = b->d = NULL;
}

/* download b.d and compare with b.h */
static void buf_check(const char *name, const Buf *b, double tol) {
    float *got = cg_malloc((b->n ? b->n : 1) * sizeof(float));
    k_download(got, b->d, b->n);
    CHECK_CLOSE(name, got, b->h, b->n, tol);
    free(got);
}

/* ---- memory ---------------------------------------------------------------------------------- */

static void test_memory(void) {
    printf("memory\n");
    enum { N = 1000 };
    float host[N];
    float *a = k_alloc(N);
    k_fill(a, 7.0f, N);
    k_download(host, a, N);
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= host[i] == 7.0f;
    CHECK(ok, "k_fill: values differ from 7");
    uintptr_t a_addr = (uintptr_t)a;
    k_free(a);
    float *b = k_alloc(N); /* the cached block of a, handed out again: must be zeroed */
    k_download(host, b, N);
    ok = 1;
    for (int i = 0; i < N; i++) ok &= host[i] == 0.0f;
    CHECK(ok, "k_alloc after k_free: reused block not zero-filled");
    printf("  k_alloc zero-filled on reuse: %s (same block: %s)\n", ok ? "yes" : "NO",
           a_addr == (uintptr_t)b ? "yes" : "no");
    /* overlapping copy forwards and backwards against memmove */
    for (int i = 0; i < N; i++) host[i] = (float)i;
    k_upload(b, host, N);
    float ref[N];
    memcpy(ref, host, sizeof ref);
    memmove(ref + 10, ref, 500 * sizeof(float));
    memmove(ref + 300, ref + 350, 400 * sizeof(float));
    k_copy(b + 10, b, 500);
    k_copy(b + 300, b + 350, 400);
    k_download(host, b, N);
    CHECK_CLOSE("k_copy overlapping (as memmove)", host, ref, N, TOL_EXACT);
    k_zero(b + 5, 20);
    k_download(host, b, N);
    memset(ref + 5, 0, 20 * sizeof(float));
    CHECK_CLOSE("k_zero of a slice", host, ref, N, TOL_EXACT);
    k_free(b);

    /* fp16 / bf16 widening, every 16-bit pattern, bit-exact against the CPU backend */
    enum { W = 65536 };
    unsigned char *raw = cg_malloc(2 * W + 1);
    for (int i = 0; i < W; i++) {
        raw[1 + 2 * i] = (unsigned char)(i & 0xff); /* odd address: unaligned source */
        raw[2 + 2 * i] = (unsigned char)(i >> 8);
    }
    float *want = cg_malloc(W * sizeof(float)), *got = cg_malloc(W * sizeof(float));
    float *d = k_alloc(W);
    KDtype dts[2] = {K_F16, K_BF16};
    const char *names[2] = {"k_upload_cast fp16, all 65536 patterns",
                            "k_upload_cast bf16, all 65536 patterns"};
    for (int t = 0; t < 2; t++) {
        cpu_k_upload_cast(want, raw + 1, dts[t], W);
        k_upload_cast(d, raw + 1, dts[t], W);
        k_download(got, d, W);
        int same = memcmp(want, got, W * sizeof(float)) == 0; /* NaN payloads too */
        printf("  %-48s bit-exact: %s\n", names[t], same ? "yes" : "NO");
        CHECK(same, "%s: not bit-identical to the CPU backend", names[t]);
    }
    k_free(d);
    free(raw);
    free(want);
    free(got);
}

/* ---- matrix products ------------------------------------------------------------------------- */

static void test_matmul(void) {
    printf("matmul\n");
    const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {130, 96, 201}};
    char name[128];
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int n = shapes[si][0], k = shapes[si][1], m = shapes[si][2];
        for (int layout = 0; layout < 2; layout++) {
            for (int variant = 0; variant < 4; variant++) { /* bias? × acc? */
                int with_bias = variant & 1, acc = variant >> 1;
                Buf x = buf_rand((size_t)n * k, 1.0f), w = buf_rand((size_t)m * k, 0.5f);
                Buf bias = buf_rand((size_t)m, 1.0f), y = buf_rand((size_t)n * m, 1.0f);
                cpu_op_matmul(y.h, x.h, w.h, with_bias ? bias.h : NULL, n, k, m,
                              (KWLayout)layout, acc);
                op_matmul(y.d, x.d, w.d, with_bias ? bias.d : NULL, n, k, m, (KWLayout)layout,
                          acc);
                snprintf(name, sizeof name, "op_matmul %dx%dx%d %s bias=%d acc=%d", n, k, m,
                         layout ? "IN_OUT" : "OUT_IN", with_bias, acc);
                buf_check(name, &y, TOL_GEMM);
                /* activation gradient */
                Buf dy = buf_rand((size_t)n * m, 1.0f), dx = buf_rand((size_t)n * k, 1.0f);
                cpu_op_matmul_backward(dx.h, dy.h, w.h, n, k, m, (KWLayout)layout, acc);
                op_matmul_backward(dx.d, dy.d, w.d, n, k, m, (KWLayout)layout, acc);
                snprintf(name, sizeof name, "op_matmul_backward %dx%dx%d %s acc=%d", n, k, m,
                         layout ? "IN_OUT" : "OUT_IN", acc);
                if (with_bias == 0) buf_check(name, &dx, TOL_GEMM);
                buf_free(&x), buf_free(&w), buf_free(&bias), buf_free(&y);
                buf_free(&dy), buf_free(&dx);
            }
        }
        /* learnable dense layer: dw, db accumulate; dx '=' or '+='; NULL combinations */
        for (int variant = 0; variant < 4; variant++) {
            int acc = variant & 1, with_db = !(variant & 2);
            Buf x = buf_rand((size_t)n * k, 1.0f), w = buf_rand((size_t)m * k, 0.5f);
            Buf dy = buf_rand((size_t)n * m, 1.0f), dx = buf_rand((size_t)n * k, 1.0f);
            Buf dw = buf_rand((size_t)m * k, 1.0f), db = buf_rand((size_t)m, 1.0f);
            cpu_op_dense_backward(variant == 3 ? NULL : dx.h, dw.h, with_db ? db.h : NULL, dy.h,
                                  x.h, w.h, n, k, m, acc);
            op_dense_backward(variant == 3 ? NULL : dx.d, dw.d, with_db ? db.d : NULL, dy.d, x.d,
                              w.d, n, k, m, acc);
            snprintf(name, sizeof name, "op_dense_backward %dx%dx%d dw (+=)", n, k, m);
            buf_check(name, &dw, TOL_GEMM);
            if (with_db) {
                snprintf(name, sizeof name, "op_dense_backward %dx%dx%d db (+=)", n, k, m);
                buf_check(name, &db, TOL_ROW);
            }
            if (variant != 3) {
                snprintf(name, sizeof name, "op_dense_backward %dx%dx%d dx acc=%d", n, k, m, acc);
                buf_check(name, &dx, TOL_GEMM);
            }
            buf_free(&x), buf_free(&w), buf_free(&dy), buf_free(&dx), buf_free(&dw);
            buf_free(&db);
        }
        /* the weight gradient of pretraining: both layouts, db or not, always '+=' */
        for (int variant = 0; variant < 4; variant++) {
            int layout = variant & 1, with_db = !(variant & 2);
            Buf x = buf_rand((size_t)n * k, 1.0f), dy = buf_rand((size_t)n * m, 1.0f);
            Buf dw = buf_rand((size_t)m * k, 1.0f), db = buf_rand((size_t)m, 1.0f);
            cpu_op_matmul_weight_grad(dw.h, with_db ? db.h : NULL, dy.h, x.h, n, k, m,
                                      (KWLayout)layout);
            op_matmul_weight_grad(dw.d, with_db ? db.d : NULL, dy.d, x.d, n, k, m,
                                  (KWLayout)layout);
            snprintf(name, sizeof name, "op_matmul_weight_grad %dx%dx%d %s dw (+=)", n, k, m,
                     layout ? "IN_OUT" : "OUT_IN");
            buf_check(name, &dw, TOL_GEMM);
            snprintf(name, sizeof name, "op_matmul_weight_grad %dx%dx%d db (+= or untouched)", n,
                     k, m);
            buf_check(name, &db, TOL_ROW);
            buf_free(&x), buf_free(&dy), buf_free(&dw), buf_free(&db);
        }
        /* the dot product of the logit-scale gradient */
        {
            Buf a = buf_rand((size_t)n * m, 1.0f), b = buf_rand((size_t)n * m, 1.0f);
            double want = cpu_op_dot(a.h, b.h, (size_t)n * m), got = op_dot(a.d, b.d, (size_t)n * m);
            double err = fabs(got - want) / (fabs(want) > 1 ? fabs(want) : 1);
            printf("  %-48s rel err %.2e\n", "op_dot", err);
            CHECK(err <= 1e-12, "op_dot %dx%d: cuda %.17g, cpu %.17g", n, m, got, want);
            buf_free(&a), buf_free(&b);
        }
    }
}

/* ---- LayerNorm ------------------------------------------------------------------------------- */

static void test_layernorm(void) {
    printf("layernorm\n");
    const int shapes[][2] = {{1, 1}, {5, 7}, {37, 300}, {300, 768}, {513, 64}};
    char name[128];
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int n = shapes[si][0], d = shapes[si][1];
        for (int variant = 0; variant < 4; variant++) { /* affine? × acc? (and NULL stats) */
            int affine = !(variant & 1), acc = variant >> 1;
            size_t nd = (size_t)n * d;
            Buf x = buf_rand(nd, 2.0f), y = buf_rand(nd, 1.0f);
            for (int r = 0; r < n; r++) /* an offset per row: the statistics must not cancel */
                x.h[(size_t)r * d] += 3.0f;
            k_upload(x.d, x.h, nd);
            Buf g = buf_rand((size_t)d, 1.0f), b = buf_rand((size_t)d, 1.0f);
            Buf mean = buf_zero((size_t)n), rstd = buf_zero((size_t)n);
            cpu_op_layernorm(y.h, mean.h, rstd.h, x.h, affine ? g.h : NULL, affine ? b.h : NULL,
                             n, d, 1e-5f);
            op_layernorm(y.d, mean.d, rstd.d, x.d, affine ? g.d : NULL, affine ? b.d : NULL, n, d,
                         1e-5f);
            snprintf(name, sizeof name, "op_layernorm %dx%d affine=%d", n, d, affine);
            buf_check(name, &y, TOL_ROW);
            snprintf(name, sizeof name, "op_layernorm %dx%d mean", n, d);
            buf_check(name, &mean, TOL_ROW);
            snprintf(name, sizeof name, "op_layernorm %dx%d rstd", n, d);
            buf_check(name, &rstd, TOL_ROW);
            if (variant == 0) { /* inference form: no statistics saved */
                Buf y2 = buf_zero(nd);
                op_layernorm(y2.d, NULL, NULL, x.d, g.d, b.d, n, d, 1e-5f);
                memcpy(y2.h, y.h, nd * sizeof(float));
                snprintf(name, sizeof name, "op_layernorm %dx%d mean=rstd=NULL", n, d);
                buf_check(name, &y2, TOL_ROW);
                buf_free(&y2);
            }
            Buf dy = buf_rand(nd, 1.0f), dx = buf_rand(nd, 1.0f);
            Buf dg = buf_rand((size_t)d, 1.0f), db = buf_rand((size_t)d, 1.0f);
            int params = variant != 3; /* γ/β gradients given, or NULL */
            cpu_op_layernorm_backward(dx.h, params ? dg.h : NULL, params ? db.h : NULL, dy.h, x.h,
                                      mean.h, rstd.h, affine ? g.h : NULL, n, d, acc);
            op_layernorm_backward(dx.d, params ? dg.d : NULL, params ? db.d : NULL, dy.d, x.d,
                                  mean.d, rstd.d, affine ? g.d : NULL, n, d, acc);
            snprintf(name, sizeof name, "op_layernorm_backward %dx%d dx affine=%d acc=%d", n, d,
                     affine, acc);
            buf_check(name, &dx, TOL_ROW);
            if (params) {
                snprintf(name, sizeof name, "op_layernorm_backward %dx%d dgamma (+=)", n, d);
                buf_check(name, &dg, TOL_ROW);
                snprintf(name, sizeof name, "op_layernorm_backward %dx%d dbeta (+=)", n, d);
                buf_check(name, &db, TOL_ROW);
            }
            buf_free(&x), buf_free(&y), buf_free(&g), buf_free(&b), buf_free(&mean);
            buf_free(&rstd), buf_free(&dy), buf_free(&dx), buf_free(&dg), buf_free(&db);
        }
    }
}

/* ---- elementwise ----------------------------------------------------------------------------- */

static void test_elementwise(void) {
    printf("elementwise\n");
    const size_t sizes[] = {1, 17, 1000, 300001};
    char name[128];
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        Buf x = buf_rand(n, 6.0f), y = buf_rand(n, 1.0f), dy = buf_rand(n, 1.0f);
        cpu_op_quickgelu(y.h, x.h, n);
        op_quickgelu(y.d, x.d, n);
        snprintf(name, sizeof name, "op_quickgelu n=%zu", n);
        buf_check(name, &y, TOL_ELEM);
        cpu_op_gelu(y.h, x.h, n);
        op_gelu(y.d, x.d, n);
        snprintf(name, sizeof name, "op_gelu n=%zu", n);
        buf_check(name, &y, TOL_ELEM);
        cpu_op_relu(y.h, x.h, n);
        op_relu(y.d, x.d, n);
        snprintf(name, sizeof name, "op_relu n=%zu", n);
        buf_check(name, &y, TOL_EXACT);
        for (int acc = 0; acc < 2; acc++) {
            Buf dx = buf_rand(n, 1.0f);
            cpu_op_quickgelu_backward(dx.h, dy.h, x.h, n, acc);
            op_quickgelu_backward(dx.d, dy.d, x.d, n, acc);
            snprintf(name, sizeof name, "op_quickgelu_backward n=%zu acc=%d", n, acc);
            buf_check(name, &dx, TOL_GELU_BWD);
            cpu_op_gelu_backward(dx.h, dy.h, x.h, n, acc);
            op_gelu_backward(dx.d, dy.d, x.d, n, acc);
            snprintf(name, sizeof name, "op_gelu_backward n=%zu acc=%d", n, acc);
            buf_check(name, &dx, TOL_GELU_BWD);
            cpu_op_relu_backward(dx.h, dy.h, x.h, n, acc);
            op_relu_backward(dx.d, dy.d, x.d, n, acc);
            snprintf(name, sizeof name, "op_relu_backward n=%zu acc=%d", n, acc);
            buf_check(name, &dx, TOL_EXACT);
            buf_free(&dx);
        }
        cpu_op_add(y.h, x.h, n);
        op_add(y.d, x.d, n);
        snprintf(name, sizeof name, "op_add n=%zu", n);
        buf_check(name, &y, TOL_EXACT);
        cpu_op_scale(y.h, -0.37f, n);
        op_scale(y.d, -0.37f, n);
        snprintf(name, sizeof name, "op_scale n=%zu", n);
        buf_check(name, &y, TOL_EXACT);
        buf_free(&x), buf_free(&y), buf_free(&dy);
    }
    const size_t bshapes[][2] = {{1, 1}, {3, 5}, {197, 768}};
    for (size_t si = 0; si < 3; si++) {
        size_t outer = bshapes[si][0], n = bshapes[si][1];
        Buf y = buf_rand(outer * n, 1.0f), x = buf_rand(n, 1.0f);
        cpu_op_add_broadcast(y.h, x.h, outer, n);
        op_add_broadcast(y.d, x.d, outer, n);
        snprintf(name, sizeof name, "op_add_broadcast %zux%zu", outer, n);
        buf_check(name, &y, TOL_EXACT);
        buf_free(&y), buf_free(&x);
    }
}

/* ---- optimiser ------------------------------------------------------------------------------- */

static void test_optim(void) {
    printf("optimiser\n");
    const size_t n = 10007;
    Buf p = buf_rand(n, 1.0f), buf = buf_rand(n, 0.1f), g = buf_rand(n, 0.1f);
    for (int step = 0; step < 3; step++) {
        cpu_op_sgd_step(p.h, buf.h, g.h, n, 0.01f, 0.9f, 5e-4f, step == 0);
        op_sgd_step(p.d, buf.d, g.d, n, 0.01f, 0.9f, 5e-4f, step == 0);
    }
    /* bit-identical: the same operations in the same order, none fused into an FMA */
    buf_check("op_sgd_step x3 p", &p, TOL_EXACT);
    buf_check("op_sgd_step x3 momentum buffer", &buf, TOL_EXACT);
    Buf m = buf_zero(n), v = buf_zero(n);
    for (int t = 1; t <= 3; t++) {
        float bc1 = 1.0f - powf(0.9f, (float)t), bc2 = sqrtf(1.0f - powf(0.999f, (float)t));
        cpu_op_adamw_step(p.h, m.h, v.h, g.h, n, 2e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, bc1, bc2);
        op_adamw_step(p.d, m.d, v.d, g.d, n, 2e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, bc1, bc2);
    }
    buf_check("op_adamw_step x3 p", &p, TOL_EXACT);
    buf_check("op_adamw_step x3 m", &m, TOL_EXACT);
    buf_check("op_adamw_step x3 v", &v, TOL_EXACT);
    buf_free(&p), buf_free(&buf), buf_free(&g), buf_free(&m), buf_free(&v);
}

/* ---- attention ------------------------------------------------------------------------------- */

typedef struct {
    int B, Tq, Tk, heads, dh, causal, packed, with_pos;
} AttnCase;

static void attention_case(const AttnCase *c) {
    char tag[96], name[160];
    snprintf(tag, sizeof tag, "B=%d Tq=%d Tk=%d h=%d dh=%d causal=%d%s%s", c->B, c->Tq, c->Tk,
             c->heads, c->dh, c->causal, c->packed ? " packed" : "",
             c->with_pos ? " q_pos" : "");
    const int w = c->heads * c->dh;
    KAttnShape s = {c->B, c->Tq, c->Tk, c->heads, c->dh, w, w, w + 3, c->causal, NULL,
                    1.0f / sqrtf((float)c->dh)};
    int *pos = NULL;
    if (c->with_pos) { /* e.g. prompt rows after a prefix: positions past Tq, some beyond Tk */
        pos = cg_malloc((size_t)c->B * c->Tq * sizeof(int));
        for (int i = 0; i < c->B * c->Tq; i++) pos[i] = (i * 7 + 3) % (c->Tk + 2);
        s.q_pos = pos;
    }
    /* packed: q, k, v interleaved in rows of 3w (self-attention, Tq == Tk) */
    size_t qn, kvn;
    Buf qkv = {0}, qb = {0}, kb = {0}, vb = {0};
    const float *qh, *kh, *vh, *qd, *kd, *vd;
    if (c->packed) {
        s.ld_q = s.ld_kv = 3 * w;
        qkv = buf_rand((size_t)c->B * c->Tq * 3 * w, 1.5f);
        qh = qkv.h, kh = qkv.h + w, vh = qkv.h + 2 * w;
        qd = qkv.d, kd = qkv.d + w, vd = qkv.d + 2 * w;
        qn = kvn = qkv.n;
    } else {
        s.ld_q = w + 1, s.ld_kv = w + 2;
        qn = (size_t)c->B * c->Tq * s.ld_q, kvn = (size_t)c->B * c->Tk * s.ld_kv;
        qb = buf_rand(qn, 1.5f), kb = buf_rand(kvn, 1.5f), vb = buf_rand(kvn, 1.0f);
        qh = qb.h, kh = kb.h, vh = vb.h, qd = qb.d, kd = kb.d, vd = vb.d;
    }
    size_t on = (size_t)c->B * c->Tq * s.ld_o, pn = (size_t)c->B * c->heads * c->Tq * c->Tk;
    Buf o = buf_rand(on, 1.0f), probs = buf_rand(pn, 1.0f);
    cpu_op_attention(o.h, probs.h, qh, kh, vh, &s);
    op_attention(o.d, probs.d, qd, kd, vd, &s);
    /* the op has taken its copy of q_pos when it returns: rewriting ours before the results
     * are read back (which waits for the GPU) must change nothing */
    if (pos) memset(pos, 0, (size_t)c->B * c->Tq * sizeof(int));
    /* the padding columns of o are not written by either backend: they keep their random
     * values on both sides */
    snprintf(name, sizeof name, "op_attention o %s", tag);
    buf_check(name, &o, TOL_GEMM);
    snprintf(name, sizeof name, "op_attention probs %s", tag);
    buf_check(name, &probs, TOL_GEMM);
    if (pos) /* back to the real positions, for the CPU's backward */
        for (int i = 0; i < c->B * c->Tq; i++) pos[i] = (i * 7 + 3) % (c->Tk + 2);
    Buf o2 = buf_rand(on, 1.0f); /* want: o's values, o2's own padding columns */
    for (size_t i = 0; i < on; i++)
        if ((int)(i % (size_t)s.ld_o) < w) o2.h[i] = o.h[i];
    op_attention(o2.d, NULL, qd, kd, vd, &s);
    snprintf(name, sizeof name, "op_attention probs=NULL %s", tag);
    buf_check(name, &o2, TOL_GEMM);
    buf_free(&o2);

    for (int acc = 0; acc < 2; acc++) {
        Buf dout = buf_rand(on, 1.0f);
        Buf dq = buf_rand(qn, 1.0f), dk = buf_rand(kvn, 1.0f), dv = buf_rand(kvn, 1.0f);
        float *dqh = dq.h, *dkh = dk.h, *dvh = dv.h, *dqd = dq.d, *dkd = dk.d, *dvd = dv.d;
        if (c->packed) { /* the three gradients interleave in one packed buffer */
            dkh = dq.h + w, dvh = dq.h + 2 * w, dkd = dq.d + w, dvd = dq.d + 2 * w;
        }
        cpu_op_attention_backward(dqh, dkh, dvh, dout.h, probs.h, qh, kh, vh, &s, acc);
        op_attention_backward(dqd, dkd, dvd, dout.d, probs.d, qd, kd, vd, &s, acc);
        snprintf(name, sizeof name, "op_attention_backward %s %s acc=%d",
                 c->packed ? "dqkv" : "dq", tag, acc);
        buf_check(name, &dq, TOL_GEMM);
        if (!c->packed) {
            snprintf(name, sizeof name, "op_attention_backward dk %s acc=%d", tag, acc);
            buf_check(name, &dk, TOL_GEMM);
            snprintf(name, sizeof name, "op_attention_backward dv %s acc=%d", tag, acc);
            buf_check(name, &dv, TOL_GEMM);
            /* only some gradients wanted */
            cpu_op_attention_backward(NULL, dk.h, NULL, dout.h, probs.h, qh, kh, vh, &s, acc);
            op_attention_backward(NULL, dk.d, NULL, dout.d, probs.d, qd, kd, vd, &s, acc);
            snprintf(name, sizeof name, "op_attention_backward dk only %s acc=%d", tag, acc);
            buf_check(name, &dk, TOL_GEMM);
            cpu_op_attention_backward(NULL, NULL, dv.h, dout.h, probs.h, NULL, NULL, NULL, &s,
                                      acc);
            op_attention_backward(NULL, NULL, dv.d, dout.d, probs.d, NULL, NULL, NULL, &s, acc);
            snprintf(name, sizeof name, "op_attention_backward dv only %s acc=%d", tag, acc);
            buf_check(name, &dv, TOL_GEMM);
        }
        buf_free(&dout), buf_free(&dq), buf_free(&dk), buf_free(&dv);
    }
    buf_free(&o), buf_free(&probs);
    if (c->packed) buf_free(&qkv);
    else buf_free(&qb), buf_free(&kb), buf_free(&vb);
    free(pos);
}

static void test_attention(void) {
    printf("attention\n");
    const AttnCase cases[] = {
        {1, 1, 1, 1, 1, 0, 0, 0},
        {2, 5, 5, 2, 3, 0, 0, 0},     /* B >= heads: batched over B */
        {1, 9, 13, 4, 5, 0, 0, 0},    /* B < heads: batched over heads, Tq != Tk */
        {3, 7, 7, 4, 8, 1, 1, 0},     /* causal, packed q/k/v (the text tower) */
        {2, 6, 11, 3, 5, 1, 0, 1},    /* causal with explicit query positions */
        {5, 77, 77, 8, 64, 1, 1, 0},  /* the text tower's shape */
        {2, 197, 197, 12, 64, 0, 1, 0}, /* the ViT-B/16 image tower's shape */
        {2, 4, 9, 2, 3, 1, 0, 0},     /* causal, Tq < Tk, no positions: row i sees keys <= i */
        {1, 8, 5, 3, 1, 1, 0, 0},     /* causal, Tq > Tk, dh = 1 */
        {3, 3, 12, 2, 4, 1, 0, 1},    /* query-only rows after a prefix, explicit positions */
        {2, 5, 6, 2, 3, 0, 0, 1},     /* positions given but not causal: ignored */
        {66000, 1, 2, 1, 2, 0, 0, 0}, /* a batch > 65535 products (split), > 65535 rows */
        {1, 70, 70, 1000, 1, 1, 0, 0}, /* B < heads: batched over 1000 heads */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) attention_case(&cases[i]);
}

/* ---- loss and feature normalisation ------------------------------------------------------------ */

static void test_loss(void) {
    printf("loss\n");
    const int shapes[][2] = {{1, 1}, {4, 10}, {33, 1000}, {70000, 3}}; /* > 65535 rows */
    char name[128];
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int B = shapes[si][0], C = shapes[si][1];
        Buf logits = buf_rand((size_t)B * C, 8.0f), dl = buf_rand((size_t)B * C, 1.0f);
        int *labels = cg_malloc((size_t)B * sizeof(int));
        for (int i = 0; i < B; i++) labels[i] = (i * 37 + 5) % C;
        double want = cpu_op_cross_entropy(dl.h, logits.h, labels, B, C, 0.5f);
        double got = op_cross_entropy(dl.d, logits.d, labels, B, C, 0.5f);
        double got_nograd = op_cross_entropy(NULL, logits.d, labels, B, C, 0.5f);
        double err = fabs(got - want) / fmax(fabs(want), 1e-30);
        printf("  %-48s rel err %.2e\n", "op_cross_entropy loss", err);
        CHECK(err <= 1e-9 || fabs(got - want) <= 1e-12, "op_cross_entropy B=%d C=%d: loss %.17g,"
              " CPU %.17g", B, C, got, want);
        CHECK(got_nograd == got, "op_cross_entropy without dlogits: %.17g != %.17g", got_nograd,
              got);
        snprintf(name, sizeof name, "op_cross_entropy %dx%d dlogits", B, C);
        buf_check(name, &dl, TOL_ELEM);
        /* in place (dlogits == logits): every row's logits are read before they are replaced */
        want = cpu_op_cross_entropy(logits.h, logits.h, labels, B, C, 0.5f);
        got = op_cross_entropy(logits.d, logits.d, labels, B, C, 0.5f);
        err = fabs(got - want) / fmax(fabs(want), 1e-30);
        CHECK(err <= 1e-9 || fabs(got - want) <= 1e-12, "op_cross_entropy in place B=%d C=%d: "
              "loss %.17g, CPU %.17g", B, C, got, want);
        snprintf(name, sizeof name, "op_cross_entropy %dx%d in place", B, C);
        buf_check(name, &logits, TOL_ELEM);
        free(labels);
        buf_free(&logits), buf_free(&dl);
    }
    const int nshapes[][2] = {{1, 1}, {7, 3}, {100, 512}, {70000, 2}};
    for (size_t si = 0; si < sizeof nshapes / sizeof nshapes[0]; si++) {
        int n = nshapes[si][0], d = nshapes[si][1];
        size_t nd = (size_t)n * d;
        Buf x = buf_rand(nd, 3.0f), y = buf_rand(nd, 1.0f), norms = buf_zero((size_t)n);
        cpu_op_l2norm(y.h, norms.h, x.h, n, d);
        op_l2norm(y.d, norms.d, x.d, n, d);
        snprintf(name, sizeof name, "op_l2norm %dx%d", n, d);
        buf_check(name, &y, TOL_ROW);
        snprintf(name, sizeof name, "op_l2norm %dx%d norms", n, d);
        buf_check(name, &norms, TOL_ROW);
        for (int acc = 0; acc < 2; acc++) {
            Buf dy = buf_rand(nd, 1.0f), dx = buf_rand(nd, 1.0f);
            cpu_op_l2norm_backward(dx.h, dy.h, y.h, norms.h, n, d, acc);
            op_l2norm_backward(dx.d, dy.d, y.d, norms.d, n, d, acc);
            snprintf(name, sizeof name, "op_l2norm_backward %dx%d acc=%d", n, d, acc);
            buf_check(name, &dx, TOL_ROW);
            buf_free(&dy), buf_free(&dx);
        }
        buf_free(&x), buf_free(&y), buf_free(&norms);
    }
}

/* ---- rows and images ------------------------------------------------------------------------- */

static void test_rows(void) {
    printf("rows\n");
    char name[128];
    const int n = 23, d = 37, rows = 9;
    int idx[23];
    for (int i = 0; i < n; i++) idx[i] = (i * 5 + 2) % rows; /* repeats */
    Buf src = buf_rand((size_t)rows * d, 1.0f), dst = buf_rand((size_t)n * d, 1.0f);
    cpu_op_gather_rows(dst.h, src.h, idx, n, d);
    op_gather_rows(dst.d, src.d, idx, n, d);
    buf_check("op_gather_rows (repeated indices)", &dst, TOL_EXACT);
    cpu_op_scatter_add_rows(src.h, dst.h, idx, n, d);
    op_scatter_add_rows(src.d, dst.d, idx, n, d);
    buf_check("op_scatter_add_rows (repeated indices)", &src, TOL_EXACT);
    buf_free(&src), buf_free(&dst);

    const int B = 6;
    const size_t cn = 77 * 5;
    for (int bcast = 0; bcast < 2; bcast++) {
        for (int acc = 0; acc < 2; acc++) {
            size_t src_bs = bcast ? 0 : cn + 3, dst_bs = cn + 11;
            Buf s = buf_rand(bcast ? cn : (size_t)B * src_bs, 1.0f);
            Buf t = buf_rand((size_t)B * dst_bs, 1.0f);
            cpu_op_copy_batched(t.h, dst_bs, s.h, src_bs, B, cn, acc);
            op_copy_batched(t.d, dst_bs, s.d, src_bs, B, cn, acc);
            snprintf(name, sizeof name, "op_copy_batched broadcast=%d acc=%d", bcast, acc);
            buf_check(name, &t, TOL_EXACT);
            Buf sum = buf_rand(cn, 1.0f);
            cpu_op_sum_batched(sum.h, t.h, dst_bs, B, cn, acc);
            op_sum_batched(sum.d, t.d, dst_bs, B, cn, acc);
            snprintf(name, sizeof name, "op_sum_batched acc=%d", acc);
            buf_check(name, &sum, TOL_ROW);
            buf_free(&s), buf_free(&t), buf_free(&sum);
        }
    }
    /* a sum over more rows than one chunk of the column-sum kernel */
    Buf big = buf_rand((size_t)1000 * 65, 1.0f), sum = buf_rand(65, 1.0f);
    cpu_op_sum_batched(sum.h, big.h, 65, 1000, 65, 1);
    op_sum_batched(sum.d, big.d, 65, 1000, 65, 1);
    buf_check("op_sum_batched B=1000 acc=1", &sum, TOL_ROW);
    buf_free(&big), buf_free(&sum);

    const int ims[][3] = {{1, 4, 2}, {2, 12, 4}, {3, 32, 16}};
    for (int i = 0; i < 3; i++) {
        int nb = ims[i][0], R = ims[i][1], p = ims[i][2], g = R / p;
        Buf img = buf_rand((size_t)nb * 3 * R * R, 1.0f);
        Buf cols = buf_rand((size_t)nb * g * g * 3 * p * p, 1.0f);
        cpu_op_im2col_patches(cols.h, img.h, nb, R, p);
        op_im2col_patches(cols.d, img.d, nb, R, p);
        snprintf(name, sizeof name, "op_im2col_patches B=%d R=%d p=%d", nb, R, p);
        buf_check(name, &cols, TOL_EXACT);
        buf_free(&img), buf_free(&cols);
    }
}

/* gather and scatter-add: d = 1, wide rows, distinct indices, heavy repeats, more than 65535
 * rows; the scatter-add is bit-identical to the CPU's (each element sums its rows in the order
 * of i). The index array is rewritten as soon as each op returns. */
static void index_case(int n, int d, int rows, int distinct) {
    char name[128];
    int *idx = cg_malloc((size_t)n * sizeof(int)), *keep = cg_malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) /* distinct: a permutation of 0..n-1 (n prime to 7919) */
        idx[i] = distinct ? (int)(((long long)i * 7919 + 11) % n)
                          : (int)(((long long)i * i + 3) % rows);
    memcpy(keep, idx, (size_t)n * sizeof(int));
    int srows = distinct ? n : rows;
    Buf src = buf_rand((size_t)srows * d, 1.0f), dst = buf_rand((size_t)n * d, 1.0f);
    cpu_op_gather_rows(dst.h, src.h, idx, n, d);
    op_gather_rows(dst.d, src.d, idx, n, d);
    memset(idx, 0xff, (size_t)n * sizeof(int)); /* -1 everywhere: must not reach the GPU */
    snprintf(name, sizeof name, "op_gather_rows n=%d d=%d %s", n, d,
             distinct ? "distinct" : "repeated");
    buf_check(name, &dst, TOL_EXACT);
    memcpy(idx, keep, (size_t)n * sizeof(int));
    cpu_op_scatter_add_rows(src.h, dst.h, idx, n, d);
    op_scatter_add_rows(src.d, dst.d, idx, n, d);
    memset(idx, 0xff, (size_t)n * sizeof(int));
    snprintf(name, sizeof name, "op_scatter_add_rows n=%d d=%d %s (bit-exact)", n, d,
             distinct ? "distinct" : "repeated");
    buf_check(name, &src, TOL_EXACT);
    buf_free(&src), buf_free(&dst);
    free(idx), free(keep);
}

static void test_indices(void) {
    printf("gather / scatter-add\n");
    index_case(1, 1, 1, 0);
    index_case(5000, 3, 7, 0);      /* ~700 source rows per destination row */
    index_case(301, 300, 0, 1);     /* a permutation, rows wider than a block */
    index_case(3, 1000, 2, 0);
    index_case(70000, 1, 1000, 0);  /* d = 1, more than 65535 rows */
    index_case(70001, 2, 0, 1);
}

/* shapes past the 65535 limit of a grid's y/z dimension or of a row-per-block x grid */
static void test_large_grids(void) {
    printf("large grids\n");
    char name[128];
    /* column sums over more than 65535 chunks of 256 rows */
    const int B = 65535 * 256 + 300;
    Buf src = buf_rand((size_t)B, 1.0f), sum = buf_rand(1, 1.0f);
    cpu_op_sum_batched(sum.h, src.h, 1, B, 1, 0);
    op_sum_batched(sum.d, src.d, 1, B, 1, 0);
    snprintf(name, sizeof name, "op_sum_batched B=%d n=1", B);
    buf_check(name, &sum, TOL_ROW);
    buf_free(&src), buf_free(&sum);
    /* LayerNorm: > 65535 rows (one block each), and γ/β gradients over > 65535 chunks */
    const int shapes[][2] = {{70000, 3}, {65535 * 256 + 300, 1}};
    for (int si = 0; si < 2; si++) {
        int n = shapes[si][0], d = shapes[si][1];
        size_t nd = (size_t)n * d;
        Buf x = buf_rand(nd, 2.0f), y = buf_rand(nd, 1.0f), g = buf_rand((size_t)d, 1.0f);
        Buf b = buf_rand((size_t)d, 1.0f), mean = buf_zero((size_t)n), rstd = buf_zero((size_t)n);
        cpu_op_layernorm(y.h, mean.h, rstd.h, x.h, g.h, b.h, n, d, 1e-5f);
        op_layernorm(y.d, mean.d, rstd.d, x.d, g.d, b.d, n, d, 1e-5f);
        snprintf(name, sizeof name, "op_layernorm %dx%d", n, d);
        buf_check(name, &y, TOL_ROW);
        snprintf(name, sizeof name, "op_layernorm %dx%d rstd", n, d);
        buf_check(name, &rstd, TOL_ROW);
        Buf dy = buf_rand(nd, 1.0f), dx = buf_rand(nd, 1.0f);
        Buf dg = buf_rand((size_t)d, 1.0f), db = buf_rand((size_t)d, 1.0f);
        cpu_op_layernorm_backward(dx.h, dg.h, db.h, dy.h, x.h, mean.h, rstd.h, g.h, n, d, 1);
        op_layernorm_backward(dx.d, dg.d, db.d, dy.d, x.d, mean.d, rstd.d, g.d, n, d, 1);
        snprintf(name, sizeof name, "op_layernorm_backward %dx%d dx acc=1", n, d);
        buf_check(name, &dx, TOL_ROW);
        snprintf(name, sizeof name, "op_layernorm_backward %dx%d dgamma", n, d);
        buf_check(name, &dg, TOL_ROW);
        snprintf(name, sizeof name, "op_layernorm_backward %dx%d dbeta", n, d);
        buf_check(name, &db, TOL_ROW);
        buf_free(&x), buf_free(&y), buf_free(&g), buf_free(&b), buf_free(&mean);
        buf_free(&rstd), buf_free(&dy), buf_free(&dx), buf_free(&dg), buf_free(&db);
    }
}

/* ---- reduced-precision products --------------------------------------------------------------- */

/* the products with inputs cuBLAS may round to tf32/bf16/fp16 (fp32 accumulation): within the
 * rounding of the inputs; then back to fp32 and exact-fp32 agreement again */
/* Reduced-precision products: the GPU (operands converted, tensor cores, fp32 sums) against the
 * CPU (the same rounding, kernels/precision.h, then sgemm): equal up to the order of the fp32
 * sums, for every precision, both layouts, the backward products, and weights read through
 * the frozen-weight copies: slices of a declared range, twice (the copy is reused), and again
 * after that memory was freed and handed out with other values (no stale copy). */
static void precision_case(const char *pname, KWLayout layout, int frozen) {
    const int n = 65, k = 200, m = 77;
    const size_t off = 96; /* w is a slice inside a larger allocation */
    char name[160];
    Buf x = buf_rand((size_t)n * k, 3.0f), big = buf_rand((size_t)m * k + 2 * off, 0.5f);
    Buf y = buf_rand((size_t)n * m, 1.0f), dy = buf_rand((size_t)n * m, 1.0f);
    Buf dx = buf_rand((size_t)n * k, 1.0f), dw = buf_rand((size_t)m * k, 1.0f);
    if (frozen) k_weights_frozen(big.d, (size_t)m * k + 2 * off);
    const float *wh = big.h + off, *wd = big.d + off;
    for (int rep = 0; rep < 1 + frozen; rep++) {
        cpu_op_matmul(y.h, x.h, wh, NULL, n, k, m, layout, 0);
        op_matmul(y.d, x.d, wd, NULL, n, k, m, layout, 0);
        snprintf(name, sizeof name, "%s op_matmul layout %d%s", pname, layout,
                 frozen ? (rep ? " frozen (reused copy)" : " frozen") : "");
        buf_check(name, &y, TOL_GEMM_LOWP);
    }
    cpu_op_matmul_backward(dx.h, dy.h, wh, n, k, m, layout, 1);
    op_matmul_backward(dx.d, dy.d, wd, n, k, m, layout, 1);
    snprintf(name, sizeof name, "%s op_matmul_backward layout %d acc", pname, layout);
    buf_check(name, &dx, TOL_GEMM_LOWP);
    if (layout == K_W_OUT_IN) {
        cpu_op_dense_backward(dx.h, dw.h, NULL, dy.h, x.h, wh, n, k, m, 0);
        op_dense_backward(dx.d, dw.d, NULL, dy.d, x.d, wd, n, k, m, 0);
        snprintf(name, sizeof name, "%s op_dense_backward dw", pname);
        buf_check(name, &dw, TOL_GEMM_LOWP);
        snprintf(name, sizeof name, "%s op_dense_backward dx", pname);
        buf_check(name, &dx, TOL_GEMM_LOWP);
    }
    buf_free(&x), buf_free(&big), buf_free(&y), buf_free(&dy), buf_free(&dx), buf_free(&dw);
}

static void test_precision(void) {
    printf("matmul precision\n");
    const char *names[] = {"fp32", "tf32", "bf16", "fp16"};
    for (int i = 0; i < 4; i++) {
        CHECK(k_set_matmul_precision(names[i]) == 0, "k_set_matmul_precision(%s): %s", names[i],
              cg_error());
        for (int layout = 0; layout < 2; layout++)
            for (int frozen = 0; frozen < 2; frozen++)
                precision_case(names[i], (KWLayout)layout, frozen);
        /* the same allocation again, with other values: its old copy must be gone */
        precision_case(names[i], K_W_OUT_IN, 1);
    }
    k_set_matmul_precision("fp32");
}

int main(void) {
    test_dispatch_cpu();
    if (k_init_cuda(-1) != 0) {
        if (tl_fail) return test_finish("test_cuda_ops");
        printf("SKIPPED: %s\n", cg_error());
        return 0;
    }
    printf("backend %s on GPU %d\n", k_backend_name(), k_cuda_device());
    CHECK(k_backend() == K_BACKEND_CUDA, "k_backend: not CUDA after k_init_cuda");
    test_memory();
    test_matmul();
    test_layernorm();
    test_elementwise();
    test_optim();
    test_attention();
    test_loss();
    test_rows();
    test_indices();
    test_large_grids();
    test_precision();
    return test_finish("test_cuda_ops");
}
#endif
