/* kernels/cuda/cuda_rows.cu — token-row movement on the GPU: gather and its adjoint scatter-add
 * (deterministic: one thread per column walks the rows in order), batched copy with broadcast,
 * the batched sum (column sums in double), and the im2col of the patch embedding. Host index
 * arrays are checked on the host and uploaded to scratch. Same semantics as cpu_rows.c. */
#include "kernels/cuda/cuda_common.cuh"

static void check_indices(const char *fn, const int *idx, int n) {
    for (int i = 0; i < n; i++)
        if (idx[i] < 0) cg_fatal("%s: idx[%d]=%d must be >= 0", fn, i, idx[i]);
}

/* ---- column sums (shared with the dense layer's bias gradient) ------------------------------
 * Two passes, both deterministic: partial sums in double over chunks of CU_COL_CHUNK rows
 * (block column (x, chunk y)), then each column adds its chunks in order. */

enum { CU_COL_CHUNK = 256 };

static __global__ void column_partials_kernel(double *part, const float *src, size_t stride,
                                              int rows, size_t cols) {
    size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols) return;
    int r0 = blockIdx.y * CU_COL_CHUNK, r1 = min(rows, r0 + CU_COL_CHUNK);
    double s = 0.0;
    for (int r = r0; r < r1; r++) s += src[(size_t)r * stride + j];
    part[(size_t)blockIdx.y * cols + j] = s;
}

static __global__ void column_finish_kernel(float *dst, const double *part, int chunks,
                                            size_t cols, int acc) {
    CU_GRID_STRIDE(j, cols) {
        double s = 0.0;
        for (int c = 0; c < chunks; c++) s += part[(size_t)c * cols + j];
        dst[j] = acc ? dst[j] + (float)s : (float)s;
    }
}

void cu_column_sums(float *dst, const float *src, size_t stride, int rows, size_t cols, int acc) {
    if (cols == 0 || rows <= 0) return;
    int chunks = (rows + CU_COL_CHUNK - 1) / CU_COL_CHUNK;
    if (chunks > 65535) cg_fatal("column sums: %d rows exceed the grid (at most %d)", rows,
                                 65535 * CU_COL_CHUNK);
    double *part = (double *)cu_scratch_alloc((size_t)chunks * cols * sizeof(double));
    dim3 grid((unsigned)((cols + CU_THREADS - 1) / CU_THREADS), (unsigned)chunks);
    column_partials_kernel<<<grid, CU_THREADS, 0, cu_stream()>>>(part, src, stride, rows, cols);
    CUDA_CHECK_LAUNCH();
    column_finish_kernel<<<cu_blocks(cols), CU_THREADS, 0, cu_stream()>>>(dst, part, chunks, cols,
                                                                           acc);
    CUDA_CHECK_LAUNCH();
    cu_scratch_free(part);
}

/* ---- gather / scatter ---------------------------------------------------------------------- */

static __global__ void gather_kernel(float *dst, const float *src, const int *idx, int n, int d) {
    CU_GRID_STRIDE(e, (size_t)n * d) {
        size_t i = e / (size_t)d, j = e % (size_t)d;
        dst[e] = src[(size_t)idx[i] * d + j];
    }
}

extern "C" void cuda_op_gather_rows(float *dst, const float *src, const int *idx, int n, int d) {
    if (n <= 0 || d <= 0) cg_fatal("op_gather_rows: n=%d d=%d must be positive", n, d);
    CU_CHECK_PTR("op_gather_rows", dst);
    CU_CHECK_PTR("op_gather_rows", src);
    CU_CHECK_PTR("op_gather_rows", idx);
    check_indices("op_gather_rows", idx, n);
    int *didx = cu_upload_ints(idx, (size_t)n);
    gather_kernel<<<cu_blocks((size_t)n * d), CU_THREADS, 0, cu_stream()>>>(dst, src, didx, n, d);
    CUDA_CHECK_LAUNCH();
    cu_scratch_free(didx);
}

/* indices may repeat: each destination column is updated by one thread, in the order of i */
static __global__ void scatter_add_kernel(float *dst, const float *src, const int *idx, int n,
                                          int d) {
    CU_GRID_STRIDE(j, (size_t)d) {
        for (int i = 0; i < n; i++) dst[(size_t)idx[i] * d + j] += src[(size_t)i * d + j];
    }
}

extern "C" void cuda_op_scatter_add_rows(float *dst, const float *src, const int *idx, int n,
                                         int d) {
    if (n <= 0 || d <= 0) cg_fatal("op_scatter_add_rows: n=%d d=%d must be positive", n, d);
    CU_CHECK_PTR("op_scatter_add_rows", dst);
    CU_CHECK_PTR("op_scatter_add_rows", src);
    CU_CHECK_PTR("op_scatter_add_rows", idx);
    check_indices("op_scatter_add_rows", idx, n);
    int *didx = cu_upload_ints(idx, (size_t)n);
    scatter_add_kernel<<<cu_blocks((size_t)d), CU_THREADS, 0, cu_stream()>>>(dst, src, didx, n, d);
    CUDA_CHECK_LAUNCH();
    cu_scratch_free(didx);
}

/* ---- batched copy and sum ------------------------------------------------------------------ */

static __global__ void copy_batched_kernel(float *dst, size_t dst_bs, const float *src,
                                           size_t src_bs, int B, size_t n, int acc) {
    CU_GRID_STRIDE(e, (size_t)B * n) {
        size_t b = e / n, j = e % n;
        float v = src[b * src_bs + j];
        float *o = dst + b * dst_bs + j;
        *o = acc ? *o + v : v;
    }
}

extern "C" void cuda_op_copy_batched(float *dst, size_t dst_bs, const float *src, size_t src_bs,
                                     int B, size_t n, int acc) {
    if (B <= 0) cg_fatal("op_copy_batched: B=%d must be positive", B);
    if (n == 0) return;
    CU_CHECK_PTR("op_copy_batched", dst);
    CU_CHECK_PTR("op_copy_batched", src);
    copy_batched_kernel<<<cu_blocks((size_t)B * n), CU_THREADS, 0, cu_stream()>>>(
        dst, dst_bs, src, src_bs, B, n, acc);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_op_sum_batched(float *dst, const float *src, size_t src_bs, int B, size_t n,
                                    int acc) {
    if (B <= 0) cg_fatal("op_sum_batched: B=%d must be positive", B);
    if (n == 0) return;
    CU_CHECK_PTR("op_sum_batched", dst);
    CU_CHECK_PTR("op_sum_batched", src);
    cu_column_sums(dst, src, src_bs, B, n, acc);
}

/* ---- im2col -------------------------------------------------------------------------------- */

/* cols[(b*g*g + pr*g + pc) * 3p² + (ch*p + i)*p + jj] = img[b, ch, pr*p + i, pc*p + jj] */
static __global__ void im2col_kernel(float *cols, const float *img, int B, int R, int p) {
    const int g = R / p;
    const size_t row = (size_t)3 * p * p, plane = (size_t)R * R;
    CU_GRID_STRIDE(e, (size_t)B * g * g * row) {
        size_t patch = e / row, col = e % row;
        size_t b = patch / ((size_t)g * g), pr = (patch / g) % g, pc = patch % g;
        size_t ch = col / ((size_t)p * p), i = (col / p) % p, jj = col % p;
        cols[e] = img[(b * 3 + ch) * plane + (pr * p + i) * R + pc * p + jj];
    }
}

extern "C" void cuda_op_im2col_patches(float *cols, const float *img, int B, int R, int p) {
    if (B <= 0 || R <= 0 || p <= 0 || R % p != 0)
        cg_fatal("op_im2col_patches: B=%d R=%d p=%d must be positive with R a multiple of p",
                 B, R, p);
    CU_CHECK_PTR("op_im2col_patches", cols);
    CU_CHECK_PTR("op_im2col_patches", img);
    size_t total = (size_t)B * 3 * R * R; /* = B·g²·3p² */
    im2col_kernel<<<cu_blocks(total), CU_THREADS, 0, cu_stream()>>>(cols, img, B, R, p);
    CUDA_CHECK_LAUNCH();
}
