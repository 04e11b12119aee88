/* kernels/cuda/cuda_layernorm.cu — LayerNorm over rows (biased variance, eps given) and its
 * backward on the GPU: one block per row, row statistics accumulated in double as the CPU
 * backend does; the optional γ/β gradients as deterministic column sums (partials over chunks
 * of rows in double, then the chunks in order). Same semantics as cpu_layernorm.c. */
#include "kernels/cuda/cuda_common.cuh"

enum { LN_THREADS = 256, LN_CHUNK = 256, LN_MAX_GRID_Y = 65535 };

/* The per-element formulas are rounded step by step as in the CPU backend (ISO C: no
 * contraction): the _rn intrinsics keep nvcc from fusing a product and a sum into an FMA, so the
 * same row statistics give the same outputs bit for bit. */

static __global__ void layernorm_kernel(float *y, float *mean, float *rstd, const float *x,
                                        const float *gamma, const float *beta, int d, float eps) {
    const size_t r = blockIdx.x;
    const float *xr = x + r * d;
    float *yr = y + r * d;
    double s = 0.0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) s += xr[j];
    double mu = cu_block_sum(s) / d, v = 0.0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        double t = xr[j] - mu;
        v += t * t;
    }
    v = cu_block_sum(v);
    float m = (float)mu, rs = (float)(1.0 / sqrt(v / d + (double)eps));
    if (threadIdx.x == 0) {
        if (mean) mean[r] = m;
        if (rstd) rstd[r] = rs;
    }
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float t = __fmul_rn(__fmul_rn(xr[j] - m, rs), gamma ? gamma[j] : 1.0f);
        yr[j] = __fadd_rn(t, beta ? beta[j] : 0.0f);
    }
}

extern "C" void cuda_op_layernorm(float *y, float *mean, float *rstd, const float *x,
                                  const float *gamma, const float *beta, int n, int d,
                                  float eps) {
    if (n <= 0 || d <= 0) cg_fatal("op_layernorm: n=%d d=%d must be positive", n, d);
    if (!(eps >= 0.0f)) cg_fatal("op_layernorm: eps=%g must be >= 0", (double)eps);
    CU_CHECK_PTR("op_layernorm", y);
    CU_CHECK_PTR("op_layernorm", x);
    layernorm_kernel<<<n, LN_THREADS, 0, cu_stream()>>>(y, mean, rstd, x, gamma, beta, d, eps);
    CUDA_CHECK_LAUNCH();
}

/* dx of one row: r·(g − mean(g) − x̂·mean(g⊙x̂)), g = dy⊙γ */
static __global__ void layernorm_dx_kernel(float *dx, const float *dy, const float *x,
                                           const float *mean, const float *rstd,
                                           const float *gamma, int d, int acc) {
    const size_t r = blockIdx.x;
    const float *dyr = dy + r * d, *xr = x + r * d;
    float *dxr = dx + r * d;
    const float mu = mean[r], rs = rstd[r];
    double sg = 0.0, sgx = 0.0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float g = dyr[j] * (gamma ? gamma[j] : 1.0f);
        float xh = (xr[j] - mu) * rs;
        sg += g;
        sgx += (double)g * xh;
    }
    sg = cu_block_sum(sg);
    sgx = cu_block_sum(sgx);
    float mg = (float)(sg / d), mgx = (float)(sgx / d);
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float g = dyr[j] * (gamma ? gamma[j] : 1.0f);
        float xh = (xr[j] - mu) * rs;
        float v = __fmul_rn(rs, __fsub_rn(g - mg, __fmul_rn(xh, mgx)));
        dxr[j] = acc ? dxr[j] + v : v;
    }
}

/* part[c][0][j] = Σ dy⊙x̂, part[c][1][j] = Σ dy over the rows of chunk c (chunks blockIdx.y,
 * blockIdx.y + gridDim.y, ...: any number of rows) */
static __global__ void layernorm_param_partials_kernel(double *part, const float *dy,
                                                       const float *x, const float *mean,
                                                       const float *rstd, int n, int d,
                                                       int chunks) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= d) return;
    for (int c = blockIdx.y; c < chunks; c += gridDim.y) {
        int r0 = c * LN_CHUNK, r1 = min(n, r0 + LN_CHUNK);
        double sg = 0.0, sb = 0.0;
        for (int r = r0; r < r1; r++) {
            float g = dy[(size_t)r * d + j];
            sg += (double)g * ((x[(size_t)r * d + j] - mean[r]) * rstd[r]);
            sb += g;
        }
        double *pc = part + (size_t)c * 2 * d;
        pc[j] = sg;
        pc[d + j] = sb;
    }
}

static __global__ void layernorm_param_finish_kernel(float *dgamma, float *dbeta,
                                                     const double *part, int chunks, int d) {
    CU_GRID_STRIDE(j, (size_t)d) {
        double sg = 0.0, sb = 0.0;
        for (int c = 0; c < chunks; c++) {
            sg += part[(size_t)c * 2 * d + j];
            sb += part[(size_t)c * 2 * d + d + j];
        }
        if (dgamma) dgamma[j] += (float)sg;
        if (dbeta) dbeta[j] += (float)sb;
    }
}

extern "C" void cuda_op_layernorm_backward(float *dx, float *dgamma, float *dbeta,
                                           const float *dy, const float *x, const float *mean,
                                           const float *rstd, const float *gamma, int n, int d,
                                           int acc) {
    if (n <= 0 || d <= 0) cg_fatal("op_layernorm_backward: n=%d d=%d must be positive", n, d);
    CU_CHECK_PTR("op_layernorm_backward", dy);
    CU_CHECK_PTR("op_layernorm_backward", x);
    CU_CHECK_PTR("op_layernorm_backward", mean);
    CU_CHECK_PTR("op_layernorm_backward", rstd);
    if (dx) {
        layernorm_dx_kernel<<<n, LN_THREADS, 0, cu_stream()>>>(dx, dy, x, mean, rstd, gamma, d,
                                                               acc);
        CUDA_CHECK_LAUNCH();
    }
    if (dgamma || dbeta) {
        int chunks = (n + LN_CHUNK - 1) / LN_CHUNK;
        double *part = (double *)cu_scratch_alloc((size_t)chunks * 2 * d * sizeof(double));
        dim3 grid((unsigned)((d + CU_THREADS - 1) / CU_THREADS),
                  (unsigned)(chunks < LN_MAX_GRID_Y ? chunks : LN_MAX_GRID_Y));
        layernorm_param_partials_kernel<<<grid, CU_THREADS, 0, cu_stream()>>>(part, dy, x, mean,
                                                                             rstd, n, d, chunks);
        CUDA_CHECK_LAUNCH();
        layernorm_param_finish_kernel<<<cu_blocks((size_t)d), CU_THREADS, 0, cu_stream()>>>(
            dgamma, dbeta, part, chunks, d);
        CUDA_CHECK_LAUNCH();
        cu_scratch_free(part);
    }
}
