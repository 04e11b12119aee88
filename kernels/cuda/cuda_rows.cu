/* kernels/cuda/cuda_rows.cu — token-row movement on the GPU: gather and its adjoint scatter-add
 * (deterministic and bit-identical to the CPU: the host groups the source rows by destination,
 * then one thread per destination element adds its group in the order of i), batched copy with
 * broadcast, the batched sum (column sums in double), and the im2col of the patch embedding.
 * Host index arrays are checked on the host and uploaded to scratch. Same semantics as
 * cpu_rows.c. */
#include <stdlib.h>  // defines: malloc, free, qsort

#include "kernels/cuda/cuda_common.cuh"

static void check_indices(const char *fn, const int *idx, int n) {
    for (int i = 0; i < n; i++)
        if (idx[i] < 0) cg_fatal("%s: idx[%d]=%d must be >= 0", fn, i, idx[i]);
}

/* ---- column sums (shared with the dense layer's bias gradient) ------------------------------
 * Two passes, both deterministic: partial sums in double over chunks of CU_COL_CHUNK rows
 * (block column (x, chunk y)), then each column adds its chunks in order. */

enum { CU_COL_CHUNK = 256, CU_MAX_GRID_Y = 65535 };

/* chunks blockIdx.y, blockIdx.y + gridDim.y, ...: any number of rows */
static __global__ void column_partials_kernel(double *part, const float *src, size_t stride,
                                              int rows, size_t cols, int chunks) {
    size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols) return;
    for (int c = blockIdx.y; c < chunks; c += gridDim.y) {
        int r0 = c * CU_COL_CHUNK, r1 = min(rows, r0 + CU_COL_CHUNK);
        double s = 0.0;
        for (int r = r0; r < r1; r++) s += src[(size_t)r * stride + j];
        part[(size_t)c * cols + j] = s;
    }
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
    double *part = (double *)cu_scratch_alloc((size_t)chunks * cols * sizeof(double));
    size_t gx = (cols + CU_THREADS - 1) / CU_THREADS;
    if (gx > 0x7fffffffu) cg_fatal("column sums: %zu columns exceed the grid", cols);
    dim3 grid((unsigned)gx, (unsigned)(chunks < CU_MAX_GRID_Y ? chunks : CU_MAX_GRID_Y));
    column_partials_kernel<<<grid, CU_THREADS, 0, cu_stream()>>>(part, src, stride, rows, cols,
                                                                  chunks);
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

/* Indices may repeat. Group g of the plan is destination row rows[g] with the source rows
 * order[start[g]] .. order[start[g+1]-1], ascending: each destination element is updated by one
 * thread, which adds its sources in the order of i, as the CPU backend does (same float sums,
 * bit for bit), and the groups and columns run in parallel. */
static __global__ void scatter_add_kernel(float *dst, const float *src, const int *order,
                                          const int *start, const int *rows, int groups, int d) {
    CU_GRID_STRIDE(e, (size_t)groups * d) {
        size_t g = e / (size_t)d, j = e % (size_t)d;
        float *o = dst + (size_t)rows[g] * d + j;
        float a = *o;
        for (int k = start[g]; k < start[g + 1]; k++) a += src[(size_t)order[k] * d + j];
        *o = a;
    }
}

static int cmp_pair(const void *a, const void *b) { /* (destination, source) ascending */
    const int *x = (const int *)a, *y = (const int *)b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* the plan of scatter_add_kernel in one host array: order [n], start [groups + 1], rows
 * [groups]; returns the number of groups */
static int scatter_plan(int *plan, const int *idx, int n) {
    int *pairs = (int *)malloc((size_t)n * 2 * sizeof(int));
    if (!pairs) cg_fatal("op_scatter_add_rows: out of host memory for %d indices", n);
    for (int i = 0; i < n; i++) pairs[2 * i] = idx[i], pairs[2 * i + 1] = i;
    qsort(pairs, (size_t)n, 2 * sizeof(int), cmp_pair);
    int *order = plan, *start = plan + n, groups = 0;
    for (int k = 0; k < n; k++) {
        order[k] = pairs[2 * k + 1];
        if (k == 0 || pairs[2 * k] != pairs[2 * k - 2]) start[groups++] = k;
    }
    start[groups] = n;
    int *rows = start + groups + 1;
    for (int g = 0; g < groups; g++) rows[g] = pairs[2 * start[g]];
    free(pairs);
    return groups;
}

extern "C" void cuda_op_scatter_add_rows(float *dst, const float *src, const int *idx, int n,
                                         int d) {
    if (n <= 0 || d <= 0) cg_fatal("op_scatter_add_rows: n=%d d=%d must be positive", n, d);
    CU_CHECK_PTR("op_scatter_add_rows", dst);
    CU_CHECK_PTR("op_scatter_add_rows", src);
    CU_CHECK_PTR("op_scatter_add_rows", idx);
    check_indices("op_scatter_add_rows", idx, n);
    int *plan = (int *)malloc(((size_t)3 * n + 1) * sizeof(int)); /* groups <= n */
    if (!plan) cg_fatal("op_scatter_add_rows: out of host memory for %d indices", n);
    int groups = scatter_plan(plan, idx, n);
    size_t len = (size_t)n + 2 * (size_t)groups + 1;
    int *dplan = cu_upload_ints(plan, len);
    free(plan); /* cu_upload_ints has staged the host data */
    scatter_add_kernel<<<cu_blocks((size_t)groups * d), CU_THREADS, 0, cu_stream()>>>(
        dst, src, dplan, dplan + n, dplan + n + groups + 1, groups, d);
    CUDA_CHECK_LAUNCH();
    cu_scratch_free(dplan);
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
