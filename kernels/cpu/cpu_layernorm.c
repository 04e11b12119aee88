/* kernels/cpu/cpu_layernorm.c — LayerNorm over rows (biased variance, eps given) and its
 * backward. Row statistics are accumulated in double; the optional γ/β gradients are summed over
 * fixed chunks of LN_CHUNK rows (in parallel) and the chunk sums added in chunk order, so the
 * results depend neither on scheduling nor on the thread count. */
#include <stdlib.h>  // defines: free

#include "kernels/cpu/cpu_internal.h"

void cpu_op_layernorm(float *y, float *mean, float *rstd, const float *x,
                  const float *gamma, const float *beta, int n, int d, float eps) {
    if (n <= 0 || d <= 0) cg_fatal("op_layernorm: n=%d d=%d must be positive", n, d);
    if (!(eps >= 0.0f)) cg_fatal("op_layernorm: eps=%g must be >= 0", (double)eps);
    CPU_CHECK_PTR("op_layernorm", y);
    CPU_CHECK_PTR("op_layernorm", x);
    #pragma omp parallel for schedule(static) if ((size_t)n * d >= CPU_PAR_MIN)
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = y + (size_t)r * d;
        double s = 0.0;
        #pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) s += xr[j];
        double mu = s / d, v = 0.0;
        #pragma omp simd reduction(+ : v)
        for (int j = 0; j < d; j++) {
            double t = xr[j] - mu;
            v += t * t;
        }
        float m = (float)mu, rs = (float)(1.0 / sqrt(v / d + (double)eps));
        if (mean) mean[r] = m;
        if (rstd) rstd[r] = rs;
        if (gamma && beta) {
            #pragma omp simd
            for (int j = 0; j < d; j++) yr[j] = (xr[j] - m) * rs * gamma[j] + beta[j];
        } else {
            #pragma omp simd
            for (int j = 0; j < d; j++)
                yr[j] = (xr[j] - m) * rs * (gamma ? gamma[j] : 1.0f) + (beta ? beta[j] : 0.0f);
        }
    }
}

/* dx of one row: r·(g − mean(g) − x̂·mean(g⊙x̂)), g = dy⊙γ */
static void ln_row_backward(float *dx, const float *dy, const float *x, float mu, float rs,
                            const float *gamma, int d, int acc) {
    double sg = 0.0, sgx = 0.0;
    #pragma omp simd reduction(+ : sg, sgx)
    for (int j = 0; j < d; j++) {
        float g = dy[j] * (gamma ? gamma[j] : 1.0f);
        float xh = (x[j] - mu) * rs;
        sg += g;
        sgx += (double)g * xh;
    }
    float mg = (float)(sg / d), mgx = (float)(sgx / d);
    #pragma omp simd
    for (int j = 0; j < d; j++) {
        float g = dy[j] * (gamma ? gamma[j] : 1.0f);
        float xh = (x[j] - mu) * rs;
        float v = rs * (g - mg - xh * mgx);
        dx[j] = acc ? dx[j] + v : v;
    }
}

void cpu_op_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *x, const float *mean, const float *rstd,
                           const float *gamma, int n, int d, int acc) {
    if (n <= 0 || d <= 0) cg_fatal("op_layernorm_backward: n=%d d=%d must be positive", n, d);
    CPU_CHECK_PTR("op_layernorm_backward", dy);
    CPU_CHECK_PTR("op_layernorm_backward", x);
    CPU_CHECK_PTR("op_layernorm_backward", mean);
    CPU_CHECK_PTR("op_layernorm_backward", rstd);
    int want_params = dgamma || dbeta;
    int par = (size_t)n * d >= CPU_PAR_MIN;
    /* rows in chunks of LN_CHUNK (a constant); with γ/β gradients, each chunk's partial sums of
     * dy⊙x̂ and dy, [nch][2][d] in double */
    enum { LN_CHUNK = 64 };
    int nch = (n + LN_CHUNK - 1) / LN_CHUNK;
    double *part = want_params ? cg_calloc((size_t)nch * 2 * d, sizeof(double)) : NULL;
    #pragma omp parallel for schedule(static) if (par && nch > 1)
    for (int c = 0; c < nch; c++) {
        double *pg = part ? part + (size_t)c * 2 * d : NULL, *pb = pg ? pg + d : NULL;
        int r1 = (c + 1) * LN_CHUNK < n ? (c + 1) * LN_CHUNK : n;
        for (int r = c * LN_CHUNK; r < r1; r++) {
            const float *dyr = dy + (size_t)r * d, *xr = x + (size_t)r * d;
            float mu = mean[r], rs = rstd[r];
            if (dx) ln_row_backward(dx + (size_t)r * d, dyr, xr, mu, rs, gamma, d, acc);
            if (pg) {
                #pragma omp simd
                for (int j = 0; j < d; j++) {
                    pg[j] += (double)dyr[j] * ((xr[j] - mu) * rs);
                    pb[j] += dyr[j];
                }
            }
        }
    }
    if (part) {
        for (int j = 0; j < d; j++) {
            double sg = 0.0, sb = 0.0;
            for (int c = 0; c < nch; c++) {
                sg += part[(size_t)c * 2 * d + j];
                sb += part[(size_t)c * 2 * d + d + j];
            }
            if (dgamma) dgamma[j] += (float)sg;
            if (dbeta) dbeta[j] += (float)sb;
        }
        free(part);
    }
}
