/* kernels/cpu/cpu_attention.c — multi-head scaled-dot-product attention (optional causal mask
 * with explicit query positions) and its backward. OpenMP runs over (batch, head) pairs; each
 * pair is computed by a small register-tiled product (gemm_nn below) on thread-local buffers:
 * K_h / V_h transposed and padded so that every inner loop is a contiguous, vectorisable
 * multiply-add over keys or head features. Softmax in fp32 with max subtraction; masked
 * entries get probability exactly 0. No BLAS calls happen inside the parallel region. */
/* No code here reads the floating-point exception flags; without this GCC will not if-convert
 * the clamps in cpu_expf on AVX2 machines and leaves the exponential loops scalar. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <stdlib.h>  // defines: posix_memalign, free

#include "kernels/cpu/cpu_internal.h"
#include "kernels/op_checks.h"

/* Wide vectors for the register tiles: GCC prefers 256-bit vectors on AVX-512 machines unless
 * told otherwise, which would halve the throughput of the products below (harmless elsewhere). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("prefer-vector-width=512")
#endif

/* register tile of the small products: MR rows × NR columns of C are held in registers
 * (AVX-512: 16 of 32 zmm registers; otherwise 12 of 16 ymm registers) */
#if !defined(ATTN_MR) && defined(__AVX512F__)
#define ATTN_MR 8
#define ATTN_NR 32
#elif !defined(ATTN_MR)
#define ATTN_MR 6
#define ATTN_NR 16
#endif
#ifndef ATTN_QB
#define ATTN_QB 32
#endif
enum { MR = ATTN_MR, NR = ATTN_NR, QB = ATTN_QB /* query rows per softmax block */ };

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int round_up(int a, int m) { return (a + m - 1) / m * m; }

/* ---- small dense products -------------------------------------------------------------------- */

#if defined(__GNUC__)
#define ATTN_INLINE inline __attribute__((always_inline))
#else
#define ATTN_INLINE inline
#endif

/* C[mr,NR] = alpha·A·B[K,NR] (+ C when acc), a full-width register tile. Element (r, p) of A
 * is A[r*ars + p*aps]: (lda, 1) for A, (1, lda) for a transposed A. Always inlined with a
 * constant mr, so that the accumulators live in registers. */
static ATTN_INLINE void tile_rows(const int mr, int K, float alpha, const float *restrict A,
                                  int ars, int aps, const float *restrict B, int ldb,
                                  float *restrict C, int ldc, int acc) {
    float c[MR][NR];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < NR; j++) c[r][j] = 0.0f;
    for (int p = 0; p < K; p++) {
        const float *b = B + (size_t)p * ldb, *a = A + (size_t)p * aps;
        for (int r = 0; r < mr; r++) {
            float ar = a[(size_t)r * ars];
            #pragma omp simd
            for (int j = 0; j < NR; j++) c[r][j] = CPU_FMA(ar, b[j], c[r][j]);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *cr = C + (size_t)r * ldc;
        if (acc) {
            #pragma omp simd
            for (int j = 0; j < NR; j++) cr[j] += alpha * c[r][j];
        } else {
            #pragma omp simd
            for (int j = 0; j < NR; j++) cr[j] = alpha * c[r][j];
        }
    }
}

/* a tile of mr <= MR rows and nr < NR columns (only when N is not a multiple of NR) */
static void tile_edge(int mr, int nr, int K, float alpha, const float *restrict A, int ars,
                      int aps, const float *restrict B, int ldb, float *restrict C, int ldc,
                      int acc) {
    float c[MR][NR];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++) c[r][j] = 0.0f;
    for (int p = 0; p < K; p++) {
        const float *b = B + (size_t)p * ldb, *a = A + (size_t)p * aps;
        for (int r = 0; r < mr; r++) {
            float ar = a[(size_t)r * ars];
            #pragma omp simd
            for (int j = 0; j < nr; j++) c[r][j] = CPU_FMA(ar, b[j], c[r][j]);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *cr = C + (size_t)r * ldc;
        for (int j = 0; j < nr; j++) cr[j] = acc ? cr[j] + alpha * c[r][j] : alpha * c[r][j];
    }
}

/* C[M,N] = alpha·op(A)[M,K]·B[K,N] (+ C when acc), row-major with the given row strides.
 * Column panels outside, row tiles inside: the K×NR panel of B stays in L1 while A streams. */
static inline void gemm_strided(int M, int N, int K, float alpha, const float *A, int ars,
                                int aps, const float *B, int ldb, float *C, int ldc, int acc) {
    for (int j = 0; j < N; j += NR) {
        int nr = imin(NR, N - j);
        for (int i = 0; i < M;) {
            int rem = M - i;
            const float *Ai = A + (size_t)i * ars;
            float *Cij = C + (size_t)i * ldc + j;
            if (nr < NR) {
                int mr = imin(MR, rem);
                tile_edge(mr, nr, K, alpha, Ai, ars, aps, B + j, ldb, Cij, ldc, acc);
                i += mr;
            } else if (rem >= MR) { /* remaining rows in tiles of MR, then 4, 2, 1 */
                tile_rows(MR, K, alpha, Ai, ars, aps, B + j, ldb, Cij, ldc, acc);
                i += MR;
            } else if (rem >= 4) {
                tile_rows(4, K, alpha, Ai, ars, aps, B + j, ldb, Cij, ldc, acc);
                i += 4;
            } else if (rem >= 2) {
                tile_rows(2, K, alpha, Ai, ars, aps, B + j, ldb, Cij, ldc, acc);
                i += 2;
            } else {
                tile_rows(1, K, alpha, Ai, ars, aps, B + j, ldb, Cij, ldc, acc);
                i += 1;
            }
        }
    }
}

/* C = alpha·A·B (+ C), A [M,K] with row stride lda */
static void gemm_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                    int ldb, float *C, int ldc, int acc) {
    gemm_strided(M, N, K, alpha, A, lda, 1, B, ldb, C, ldc, acc);
}

/* C = alpha·Aᵀ·B (+ C), A [K,M] with row stride lda */
static void gemm_tn(int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                    int ldb, float *C, int ldc, int acc) {
    gemm_strided(M, N, K, alpha, A, 1, lda, B, ldb, C, ldc, acc);
}

/* dst[c*ldd + j] = src[j*lds + c] for j < rows, c < cols; columns rows..pad-1 of dst zeroed.
 * Blocks of 16 source rows keep both sides in L1. */
static void transpose_pad(float *restrict dst, int ldd, const float *restrict src, int lds,
                          int rows, int cols, int pad) {
    enum { TB = 16 };
    for (int j0 = 0; j0 < rows; j0 += TB) {
        int jn = imin(TB, rows - j0);
        for (int c = 0; c < cols; c++) {
            float *d = dst + (size_t)c * ldd + j0;
            const float *s = src + (size_t)j0 * lds + c;
            for (int jj = 0; jj < jn; jj++) d[jj] = s[(size_t)jj * lds];
        }
    }
    for (int c = 0; c < cols; c++)
        for (int j = rows; j < pad; j++) dst[(size_t)c * ldd + j] = 0.0f;
}

/* ---- shapes and masks ------------------------------------------------------------------------ */

/* number of keys query row i of batch b sees */
static inline int key_limit(const KAttnShape *s, int b, int i) {
    if (!s->causal) return s->Tk;
    int pos = s->q_pos ? s->q_pos[(size_t)b * s->Tq + i] : i;
    return pos + 1 < s->Tk ? pos + 1 : s->Tk;
}

static float *scratch(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0 || !p)
        cg_fatal("op_attention: out of memory allocating %zu floats of scratch", n);
    return p;
}

/* ---- forward --------------------------------------------------------------------------------- */

/* one (b, h): kt [dh][tkp] and sb [QB][tkp] are thread-local scratch */
static void forward_bh(float *o, float *probs, const float *q, const float *k, const float *v,
                       const KAttnShape *s, int b, int h, int tkp, float *kt, float *sb) {
    const int Tq = s->Tq, Tk = s->Tk, dh = s->dh;
    const float *qb = q + (size_t)b * Tq * s->ld_q + (size_t)h * dh;
    const float *kb = k + (size_t)b * Tk * s->ld_kv + (size_t)h * dh;
    const float *vb = v + (size_t)b * Tk * s->ld_kv + (size_t)h * dh;
    float *ob = o + (size_t)b * Tq * s->ld_o + (size_t)h * dh;
    float *pb = probs ? probs + ((size_t)b * s->heads + h) * Tq * Tk : NULL;
    float inv[QB];

    transpose_pad(kt, tkp, kb, s->ld_kv, Tk, dh, tkp);
    for (int i0 = 0; i0 < Tq; i0 += QB) {
        int qn = imin(QB, Tq - i0), lmax = 0;
        for (int r = 0; r < qn; r++) {
            int l = key_limit(s, b, i0 + r);
            lmax = l > lmax ? l : lmax;
        }
        /* scores of the block for the keys any of its rows can see (whole tiles) */
        gemm_nn(qn, imin(round_up(lmax, NR), tkp), dh, s->scale, qb + (size_t)i0 * s->ld_q,
                s->ld_q, kt, tkp, sb, tkp, 0);
        /* unnormalised exp(S - max) in sb, zero where masked; normalised rows into probs */
        for (int r = 0; r < qn; r++) {
            float *row = sb + (size_t)r * tkp;
            int lim = key_limit(s, b, i0 + r);
            /* whole vectors: the columns lim..lim16-1 (inside the padded row) are masked to
             * -inf and come out of the exponential as exact zeros */
            int lim16 = imin(round_up(lim, CPU_LANES), tkp);
            for (int j = lim; j < lim16; j++) row[j] = -INFINITY;
            float sum = cpu_exp_sum(row, lim16, cpu_max(row, lim16));
            inv[r] = 1.0f / sum;
            for (int j = lim; j < lmax; j++) row[j] = 0.0f;
            if (pb) {
                float *pr = pb + (size_t)(i0 + r) * Tk, ir = inv[r];
                #pragma omp simd
                for (int j = 0; j < lim; j++) pr[j] = row[j] * ir;
                for (int j = lim; j < Tk; j++) pr[j] = 0.0f;
            }
        }
        /* O rows = P·V over the visible keys, normalised afterwards */
        float *oi = ob + (size_t)i0 * s->ld_o;
        gemm_nn(qn, dh, lmax, 1.0f, sb, tkp, vb, s->ld_kv, oi, s->ld_o, 0);
        for (int r = 0; r < qn; r++) {
            float *orow = oi + (size_t)r * s->ld_o, ir = inv[r];
            #pragma omp simd
            for (int c = 0; c < dh; c++) orow[c] *= ir;
        }
    }
}

void cpu_op_attention(float *o, float *probs, const float *q, const float *k, const float *v,
                  const KAttnShape *s) {
    k_check_attn_shape("op_attention", s);
    CPU_CHECK_PTR("op_attention", o);
    CPU_CHECK_PTR("op_attention", q);
    CPU_CHECK_PTR("op_attention", k);
    CPU_CHECK_PTR("op_attention", v);
    const int pairs = s->B * s->heads, tkp = round_up(s->Tk, NR);
    const double work = (double)pairs * s->Tq * s->Tk * s->dh;
    #pragma omp parallel if (pairs > 1 && work > 1e5)
    {
        float *kt = scratch((size_t)s->dh * tkp), *sb = scratch((size_t)QB * tkp);
        #pragma omp for schedule(dynamic, 1)
        for (int bh = 0; bh < pairs; bh++)
            forward_bh(o, probs, q, k, v, s, bh / s->heads, bh % s->heads, tkp, kt, sb);
        free(kt);
        free(sb);
    }
}

/* ---- backward -------------------------------------------------------------------------------- */

/* one (b, h) with thread-local scratch vt [dh][tkp] (V_hᵀ) and ds [Tq][tkp] (dP, then dS).
 * dq/dk/dv (any may be NULL) get '=' when acc == 0: this pair owns the dh-column slice of every
 * row of batch b, and each product below writes all of those rows at once. */
static void backward_bh(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                        const float *q, const float *k, const float *v, const KAttnShape *s,
                        int b, int h, int acc, int tkp, float *vt, float *ds) {
    const int Tq = s->Tq, Tk = s->Tk, dh = s->dh;
    const size_t qoff = (size_t)b * Tq * s->ld_q + (size_t)h * dh;
    const size_t kvoff = (size_t)b * Tk * s->ld_kv + (size_t)h * dh;
    const float *dob = dout + (size_t)b * Tq * s->ld_o + (size_t)h * dh;
    const float *pb = probs + ((size_t)b * s->heads + h) * Tq * Tk;

    if (dv) /* dV = Pᵀ·dO */
        gemm_tn(Tk, dh, Tq, 1.0f, pb, Tk, dob, s->ld_o, dv + kvoff, s->ld_kv, acc);
    if (!dq && !dk) return;
    transpose_pad(vt, tkp, v + kvoff, s->ld_kv, Tk, dh, tkp);
    for (int i0 = 0; i0 < Tq; i0 += QB) {
        int qn = imin(QB, Tq - i0), lmax = 0;
        for (int r = 0; r < qn; r++) {
            int l = key_limit(s, b, i0 + r);
            lmax = l > lmax ? l : lmax;
        }
        float *dsb = ds + (size_t)i0 * tkp;
        /* dP = dO·Vᵀ */
        gemm_nn(qn, imin(round_up(lmax, NR), tkp), dh, 1.0f, dob + (size_t)i0 * s->ld_o,
                s->ld_o, vt, tkp, dsb, tkp, 0);
        /* dS = P⊙(dP − Σ_j dP⊙P); masked entries (P = 0) get exactly 0 */
        for (int r = 0; r < qn; r++) {
            float *row = dsb + (size_t)r * tkp;
            const float *pr = pb + (size_t)(i0 + r) * Tk;
            int lim = key_limit(s, b, i0 + r);
            float dot = cpu_dot(row, pr, lim);
            #pragma omp simd
            for (int j = 0; j < lim; j++) row[j] = pr[j] * (row[j] - dot);
            for (int j = lim; j < Tk; j++) row[j] = 0.0f;
        }
        /* dQ = dS·K·scale */
        if (dq)
            gemm_nn(qn, dh, lmax, s->scale, dsb, tkp, k + kvoff, s->ld_kv,
                    dq + qoff + (size_t)i0 * s->ld_q, s->ld_q, acc);
    }
    if (dk) /* dK = dSᵀ·Q·scale */
        gemm_tn(Tk, dh, Tq, s->scale, ds, tkp, q + qoff, s->ld_q, dk + kvoff, s->ld_kv, acc);
}

void cpu_op_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                           const float *probs, const float *q, const float *k, const float *v,
                           const KAttnShape *s, int acc) {
    k_check_attn_shape("op_attention_backward", s);
    CPU_CHECK_PTR("op_attention_backward", dout);
    CPU_CHECK_PTR("op_attention_backward", probs);
    if (!dq && !dk && !dv) return;
    if (dk) CPU_CHECK_PTR("op_attention_backward", q);
    if (dq) CPU_CHECK_PTR("op_attention_backward", k);
    if (dq || dk) CPU_CHECK_PTR("op_attention_backward", v);
    const int pairs = s->B * s->heads, tkp = round_up(s->Tk, NR);
    const double work = (double)pairs * s->Tq * s->Tk * s->dh;
    #pragma omp parallel if (pairs > 1 && work > 1e5)
    {
        float *vt = scratch((size_t)s->dh * tkp), *ds = scratch((size_t)s->Tq * tkp);
        #pragma omp for schedule(dynamic, 1)
        for (int bh = 0; bh < pairs; bh++)
            backward_bh(dq, dk, dv, dout, probs, q, k, v, s, bh / s->heads, bh % s->heads, acc,
                        tkp, vt, ds);
        free(vt);
        free(ds);
    }
}
