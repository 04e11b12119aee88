/* kernels/cpu/cpu_rows.c — token-row movement: gather and its adjoint scatter-add, batched copy
 * (with broadcast) and its adjoint batched sum, and the im2col of the patch embedding. */
#include "kernels/cpu/cpu_internal.h"

void cpu_op_gather_rows(float *dst, const float *src, const int *idx, int n, int d) {
    if (n <= 0 || d <= 0) cg_fatal("op_gather_rows: n=%d d=%d must be positive", n, d);
    CPU_CHECK_PTR("op_gather_rows", dst);
    CPU_CHECK_PTR("op_gather_rows", src);
    CPU_CHECK_PTR("op_gather_rows", idx);
    for (int i = 0; i < n; i++)
        if (idx[i] < 0) cg_fatal("op_gather_rows: idx[%d]=%d must be >= 0", i, idx[i]);
    #pragma omp parallel for schedule(static) if ((size_t)n * d >= CPU_PAR_MIN)
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)i * d, src + (size_t)idx[i] * d, (size_t)d * sizeof(float));
}

/* Indices may repeat, so threads split the columns, not the rows: every destination element is
 * updated by one thread, in the order of i (deterministic). */
void cpu_op_scatter_add_rows(float *dst, const float *src, const int *idx, int n, int d) {
    if (n <= 0 || d <= 0) cg_fatal("op_scatter_add_rows: n=%d d=%d must be positive", n, d);
    CPU_CHECK_PTR("op_scatter_add_rows", dst);
    CPU_CHECK_PTR("op_scatter_add_rows", src);
    CPU_CHECK_PTR("op_scatter_add_rows", idx);
    for (int i = 0; i < n; i++)
        if (idx[i] < 0) cg_fatal("op_scatter_add_rows: idx[%d]=%d must be >= 0", i, idx[i]);
    enum { CB = 256 };
    int nblk = (d + CB - 1) / CB;
    #pragma omp parallel for schedule(static) if ((size_t)n * d >= CPU_PAR_MIN && nblk > 1)
    for (int bl = 0; bl < nblk; bl++) {
        int j0 = bl * CB, jn = d - j0 < CB ? d - j0 : CB;
        for (int i = 0; i < n; i++) {
            float *o = dst + (size_t)idx[i] * d + j0;
            const float *s = src + (size_t)i * d + j0;
            #pragma omp simd
            for (int j = 0; j < jn; j++) o[j] += s[j];
        }
    }
}

void cpu_op_copy_batched(float *dst, size_t dst_bs, const float *src, size_t src_bs, int B,
                     size_t n, int acc) {
    if (B <= 0) cg_fatal("op_copy_batched: B=%d must be positive", B);
    if (n == 0) return;
    CPU_CHECK_PTR("op_copy_batched", dst);
    CPU_CHECK_PTR("op_copy_batched", src);
    #pragma omp parallel for schedule(static) if ((size_t)B * n >= CPU_PAR_MIN)
    for (int b = 0; b < B; b++) {
        float *o = dst + (size_t)b * dst_bs;
        const float *s = src + (size_t)b * src_bs;
        if (acc) {
            #pragma omp simd
            for (size_t j = 0; j < n; j++) o[j] += s[j];
        } else {
            memcpy(o, s, n * sizeof(float));
        }
    }
}

/* columns in blocks across threads; the batch sum of each column in double, in order of b */
void cpu_op_sum_batched(float *dst, const float *src, size_t src_bs, int B, size_t n, int acc) {
    if (B <= 0) cg_fatal("op_sum_batched: B=%d must be positive", B);
    if (n == 0) return;
    CPU_CHECK_PTR("op_sum_batched", dst);
    CPU_CHECK_PTR("op_sum_batched", src);
    enum { CB = 256 };
    size_t nblk = (n + CB - 1) / CB;
    #pragma omp parallel for schedule(static) if ((size_t)B * n >= CPU_PAR_MIN && nblk > 1)
    for (size_t bl = 0; bl < nblk; bl++) {
        size_t j0 = bl * CB, jn = n - j0 < CB ? n - j0 : CB;
        double s[CB] = {0};
        for (int b = 0; b < B; b++) {
            const float *r = src + (size_t)b * src_bs + j0;
            #pragma omp simd
            for (size_t j = 0; j < jn; j++) s[j] += r[j];
        }
        float *o = dst + j0;
        for (size_t j = 0; j < jn; j++) o[j] = acc ? o[j] + (float)s[j] : (float)s[j];
    }
}

void cpu_op_im2col_patches(float *cols, const float *img, int B, int R, int p) {
    if (B <= 0 || R <= 0 || p <= 0 || R % p != 0)
        cg_fatal("op_im2col_patches: B=%d R=%d p=%d must be positive with R a multiple of p",
                 B, R, p);
    CPU_CHECK_PTR("op_im2col_patches", cols);
    CPU_CHECK_PTR("op_im2col_patches", img);
    int g = R / p;
    size_t row = (size_t)3 * p * p, plane = (size_t)R * R;
    /* one (image, patch row) per iteration: writes g rows of `row` floats */
    #pragma omp parallel for collapse(2) schedule(static) if ((size_t)B * 3 * plane >= CPU_PAR_MIN)
    for (int b = 0; b < B; b++) {
        for (int pr = 0; pr < g; pr++) {
            for (int pc = 0; pc < g; pc++) {
                float *o = cols + ((size_t)b * g * g + (size_t)pr * g + pc) * row;
                for (int ch = 0; ch < 3; ch++) {
                    const float *im = img + ((size_t)b * 3 + ch) * plane;
                    for (int i = 0; i < p; i++)
                        memcpy(o + ((size_t)ch * p + i) * p,
                               im + ((size_t)pr * p + i) * R + (size_t)pc * p,
                               (size_t)p * sizeof(float));
                }
            }
        }
    }
}
