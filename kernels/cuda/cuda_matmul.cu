/* kernels/cuda/cuda_matmul.cu — the matrix products on cuBLAS: frozen Linear forward/backward
 * and the learnable dense layer's backward, with the bias rows and the bias gradient's column
 * sums as small kernels. Same semantics as kernels/cpu/cpu_matmul.c.
 *
 * Precision (k_set_matmul_precision): fp32 runs cublasGemmEx in exact fp32. At tf32, bf16 and
 * fp16 both operands are converted first (round to nearest even: tf32 values kept in fp32
 * storage, bf16/fp16 as 16-bit arrays), from the frozen-weights cache when the operand is a
 * declared frozen weight (cu_frozen_copy), else into scratch; cuBLAS then multiplies the
 * converted values on the tensor cores and accumulates in fp32, into an fp32 output. */
#include "kernels/cuda/cuda_common.cuh"
#include "kernels/op_checks.h"

/* One operand of a product at the current precision: its data, cuBLAS type, and the scratch
 * to give back (NULL when it is the fp32 tensor itself or a frozen copy). */
typedef struct {
    const void *p;
    void *scratch;
} MmOperand;

static size_t elem_bytes(KPrecision p) {
    return p == K_PREC_BF16 || p == K_PREC_FP16 ? 2 : 4;
}

static cudaDataType operand_type(KPrecision p) {
    return p == K_PREC_BF16 ? CUDA_R_16BF : p == K_PREC_FP16 ? CUDA_R_16F : CUDA_R_32F;
}

/* tf32 inputs are already tf32 values: the tensor cores' own conversion of them is exact */
static cublasComputeType_t compute_type(KPrecision p) {
    return p == K_PREC_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

static MmOperand operand(const float *a, size_t n, int frozen_ok) {
    KPrecision p = k_precision();
    if (p == K_PREC_FP32) return MmOperand{a, NULL};
    const void *c = frozen_ok ? cu_frozen_copy(a, n, p) : NULL;
    if (c) return MmOperand{c, NULL};
    void *s = cu_scratch_alloc(n * elem_bytes(p));
    cu_convert(s, a, n, p);
    return MmOperand{s, s};
}

/* C[M,N] = op(A)·op(B) + beta·C at the current precision, A and B converted from fp32; B may
 * be a frozen weight */
static void gemm_p(cublasOperation_t ta, cublasOperation_t tb, int M, int N, int K,
                   const float *A, size_t na, int lda, const float *B, size_t nb, int ldb,
                   int b_frozen, float beta, float *C, int ldc) {
    KPrecision p = k_precision();
    MmOperand a = operand(A, na, 0), b = operand(B, nb, b_frozen);
    cu_gemm_rm_ex(ta, tb, M, N, K, 1.0f, a.p, lda, b.p, ldb, operand_type(p), compute_type(p),
                  beta, C, ldc);
    if (a.scratch) cu_scratch_free(a.scratch); /* the stream orders the reuse after the gemm */
    if (b.scratch) cu_scratch_free(b.scratch);
}

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
    size_t nx = (size_t)n * k, nw = (size_t)m * k;
    if (layout == K_W_OUT_IN) /* W [m,k]: y = x·Wᵀ */
        gemm_p(CUBLAS_OP_N, CUBLAS_OP_T, n, m, k, x, nx, k, w, nw, k, 1, beta, y, m);
    else                      /* W [k,m]: y = x·W */
        gemm_p(CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, x, nx, k, w, nw, m, 1, beta, y, m);
}

extern "C" void cuda_op_matmul_backward(float *dx, const float *dy, const float *w, int n, int k,
                                        int m, KWLayout layout, int acc) {
    k_check_dims("op_matmul_backward", n, k, m);
    k_check_layout("op_matmul_backward", layout);
    CU_CHECK_PTR("op_matmul_backward", dx);
    CU_CHECK_PTR("op_matmul_backward", dy);
    CU_CHECK_PTR("op_matmul_backward", w);
    float beta = acc ? 1.0f : 0.0f;
    size_t ndy = (size_t)n * m, nw = (size_t)m * k;
    if (layout == K_W_OUT_IN) /* W [m,k]: dx = dy·W */
        gemm_p(CUBLAS_OP_N, CUBLAS_OP_N, n, k, m, dy, ndy, m, w, nw, k, 1, beta, dx, k);
    else                      /* W [k,m]: dx = dy·Wᵀ */
        gemm_p(CUBLAS_OP_N, CUBLAS_OP_T, n, k, m, dy, ndy, m, w, nw, m, 1, beta, dx, k);
}

extern "C" void cuda_op_dense_backward(float *dx, float *dw, float *db, const float *dy,
                                       const float *x, const float *w, int n, int k, int m,
                                       int acc) {
    k_check_dims("op_dense_backward", n, k, m);
    CU_CHECK_PTR("op_dense_backward", dy);
    if (dw) { /* dw[m,k] += dyᵀ·x */
        CU_CHECK_PTR("op_dense_backward", x);
        gemm_p(CUBLAS_OP_T, CUBLAS_OP_N, m, k, n, dy, (size_t)n * m, m, x, (size_t)n * k, k, 0,
               1.0f, dw, k);
    }
    if (db) cu_column_sums(db, dy, (size_t)m, n, (size_t)m, 1); /* db[m] += Σ_rows dy */
    if (dx) cuda_op_matmul_backward(dx, dy, w, n, k, m, K_W_OUT_IN, acc);
}

extern "C" void cuda_op_matmul_weight_grad(float *dw, float *db, const float *dy, const float *x,
                                           int n, int k, int m, KWLayout layout) {
    k_check_dims("op_matmul_weight_grad", n, k, m);
    k_check_layout("op_matmul_weight_grad", layout);
    CU_CHECK_PTR("op_matmul_weight_grad", dw);
    CU_CHECK_PTR("op_matmul_weight_grad", dy);
    CU_CHECK_PTR("op_matmul_weight_grad", x);
    size_t ndy = (size_t)n * m, nx = (size_t)n * k;
    if (layout == K_W_OUT_IN) /* dw[m,k] += dyᵀ·x */
        gemm_p(CUBLAS_OP_T, CUBLAS_OP_N, m, k, n, dy, ndy, m, x, nx, k, 0, 1.0f, dw, k);
    else                      /* dw[k,m] += xᵀ·dy */
        gemm_p(CUBLAS_OP_T, CUBLAS_OP_N, k, m, n, x, nx, k, dy, ndy, m, 0, 1.0f, dw, m);
    if (db) cu_column_sums(db, dy, (size_t)m, n, (size_t)m, 1); /* db[m] += Σ_rows dy */
}
