/* kernels/cpu/cpu_matmul.c — the matrix products: frozen Linear forward/backward and the
 * learnable dense layer's backward, each one multithreaded OpenBLAS sgemm (never called from
 * inside an OpenMP region: Debian's OpenBLAS is the pthread build), plus bias rows and column
 * sums with OpenMP. */
#include <cblas.h>  // defines: cblas_sgemm

#include "kernels/cpu/cpu_internal.h"

static void check_dims(const char *fn, int n, int k, int m) {
    if (n <= 0 || k <= 0 || m <= 0)
        cg_fatal("%s: n=%d k=%d m=%d must be positive", fn, n, k, m);
}

static void check_layout(const char *fn, KWLayout layout) {
    if (layout != K_W_OUT_IN && layout != K_W_IN_OUT)
        cg_fatal("%s: layout %d must be K_W_OUT_IN (0) or K_W_IN_OUT (1)", fn, (int)layout);
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

void op_matmul(float *y, const float *x, const float *w, const float *bias,
               int n, int k, int m, KWLayout layout, int acc) {
    check_dims("op_matmul", n, k, m);
    check_layout("op_matmul", layout);
    CPU_CHECK_PTR("op_matmul", y);
    CPU_CHECK_PTR("op_matmul", x);
    CPU_CHECK_PTR("op_matmul", w);
    float beta = acc ? 1.0f : 0.0f;
    if (bias) { /* put the bias into y first, then let sgemm add the product */
        bias_rows(y, bias, n, m, acc);
        beta = 1.0f;
    }
    if (layout == K_W_OUT_IN)  /* W [m,k]: y = x·Wᵀ */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1.0f, x, k, w, k, beta,
                    y, m);
    else                       /* W [k,m]: y = x·W */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m, k, 1.0f, x, k, w, m, beta,
                    y, m);
}

void op_matmul_backward(float *dx, const float *dy, const float *w,
                        int n, int k, int m, KWLayout layout, int acc) {
    check_dims("op_matmul_backward", n, k, m);
    check_layout("op_matmul_backward", layout);
    CPU_CHECK_PTR("op_matmul_backward", dx);
    CPU_CHECK_PTR("op_matmul_backward", dy);
    CPU_CHECK_PTR("op_matmul_backward", w);
    float beta = acc ? 1.0f : 0.0f;
    if (layout == K_W_OUT_IN)  /* W [m,k]: dx = dy·W */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, m, 1.0f, dy, m, w, k, beta,
                    dx, k);
    else                       /* W [k,m]: dx = dy·Wᵀ */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, m, 1.0f, dy, m, w, m, beta,
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

void op_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                       const float *w, int n, int k, int m, int acc) {
    check_dims("op_dense_backward", n, k, m);
    CPU_CHECK_PTR("op_dense_backward", dy);
    if (dw) { /* dw[m,k] += dyᵀ·x */
        CPU_CHECK_PTR("op_dense_backward", x);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, k, n, 1.0f, dy, m, x, k, 1.0f,
                    dw, k);
    }
    if (db) column_sums_acc(db, dy, n, m);
    if (dx) op_matmul_backward(dx, dy, w, n, k, m, K_W_OUT_IN, acc);
}
