/* kernels/cpu/cpu_matmul.c — the matrix products: frozen Linear forward/backward and the
 * learnable dense layer's backward, plus bias rows and column sums.
 *
 * Threading: a product of SGEMM_PAR_MIN multiply-adds or more is cut into a grid of tiles of C
 * (row and column ranges, kept near square so the repacking of A and B per tile stays below ~1 %
 * of the work), and an OpenMP loop runs one single-threaded OpenBLAS sgemm per tile. The number
 * of tiles depends on the shape only (the fewest, 2 to SGEMM_TILES, that keep each tile within
 * SGEMM_TILE_WORK multiply-adds where SGEMM_TILES suffice: a product uses SGEMM_TILES threads at
 * most), never on the thread count. OpenBLAS's value
 * of an element depends on the block of C it is computed in: measured on Zen with OpenBLAS
 * 0.3.21, one sgemm on 1 and on 2 OpenBLAS threads, or one call against calls on parts of C
 * (even parts cut at multiples of 64 or 128 rows and columns), differ in the last bits of
 * thousands of elements, even at K = 64. A split by threads would make the results depend on
 * --threads; with this grid every product, and so a whole pretraining, gives the same bits on
 * any number of threads (tests/test_thread_invariance.c).
 * k_init_cpu sets OpenBLAS to 1 thread. Measured on this project's 2-core machine, the
 * alternative — OpenBLAS's own pthread pool for the products and OpenMP for everything else —
 * loses 15–40 % of the ViT forward: after each OpenMP region libgomp's idle workers spin (by
 * default until GOMP_SPINCOUNT runs out) on the cores the OpenBLAS threads need, and vice versa.
 * One pool of threads avoids that in any environment. OpenBLAS >= 0.3.7 built with threading
 * (Debian's pthread build) is safe to call concurrently; each call then runs in its caller.
 *
 * Reduced precision (k_set_matmul_precision): both operands of a product are rounded into
 * per-thread scratch copies first (kernels/precision.h), then the same fp32 sgemm runs on them:
 * the products of the rounded values are exact, the sums fp32, as on the GPU's tensor cores. */
#include <stdlib.h>  // defines: realloc

#include "kernels/cpu/cpu_blas.h"  // defines: cblas_sgemm
#include "kernels/cpu/cpu_internal.h"
#include "kernels/op_checks.h"
#include "kernels/precision.h"

/* Products below this many multiply-adds run as one sgemm on the calling thread. */
#define SGEMM_PAR_MIN 4e6
/* Larger ones are cut into the smallest power of two of tiles (2 at least, SGEMM_TILES at most)
 * with at most SGEMM_TILE_WORK multiply-adds each: a function of the shape alone (see the top).
 * Each tile is one sgemm call, and smaller calls cost OpenBLAS some speed: measured on one thread
 * against a single call, on the frozen path's shapes (3850×512×512 … 6304×3072×768), about +2 %
 * with 8 tiles, +6 % with 16 and +11 % with 64 of 2·10⁶ multiply-adds. 8 keeps the frozen path's
 * speed on this project's 2-core machines; a product then uses 8 threads at most (a larger
 * machine runs more ranks: one run each). Raising SGEMM_TILES changes the last bits of every
 * result (and of pretraining: rebuild the demo model, make check-demo-model). */
#define SGEMM_TILE_WORK 1.25e8
#define SGEMM_TILES 8

/* number of row blocks of a grid of T blocks over C[M,N]: the smallest block half-perimeter
 * (data packed per multiply-add), avoiding blocks narrower than a register tile */
static int grid_rows(int M, int N, int T) {
    int pr = T;
    double best = INFINITY;
    for (int r = 1; r <= T; r++) {
        if (T % r) continue;
        double bm = (double)M / r, bn = (double)N / (T / r);
        double cost = bm + bn + (bm < 8 ? 1e9 : 0) + (bn < 32 ? 1e9 : 0);
        if (cost < best) best = cost, pr = r;
    }
    return pr;
}

/* the number of tiles of a product of `work` multiply-adds (>= SGEMM_PAR_MIN) */
static int tile_count(double work) {
    int t = 2;
    while (t < SGEMM_TILES && work / t > SGEMM_TILE_WORK) t *= 2;
    return t;
}

/* C[M,N] = op(A)[M,K]·op(B)[K,N] + beta·C, row-major, tiles spread over the OpenMP threads */
static void sgemm_par(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc) {
    double work = (double)M * N * K;
    if (work < SGEMM_PAR_MIN) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int nt = tile_count(work), pr = grid_rows(M, N, nt), pc = nt / pr;
    #pragma omp parallel for schedule(static) num_threads(k_threads()) if (k_threads() > 1)
    for (int t = 0; t < nt; t++) {
        int ri = t / pc, ci = t % pc;
        int r0 = (int)((long long)M * ri / pr), r1 = (int)((long long)M * (ri + 1) / pr);
        int c0 = (int)((long long)N * ci / pc), c1 = (int)((long long)N * (ci + 1) / pc);
        if (r1 > r0 && c1 > c0) {
            const float *a = ta == CblasNoTrans ? A + (size_t)r0 * lda : A + r0;
            const float *b = tb == CblasNoTrans ? B + c0 : B + (size_t)c0 * ldb;
            cblas_sgemm(CblasRowMajor, ta, tb, r1 - r0, c1 - c0, K, 1.0f, a, lda, b, ldb, beta,
                        C + (size_t)r0 * ldc + c0, ldc);
        }
    }
}

/* ---- rounded operands ---------------------------------------------------------------------- */

/* Two scratch buffers per host thread (a product has two operands; ranks simulated as threads
 * in the tests each have their own), grown as needed and kept. */
static _Thread_local float *round_buf[2];
static _Thread_local size_t round_cap[2];

/* the n floats of `a` rounded to the current precision (in scratch `slot`), or `a` itself at
 * fp32 */
static const float *rounded(const float *a, size_t n, int slot) {
    KPrecision p = k_precision();
    if (p == K_PREC_FP32) return a;
    if (round_cap[slot] < n) {
        float *b = realloc(round_buf[slot], n * sizeof(float));
        if (!b) cg_fatal("op_matmul: no memory for %zu rounded operand floats", n);
        round_buf[slot] = b, round_cap[slot] = n;
    }
    float *r = round_buf[slot];
    #pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) r[i] = k_round_to(p, a[i]);
    return r;
}

/* y[r, :] = bias (set) or y[r, :] += bias (add) for every row r < n */
static void bias_rows(float *y, const float *bias, int n, int m, int add) {
    #pragma omp parallel for schedule(static) if ((size_t)n * m >= CPU_PAR_MIN)
    for (int r = 0; r < n; r++) {
        float *yr = y + (size_t)r * m;
        if (add) {
            #pragma omp simd
            for (int j = 0; j < m; j++) yr[j] += bias[j];
        } else {
            memcpy(yr, bias, (size_t)m * sizeof(float));
        }
    }
}

void cpu_op_matmul(float *y, const float *x, const float *w, const float *bias,
               int n, int k, int m, KWLayout layout, int acc) {
    k_check_dims("op_matmul", n, k, m);
    k_check_layout("op_matmul", layout);
    CPU_CHECK_PTR("op_matmul", y);
    CPU_CHECK_PTR("op_matmul", x);
    CPU_CHECK_PTR("op_matmul", w);
    float beta = acc ? 1.0f : 0.0f;
    if (bias) { /* put the bias into y first, then let the product add to it */
        bias_rows(y, bias, n, m, acc);
        beta = 1.0f;
    }
    x = rounded(x, (size_t)n * k, 0);
    w = rounded(w, (size_t)m * k, 1);
    if (layout == K_W_OUT_IN)  /* W [m,k]: y = x·Wᵀ */
        sgemm_par(CblasNoTrans, CblasTrans, n, m, k, x, k, w, k, beta,
                    y, m);
    else                       /* W [k,m]: y = x·W */
        sgemm_par(CblasNoTrans, CblasNoTrans, n, m, k, x, k, w, m, beta,
                    y, m);
}

void cpu_op_matmul_backward(float *dx, const float *dy, const float *w,
                        int n, int k, int m, KWLayout layout, int acc) {
    k_check_dims("op_matmul_backward", n, k, m);
    k_check_layout("op_matmul_backward", layout);
    CPU_CHECK_PTR("op_matmul_backward", dx);
    CPU_CHECK_PTR("op_matmul_backward", dy);
    CPU_CHECK_PTR("op_matmul_backward", w);
    float beta = acc ? 1.0f : 0.0f;
    dy = rounded(dy, (size_t)n * m, 0);
    w = rounded(w, (size_t)m * k, 1);
    if (layout == K_W_OUT_IN)  /* W [m,k]: dx = dy·W */
        sgemm_par(CblasNoTrans, CblasNoTrans, n, k, m, dy, m, w, k, beta,
                    dx, k);
    else                       /* W [k,m]: dx = dy·Wᵀ */
        sgemm_par(CblasNoTrans, CblasTrans, n, k, m, dy, m, w, m, beta,
                    dx, k);
}

/* db[j] += Σ_r dy[r, j]: columns in blocks across threads, rows summed in double in order */
static void column_sums_acc(float *db, const float *dy, int n, int m) {
    enum { CB = 64 };
    int nblk = (m + CB - 1) / CB;
    #pragma omp parallel for schedule(static) if ((size_t)n * m >= CPU_PAR_MIN)
    for (int bl = 0; bl < nblk; bl++) {
        int j0 = bl * CB, jn = m - j0 < CB ? m - j0 : CB;
        double s[CB] = {0};
        for (int r = 0; r < n; r++) {
            const float *row = dy + (size_t)r * m + j0;
            #pragma omp simd
            for (int j = 0; j < jn; j++) s[j] += row[j];
        }
        for (int j = 0; j < jn; j++) db[j0 + j] += (float)s[j];
    }
}

void cpu_op_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                       const float *w, int n, int k, int m, int acc) {
    k_check_dims("op_dense_backward", n, k, m);
    CPU_CHECK_PTR("op_dense_backward", dy);
    if (dw) { /* dw[m,k] += dyᵀ·x */
        CPU_CHECK_PTR("op_dense_backward", x);
        sgemm_par(CblasTrans, CblasNoTrans, m, k, n, rounded(dy, (size_t)n * m, 0), m,
                  rounded(x, (size_t)n * k, 1), k, 1.0f, dw, k);
    }
    if (db) column_sums_acc(db, dy, n, m);
    if (dx) cpu_op_matmul_backward(dx, dy, w, n, k, m, K_W_OUT_IN, acc);
}

void cpu_op_matmul_weight_grad(float *dw, float *db, const float *dy, const float *x, int n,
                               int k, int m, KWLayout layout) {
    k_check_dims("op_matmul_weight_grad", n, k, m);
    k_check_layout("op_matmul_weight_grad", layout);
    CPU_CHECK_PTR("op_matmul_weight_grad", dw);
    CPU_CHECK_PTR("op_matmul_weight_grad", dy);
    CPU_CHECK_PTR("op_matmul_weight_grad", x);
    const float *dyr = rounded(dy, (size_t)n * m, 0), *xr = rounded(x, (size_t)n * k, 1);
    if (layout == K_W_OUT_IN) /* dw[m,k] += dyᵀ·x */
        sgemm_par(CblasTrans, CblasNoTrans, m, k, n, dyr, m, xr, k, 1.0f, dw, k);
    else                      /* dw[k,m] += xᵀ·dy */
        sgemm_par(CblasTrans, CblasNoTrans, k, m, n, xr, k, dyr, m, 1.0f, dw, m);
    if (db) column_sums_acc(db, dy, n, m);
}
