/* kernels/cuda/cuda_common.cuh — private helpers of the CUDA backend: checks of every CUDA and
 * cuBLAS call (file:line, the call, the library's own message), the backend's stream and cuBLAS
 * handle, device scratch memory from the caching allocator, host-array uploads, launch sizes,
 * row-major cuBLAS products and block reductions. Only the .cu files of kernels/cuda include it. */
#ifndef CLIPGRID_KERNELS_CUDA_COMMON_CUH
#define CLIPGRID_KERNELS_CUDA_COMMON_CUH

#include <cublas_v2.h>     // defines: cublasHandle_t, cublasSgemm, cublasGetStatusString
#include <cuda_runtime.h>  // defines: cudaStream_t, cudaGetErrorString
#include <stddef.h>

#include "kernels/backend.h"  // defines: the cuda_* prototypes (extern "C"), kernels/ops.h

#include "base/util.h"        // defines: cg_fatal, cg_error_set (C linkage under nvcc)

/* ---- checks: one generic macro, one function per library --------------------------------- */

static inline void cu_check_cuda(cudaError_t e, const char *call, const char *file, int line) {
    if (e != cudaSuccess)
        cg_fatal("%s:%d: %s failed: %s (%s)", file, line, call, cudaGetErrorString(e),
                 cudaGetErrorName(e));
}

static inline void cu_check_cublas(cublasStatus_t s, const char *call, const char *file,
                                   int line) {
    if (s != CUBLAS_STATUS_SUCCESS)
        cg_fatal("%s:%d: %s failed: %s (cuBLAS status %d)", file, line, call,
                 cublasGetStatusString(s), (int)s);
}

#define CU_CHECK_GEN(fn, call) fn((call), #call, __FILE__, __LINE__)
#define CUDA_CHECK(call) CU_CHECK_GEN(cu_check_cuda, call)
#define CUBLAS_CHECK(call) CU_CHECK_GEN(cu_check_cublas, call)
/* after every kernel launch: launch-configuration errors are reported here, at the launch */
#define CUDA_CHECK_LAUNCH() CU_CHECK_GEN(cu_check_cuda, cudaGetLastError())

#define CU_CHECK_PTR(fn, p) \
    do { if (!(p)) cg_fatal("%s: argument %s must not be NULL", (fn), #p); } while (0)

/* ---- backend state (kernels/cuda/cuda_backend.cu) ------------------------------------------ */

cudaStream_t cu_stream(void);
cublasHandle_t cu_blas(void);
/* The frozen weights' copy at precision p (K_PREC_TF32: fp32 rounded to tf32; K_PREC_BF16 /
 * K_PREC_FP16: 16-bit values) of the n floats at w, when they lie inside a range declared with
 * k_weights_frozen: made on first use, kept until that allocation is freed. NULL otherwise. */
const void *cu_frozen_copy(const float *w, size_t n, KPrecision p);
/* n floats converted to precision p into `dst` (fp32 rounded to tf32, or bf16/fp16), on the
 * backend's stream */
void cu_convert(void *dst, const float *src, size_t n, KPrecision p);
/* device scratch of `bytes` from the caching allocator (not zeroed); give back with
 * cu_scratch_free. Work on the one stream is ordered, so a block freed after enqueuing the work
 * that uses it may be handed out again at once. */
void *cu_scratch_alloc(size_t bytes);
void cu_scratch_free(void *p);
/* a device copy of a host int array (scratch: free with cu_scratch_free) */
int *cu_upload_ints(const int *host, size_t n);

/* ---- launches ------------------------------------------------------------------------------ */

enum { CU_THREADS = 256 };

/* blocks for a grid-stride loop over n elements */
static inline unsigned cu_blocks(size_t n) {
    size_t b = (n + CU_THREADS - 1) / CU_THREADS;
    if (b < 1) b = 1;
    if (b > 65535u * 16u) b = 65535u * 16u;
    return (unsigned)b;
}

#define CU_GRID_STRIDE(i, n)                                                           \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n);    \
         i += (size_t)gridDim.x * blockDim.x)

/* ---- row-major products over cuBLAS (column-major): C = A·B in row-major is Cᵀ = Bᵀ·Aᵀ in
 * column-major, so the operands swap places and keep their transpose flags. C is fp32. ------ */

/* C[M,N] = alpha·op(A)[M,K]·op(B)[K,N] + beta·C, row-major with row strides lda, ldb, ldc; A
 * and B of type `ab` (CUDA_R_32F, CUDA_R_16BF or CUDA_R_16F), arithmetic `ct` */
static inline void cu_gemm_rm_ex(cublasOperation_t ta, cublasOperation_t tb, int M, int N, int K,
                                 float alpha, const void *A, int lda, const void *B, int ldb,
                                 cudaDataType ab, cublasComputeType_t ct, float beta, float *C,
                                 int ldc) {
    CUBLAS_CHECK(cublasGemmEx(cu_blas(), tb, ta, N, M, K, &alpha, B, ab, ldb, A, ab, lda, &beta,
                              C, CUDA_R_32F, ldc, ct, CUBLAS_GEMM_DEFAULT));
}

/* the same in exact fp32 (no tensor-core rounding) */
static inline void cu_gemm_rm(cublasOperation_t ta, cublasOperation_t tb, int M, int N, int K,
                              float alpha, const float *A, int lda, const float *B, int ldb,
                              float beta, float *C, int ldc) {
    cu_gemm_rm_ex(ta, tb, M, N, K, alpha, A, lda, B, ldb, CUDA_R_32F, CUBLAS_COMPUTE_32F, beta, C,
                  ldc);
}

/* `count` products as cu_gemm_rm (fp32: attention's products are not rounded), operand i at
 * A + i*sa, B + i*sb, C + i*sc (in calls of at most 65535: some cuBLAS kernels put the batch on
 * the grid's y/z dimension) */
static inline void cu_gemm_rm_batched(cublasOperation_t ta, cublasOperation_t tb, int M, int N,
                                      int K, float alpha, const float *A, int lda, size_t sa,
                                      const float *B, int ldb, size_t sb, float beta, float *C,
                                      int ldc, size_t sc, int count) {
    for (int i0 = 0; i0 < count; i0 += 65535) {
        int cnt = count - i0 < 65535 ? count - i0 : 65535;
        CUBLAS_CHECK(cublasGemmStridedBatchedEx(
            cu_blas(), tb, ta, N, M, K, &alpha, B + (size_t)i0 * sb, CUDA_R_32F, ldb,
            (long long)sb, A + (size_t)i0 * sa, CUDA_R_32F, lda, (long long)sa, &beta,
            C + (size_t)i0 * sc, CUDA_R_32F, ldc, (long long)sc, cnt, CUBLAS_COMPUTE_32F,
            CUBLAS_GEMM_DEFAULT));
    }
}

/* ---- block reductions (blockDim.x a multiple of 32, at most 1024); every thread gets the
 * result. Safe to call repeatedly in one kernel. -------------------------------------------- */

template <typename T>
__device__ inline T cu_block_sum(T v) {
    __shared__ T part[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    __syncthreads(); /* a previous call's readers are done with part[] */
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    T s = 0;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) s += part[w]; /* same order everywhere */
    return s;
}

__device__ inline float cu_block_max(float v) {
    __shared__ float part[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    __syncthreads();
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    float m = -INFINITY;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) m = fmaxf(m, part[w]);
    return m;
}

/* dst[j] (=, or += when acc) Σ_r src[r*stride + j] for j < cols, r < rows, each column summed
 * in double in the order of r (deterministic). kernels/cuda/cuda_rows.cu. */
void cu_column_sums(float *dst, const float *src, size_t stride, int rows, size_t cols, int acc);

#endif
