/* kernels/cuda/cuda_loss.cu — mean softmax cross-entropy (log-sum-exp in double, one block per
 * row; the row losses are summed on the host in row order) with its logit gradient, the dot
 * product of two tensors (one block, in double), and the
 * feature L2 normalisation x/‖x‖ (no epsilon, as OpenAI CLIP) with its backward. Same
 * semantics as kernels/cpu/cpu_loss.c. */
#include <stdlib.h>  // defines: free

#include "kernels/cuda/cuda_common.cuh"

enum { ROW_THREADS = 256 };

static __global__ void cross_entropy_kernel(double *row_loss, float *dlogits,
                                            const float *logits, const int *labels, int C,
                                            double gscale) {
    const size_t i = blockIdx.x;
    const float *l = logits + i * C;
    /* read before the reductions' barriers: with dlogits == logits (in place) the gradient
     * loop below overwrites the row */
    const int label = labels[i];
    const float l_label = l[label];
    float mx = -INFINITY;
    for (int c = threadIdx.x; c < C; c += blockDim.x) mx = fmaxf(mx, l[c]);
    mx = cu_block_max(mx);
    double s = 0.0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) s += exp((double)l[c] - mx);
    s = cu_block_sum(s);
    double lse = mx + log(s);
    if (threadIdx.x == 0) row_loss[i] = lse - l_label;
    if (dlogits) {
        float *g = dlogits + i * C;
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            double p = exp((double)l[c] - lse);
            g[c] = (float)((p - (c == label ? 1.0 : 0.0)) * gscale);
        }
    }
}

extern "C" double cuda_op_cross_entropy(float *dlogits, const float *logits, const int *labels,
                                        int B, int C, float grad_scale) {
    if (B <= 0 || C <= 0) cg_fatal("op_cross_entropy: B=%d C=%d must be positive", B, C);
    CU_CHECK_PTR("op_cross_entropy", logits);
    CU_CHECK_PTR("op_cross_entropy", labels);
    for (int i = 0; i < B; i++)
        if (labels[i] < 0 || labels[i] >= C)
            cg_fatal("op_cross_entropy: labels[%d]=%d must be in [0, %d)", i, labels[i], C);
    int *dlabels = cu_upload_ints(labels, (size_t)B);
    double *drow = (double *)cu_scratch_alloc((size_t)B * sizeof(double));
    double gscale = (double)grad_scale / B;
    cross_entropy_kernel<<<B, ROW_THREADS, 0, cu_stream()>>>(drow, dlogits, logits, dlabels, C,
                                                             gscale);
    CUDA_CHECK_LAUNCH();
    double *row_loss = (double *)malloc((size_t)B * sizeof(double));
    if (!row_loss) cg_fatal("op_cross_entropy: out of host memory for %d row losses", B);
    CUDA_CHECK(cudaMemcpyAsync(row_loss, drow, (size_t)B * sizeof(double),
                               cudaMemcpyDeviceToHost, cu_stream()));
    CUDA_CHECK(cudaStreamSynchronize(cu_stream()));
    cu_scratch_free(drow);
    cu_scratch_free(dlabels);
    double loss = 0.0;
    for (int i = 0; i < B; i++) loss += row_loss[i]; /* fixed order: deterministic */
    free(row_loss);
    return loss / B;
}

/* Σ a·b in double by one block (deterministic: fixed strides, fixed reduction tree) */
static __global__ void dot_kernel(double *out, const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = threadIdx.x; i < n; i += blockDim.x) s += (double)a[i] * b[i];
    s = cu_block_sum(s);
    if (threadIdx.x == 0) *out = s;
}

extern "C" double cuda_op_dot(const float *a, const float *b, size_t n) {
    CU_CHECK_PTR("op_dot", a);
    CU_CHECK_PTR("op_dot", b);
    double *dout = (double *)cu_scratch_alloc(sizeof(double)), s = 0.0;
    dot_kernel<<<1, ROW_THREADS, 0, cu_stream()>>>(dout, a, b, n);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cudaMemcpyAsync(&s, dout, sizeof(double), cudaMemcpyDeviceToHost, cu_stream()));
    CUDA_CHECK(cudaStreamSynchronize(cu_stream()));
    cu_scratch_free(dout);
    return s;
}

static __global__ void l2norm_kernel(float *y, float *norms, const float *x, int d) {
    const size_t r = blockIdx.x;
    const float *xr = x + r * d;
    float *yr = y + r * d;
    double s = 0.0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) s += (double)xr[j] * xr[j];
    s = cu_block_sum(s);
    double nrm = sqrt(s);
    float inv = (float)(1.0 / nrm);
    if (norms && threadIdx.x == 0) norms[r] = (float)nrm;
    for (int j = threadIdx.x; j < d; j += blockDim.x) yr[j] = xr[j] * inv;
}

extern "C" void cuda_op_l2norm(float *y, float *norms, const float *x, int n, int d) {
    if (n <= 0 || d <= 0) cg_fatal("op_l2norm: n=%d d=%d must be positive", n, d);
    CU_CHECK_PTR("op_l2norm", y);
    CU_CHECK_PTR("op_l2norm", x);
    l2norm_kernel<<<n, ROW_THREADS, 0, cu_stream()>>>(y, norms, x, d);
    CUDA_CHECK_LAUNCH();
}

/* dx (+)= (dy − y·(y·dy))/‖x‖, rounded step by step as the CPU backend (built as ISO C, which
 * contracts nothing): the _rn intrinsics keep nvcc from fusing them into FMAs, whose different
 * rounding is amplified where dy − y·(y·dy) cancels */
static __global__ void l2norm_backward_kernel(float *dx, const float *dy, const float *y,
                                              const float *norms, int d, int acc) {
    const size_t r = blockIdx.x;
    const float *yr = y + r * d, *gr = dy + r * d;
    float *dr = dx + r * d;
    double s = 0.0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) s += (double)yr[j] * gr[j];
    s = cu_block_sum(s);
    float yd = (float)s, inv = 1.0f / norms[r];
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float v = __fmul_rn(__fsub_rn(gr[j], __fmul_rn(yr[j], yd)), inv);
        dr[j] = acc ? dr[j] + v : v;
    }
}

extern "C" void cuda_op_l2norm_backward(float *dx, const float *dy, const float *y,
                                        const float *norms, int n, int d, int acc) {
    if (n <= 0 || d <= 0) cg_fatal("op_l2norm_backward: n=%d d=%d must be positive", n, d);
    CU_CHECK_PTR("op_l2norm_backward", dx);
    CU_CHECK_PTR("op_l2norm_backward", dy);
    CU_CHECK_PTR("op_l2norm_backward", y);
    CU_CHECK_PTR("op_l2norm_backward", norms);
    l2norm_backward_kernel<<<n, ROW_THREADS, 0, cu_stream()>>>(dx, dy, y, norms, d, acc);
    CUDA_CHECK_LAUNCH();
}
