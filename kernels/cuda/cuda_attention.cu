/* kernels/cuda/cuda_attention.cu — multi-head scaled-dot-product attention (optional causal mask
 * with explicit query positions) and its backward on the GPU. The four products per (batch,
 * head) pair run as cuBLAS strided-batched sgemms (batched over the larger of B and heads,
 * looping over the other); the row softmax and its backward are one block per row. The score
 * matrix is computed whole; masked entries get probability exactly 0, as on the CPU. Same
 * semantics as kernels/cpu/cpu_attention.c. */
#include "kernels/cuda/cuda_common.cuh"
#include "kernels/op_checks.h"

enum { SOFTMAX_THREADS = 128 };

/* One operand of the per-(b, h) products: base pointer, row stride, and the offsets between
 * consecutive batches and consecutive heads (in floats). */
typedef struct {
    const float *p;
    int ld;
    size_t bstride, hstride;
} Operand;

/* For every (b, h): C_bh = alpha·op(A_bh)·op(B_bh) + beta·C_bh (row-major, M×N, inner K).
 * cuBLAS batches over one of b and h (uniform strides) and we loop over the other. */
static void per_head_gemm(const KAttnShape *s, cublasOperation_t ta, cublasOperation_t tb,
                          int M, int N, int K, float alpha, Operand A, Operand B, float beta,
                          float *C, int ldc, size_t c_bstride, size_t c_hstride) {
    if (s->B >= s->heads) {
        for (int h = 0; h < s->heads; h++)
            cu_gemm_rm_batched(ta, tb, M, N, K, alpha, A.p + h * A.hstride, A.ld, A.bstride,
                               B.p + h * B.hstride, B.ld, B.bstride, beta, C + h * c_hstride,
                               ldc, c_bstride, s->B);
    } else {
        for (int b = 0; b < s->B; b++)
            cu_gemm_rm_batched(ta, tb, M, N, K, alpha, A.p + b * A.bstride, A.ld, A.hstride,
                               B.p + b * B.bstride, B.ld, B.hstride, beta, C + b * c_bstride,
                               ldc, c_hstride, s->heads);
    }
}

static Operand q_operand(const KAttnShape *s, const float *q) {
    return Operand{q, s->ld_q, (size_t)s->Tq * s->ld_q, (size_t)s->dh};
}
static Operand kv_operand(const KAttnShape *s, const float *kv) {
    return Operand{kv, s->ld_kv, (size_t)s->Tk * s->ld_kv, (size_t)s->dh};
}
static Operand o_operand(const KAttnShape *s, const float *o) {
    return Operand{o, s->ld_o, (size_t)s->Tq * s->ld_o, (size_t)s->dh};
}
/* probabilities / score gradients [B, heads, Tq, Tk] */
static Operand p_operand(const KAttnShape *s, const float *p) {
    return Operand{p, s->Tk, (size_t)s->heads * s->Tq * s->Tk, (size_t)s->Tq * s->Tk};
}

/* Row r of the [B, heads, Tq] score rows, in place: softmax over the keys the query sees (all
 * Tk, or j <= its position when causal), exactly 0 for the others. */
static __global__ void softmax_rows_kernel(float *p, const int *q_pos, int heads, int Tq, int Tk,
                                           int causal) {
    const size_t r = blockIdx.x;
    const int b = (int)(r / ((size_t)heads * Tq)), i = (int)(r % Tq);
    int lim = Tk;
    if (causal) {
        int pos = q_pos ? q_pos[(size_t)b * Tq + i] : i;
        lim = pos + 1 < Tk ? pos + 1 : Tk;
    }
    float *row = p + r * Tk;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < lim; j += blockDim.x) mx = fmaxf(mx, row[j]);
    mx = cu_block_max(mx);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < lim; j += blockDim.x) sum += expf(row[j] - mx);
    sum = cu_block_sum(sum);
    float inv = 1.0f / sum;
    for (int j = threadIdx.x; j < Tk; j += blockDim.x)
        row[j] = j < lim ? expf(row[j] - mx) * inv : 0.0f;
}

extern "C" void cuda_op_attention(float *o, float *probs, const float *q, const float *k,
                                  const float *v, const KAttnShape *s) {
    k_check_attn_shape("op_attention", s);
    CU_CHECK_PTR("op_attention", o);
    CU_CHECK_PTR("op_attention", q);
    CU_CHECK_PTR("op_attention", k);
    CU_CHECK_PTR("op_attention", v);
    const size_t rows = (size_t)s->B * s->heads * s->Tq;
    float *p = probs ? probs : (float *)cu_scratch_alloc(rows * s->Tk * sizeof(float));
    Operand P = p_operand(s, p);
    /* S = scale · Q_h·K_hᵀ  [Tq, Tk] */
    per_head_gemm(s, CUBLAS_OP_N, CUBLAS_OP_T, s->Tq, s->Tk, s->dh, s->scale, q_operand(s, q),
                  kv_operand(s, k), 0.0f, p, P.ld, P.bstride, P.hstride);
    int *dpos = s->causal && s->q_pos ? cu_upload_ints(s->q_pos, (size_t)s->B * s->Tq) : NULL;
    softmax_rows_kernel<<<(unsigned)rows, SOFTMAX_THREADS, 0, cu_stream()>>>(
        p, dpos, s->heads, s->Tq, s->Tk, s->causal);
    CUDA_CHECK_LAUNCH();
    /* O_h = P·V_h  [Tq, dh] */
    Operand O = o_operand(s, o);
    per_head_gemm(s, CUBLAS_OP_N, CUBLAS_OP_N, s->Tq, s->dh, s->Tk, 1.0f, P, kv_operand(s, v),
                  0.0f, o, O.ld, O.bstride, O.hstride);
    if (dpos) cu_scratch_free(dpos);
    if (!probs) cu_scratch_free(p);
}

/* dS = P⊙(dP − Σ_j dP⊙P) per row, in place on dP; masked entries (P = 0) get 0 */
static __global__ void softmax_backward_rows_kernel(float *ds, const float *p, int Tk) {
    const size_t r = blockIdx.x;
    float *row = ds + r * Tk;
    const float *pr = p + r * Tk;
    float dot = 0.0f;
    for (int j = threadIdx.x; j < Tk; j += blockDim.x) dot += row[j] * pr[j];
    dot = cu_block_sum(dot);
    for (int j = threadIdx.x; j < Tk; j += blockDim.x) row[j] = pr[j] * (row[j] - dot);
}

extern "C" void cuda_op_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                           const float *probs, const float *q, const float *k,
                                           const float *v, const KAttnShape *s, int acc) {
    k_check_attn_shape("op_attention_backward", s);
    CU_CHECK_PTR("op_attention_backward", dout);
    CU_CHECK_PTR("op_attention_backward", probs);
    if (!dq && !dk && !dv) return;
    if (dk) CU_CHECK_PTR("op_attention_backward", q);
    if (dq) CU_CHECK_PTR("op_attention_backward", k);
    if (dq || dk) CU_CHECK_PTR("op_attention_backward", v);
    const float beta = acc ? 1.0f : 0.0f;
    Operand P = p_operand(s, probs), dO = o_operand(s, dout);
    if (dv) { /* dV_h = Pᵀ·dO_h  [Tk, dh] */
        Operand dV = kv_operand(s, dv);
        per_head_gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, s->Tk, s->dh, s->Tq, 1.0f, P, dO, beta, dv,
                      dV.ld, dV.bstride, dV.hstride);
    }
    if (!dq && !dk) return;
    const size_t rows = (size_t)s->B * s->heads * s->Tq;
    float *ds = (float *)cu_scratch_alloc(rows * s->Tk * sizeof(float));
    Operand dS = p_operand(s, ds);
    /* dP = dO_h·V_hᵀ  [Tq, Tk], then dS in place */
    per_head_gemm(s, CUBLAS_OP_N, CUBLAS_OP_T, s->Tq, s->Tk, s->dh, 1.0f, dO, kv_operand(s, v),
                  0.0f, ds, dS.ld, dS.bstride, dS.hstride);
    softmax_backward_rows_kernel<<<(unsigned)rows, SOFTMAX_THREADS, 0, cu_stream()>>>(ds, probs,
                                                                                      s->Tk);
    CUDA_CHECK_LAUNCH();
    if (dq) { /* dQ_h = scale · dS·K_h  [Tq, dh] */
        Operand dQ = q_operand(s, dq);
        per_head_gemm(s, CUBLAS_OP_N, CUBLAS_OP_N, s->Tq, s->dh, s->Tk, s->scale, dS,
                      kv_operand(s, k), beta, dq, dQ.ld, dQ.bstride, dQ.hstride);
    }
    if (dk) { /* dK_h = scale · dSᵀ·Q_h  [Tk, dh] */
        Operand dK = kv_operand(s, dk);
        per_head_gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, s->Tk, s->dh, s->Tq, s->scale, dS,
                      q_operand(s, q), beta, dk, dK.ld, dK.bstride, dK.hstride);
    }
    cu_scratch_free(ds);
}
