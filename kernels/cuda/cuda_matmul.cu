/* kernels/cuda/cuda_matmul.cu — the matrix products on cuBLAS (cublasSgemm, fp32): frozen Linear
 * forward/backward and the learnable dense layer's backward, with the bias rows and the bias
 * gradient's column sums as small kernels. Same semantics as kernels/cpu/cpu_matmul.c. */
#include "kernels/cuda/cuda_common.cuh"
#include "kernels/op_checks.h"

/* y[r, j] = bias[j] (add == 0) or y[r, j] += bias[j] for r < n, j < m */
static __global__ void bias_rows_kernel(float *y, const float *bias, int n, int m, int add) {
    CU_GRID_STRIDE(i, (size_t)n * m) {
        float b = bias[i % (size_t)m];
        y[i] = add ? y[i] + b : b;
    }
}

extern "C" void cuda_op_matmul(float *y, const float *x, const float *w, const float *bias,
                               int n, int k, int m, KWLayout layout, int acc) {
    k_check_dims("op_matmul", n, k, m);
    k_check_layout("op_matmul", layout);
    CU_CHECK_PTR("op_matmul", y);
    CU_CHECK_PTR("op_matmul", x);
    CU_CHECK_PTR("op_matmul", w);
    float beta = acc ? 1.0f : 0.0f;
    if (bias) { /* put the bias into y first, then let the product add to it */
        bias_rows_kernel<<<cu_blocks((size_t)n * m), CU_THREADS, 0, cu_stream()>>>(y, bias, n, m,
                                                                                  acc);
        CUDA_CHECK_LAUNCH();
        beta = 1.0f;
    }
    if (layout == K_W_OUT_IN) /* W [m,k]: y = x·Wᵀ */
        cu_gemm_rm(CUBLAS_OP_N, CUBLAS_OP_T, n, m, k, 1.0f, x, k, w, k, beta, y, m);
    else                      /* W [k,m]: y = x·W */
        cu_gemm_rm(CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, 1.0f, x, k, w, m, beta, y, m);
}

extern "C" void cuda_op_matmul_backward(float *dx, const float *dy, const float *w, int n, int k,
                                        int m, KWLayout layout, int acc) {
    k_check_dims("op_matmul_backward", n, k, m);
    k_check_layout("op_matmul_backward", layout);
    CU_CHECK_PTR("op_matmul_backward", dx);
    CU_CHECK_PTR("op_matmul_backward", dy);
    CU_CHECK_PTR("op_matmul_backward", w);
    float beta = acc ? 1.0f : 0.0f;
    if (layout == K_W_OUT_IN) /* W [m,k]: dx = dy·W */
        cu_gemm_rm(CUBLAS_OP_N, CUBLAS_OP_N, n, k, m, 1.0f, dy, m, w, k, beta, dx, k);
    else                      /* W [k,m]: dx = dy·Wᵀ */
        cu_gemm_rm(CUBLAS_OP_N, CUBLAS_OP_T, n, k, m, 1.0f, dy, m, w, m, beta, dx, k);
}

extern "C" void cuda_op_dense_backward(float *dx, float *dw, float *db, const float *dy,
                                       const float *x, const float *w, int n, int k, int m,
                                       int acc) {
    k_check_dims("op_dense_backward", n, k, m);
    CU_CHECK_PTR("op_dense_backward", dy);
    if (dw) { /* dw[m,k] += dyᵀ·x */
        CU_CHECK_PTR("op_dense_backward", x);
        cu_gemm_rm(CUBLAS_OP_T, CUBLAS_OP_N, m, k, n, 1.0f, dy, m, x, k, 1.0f, dw, k);
    }
    if (db) cu_column_sums(db, dy, (size_t)m, n, (size_t)m, 1); /* db[m] += Σ_rows dy */
    if (dx) cuda_op_matmul_backward(dx, dy, w, n, k, m, K_W_OUT_IN, acc);
}
