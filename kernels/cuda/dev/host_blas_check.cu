/* kernels/cuda/dev/host_blas_check.cu — a check of the CUDA backend's products that needs no GPU:
 * a host implementation of cublasGemmEx / cublasGemmStridedBatchedEx (column-major, rejecting
 * leading dimensions as cuBLAS does) is linked under the real cuda_matmul.cu (included) and the
 * attention's per-head batching (cuda_attention.cu's per_head_gemm, both batching paths, packed
 * and strided q/k/v), and the results are compared with the CPU backend on host memory. It checks
 * the row-major -> column-major mapping, the transposes, strides and '=' / '+=', not cuBLAS or
 * the kernels. Build and run: `make cuda-host-check` (needs nvcc, no GPU, no driver). */
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include "kernels/cuda/cuda_common.cuh"
#include "kernels/precision.h"

cudaStream_t cu_stream(void) { return 0; }
cublasHandle_t cu_blas(void) { return (cublasHandle_t)0; }
const void *cu_frozen_copy(const float *, size_t, KPrecision) { return NULL; }
// the conversions on the host with the same functions the kernels call (host-callable)
void cu_convert(void *dst, const float *src, size_t n, KPrecision p) {
    for (size_t i = 0; i < n; i++) {
        if (p == K_PREC_TF32) ((float *)dst)[i] = k_round_tf32(src[i]);
        else if (p == K_PREC_BF16) ((__nv_bfloat16 *)dst)[i] = __float2bfloat16_rn(src[i]);
        else if (p == K_PREC_FP16) ((__half *)dst)[i] = __float2half_rn(src[i]);
        else abort();
    }
}
static KPrecision g_prec = K_PREC_FP32;
KPrecision k_precision(void) { return g_prec; }
static cublasComputeType_t g_last_ct;
// element i of a cuBLAS operand of type t, widened to fp32
static float elem(const void *p, cudaDataType t, size_t i) {
    if (t == CUDA_R_16BF) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    if (t == CUDA_R_16F) return __half2float(((const __half *)p)[i]);
    return ((const float *)p)[i];
}
void cu_column_sums(float *, const float *, size_t, int, size_t, int) { abort(); }
void *cu_scratch_alloc(size_t b) { return malloc(b); }
void cu_scratch_free(void *p) { free(p); }
int *cu_upload_ints(const int *h, size_t n) { int *d = (int*)malloc(n*4); memcpy(d,h,n*4); return d; }
static int calls;
extern "C" const char *cublasGetStatusString(cublasStatus_t) { return "fake"; }
extern "C" cublasStatus_t cublasGemmEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb,
    int m, int n, int k, const void *alpha_, const void *A_, cudaDataType at, int lda,
    const void *B_, cudaDataType bt, int ldb, const void *beta_, void *C_, cudaDataType ct, int ldc,
    cublasComputeType_t ctp, cublasGemmAlgo_t) {
    calls++;
    g_last_ct = ctp;
    bool ab_ok = at == bt && (at == CUDA_R_32F || at == CUDA_R_16BF || at == CUDA_R_16F);
    if (!ab_ok || ct != CUDA_R_32F) return CUBLAS_STATUS_INVALID_VALUE;
    if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (lda < std::max(1, ta == CUBLAS_OP_N ? m : k)) { printf("bad lda\n"); return CUBLAS_STATUS_INVALID_VALUE; }
    if (ldb < std::max(1, tb == CUBLAS_OP_N ? k : n)) { printf("bad ldb\n"); return CUBLAS_STATUS_INVALID_VALUE; }
    if (ldc < std::max(1, m)) { printf("bad ldc\n"); return CUBLAS_STATUS_INVALID_VALUE; }
    float *C = (float*)C_;
    float alpha = *(const float*)alpha_, beta = *(const float*)beta_;
    for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
            float a = elem(A_, at, ta == CUBLAS_OP_N ? i + (size_t)p*lda : p + (size_t)i*lda);
            float b = elem(B_, bt, tb == CUBLAS_OP_N ? p + (size_t)j*ldb : j + (size_t)p*ldb);
            s += (double)a*b;
        }
        float *c = &C[i + (size_t)j*ldc];
        *c = beta == 0.0f ? alpha*(float)s : alpha*(float)s + beta * *c;
    }
    return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
    int m, int n, int k, const void *alpha, const void *A, cudaDataType at, int lda, long long sa,
    const void *B, cudaDataType bt, int ldb, long long sb, const void *beta, void *C, cudaDataType ct, int ldc,
    long long sc, int count, cublasComputeType_t ctp, cublasGemmAlgo_t algo) {
    for (int i = 0; i < count; i++) {
        cublasStatus_t s = cublasGemmEx(h, ta, tb, m, n, k, alpha, (const float*)A + i*sa, at, lda,
            (const float*)B + i*sb, bt, ldb, beta, (float*)C + i*sc, ct, ldc, ctp, algo);
        if (s) return s;
    }
    return CUBLAS_STATUS_SUCCESS;
}
#include "kernels/cuda/cuda_matmul.cu"
#include "kernels/cuda/cuda_attention.cu"

static float urand() { return (float)rand() / RAND_MAX * 2 - 1; }
static std::vector<float> rv(size_t n) { std::vector<float> v(n); for (auto &x : v) x = urand(); return v; }
static int fails;
static void cmp(const char *name, const std::vector<float> &a, const std::vector<float> &b) {
    double md = 0, mb = 1e-30;
    for (size_t i = 0; i < a.size(); i++) { md = std::max(md, (double)fabs(a[i]-b[i])); mb = std::max(mb, (double)fabs(b[i])); }
    printf("  %-60s %.2e %s\n", name, md/mb, md/mb < 1e-5 ? "ok" : "FAIL");
    if (!(md/mb < 1e-5)) fails++;
}

// the largest relative difference of a from b (to show a reduced precision changed the result)
static double rel_diff(const std::vector<float> &a, const std::vector<float> &b) {
    double md = 0, mb = 1e-30;
    for (size_t i = 0; i < a.size(); i++) { md = std::max(md, (double)fabs(a[i]-b[i])); mb = std::max(mb, (double)fabs(b[i])); }
    return md / mb;
}

// At tf32/bf16/fp16 the CUDA path (operands converted as on the GPU, 16-bit types to cuBLAS)
// must equal the CPU path (rounded fp32 copies, sgemm), and differ from the fp32 product.
static void check_precisions() {
    const KPrecision ps[] = {K_PREC_TF32, K_PREC_BF16, K_PREC_FP16};
    const char *names[] = {"tf32", "bf16", "fp16"};
    const cublasComputeType_t want_ct[] = {CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F};
    const double min_change[] = {1e-5, 1e-4, 1e-5};  // well below the type's 2^-11 / 2^-8 / 2^-11
    int n = 37, k = 300, m = 29;
    char nm[200];
    auto x = rv((size_t)n*k), w = rv((size_t)m*k), dy = rv((size_t)n*m);
    for (auto &v : x) v *= 3.7f;  // values off the coarse grids
    for (int pi = 0; pi < 3; pi++) for (int layout = 0; layout < 2; layout++) {
        std::vector<float> y32((size_t)n*m), y((size_t)n*m), y2((size_t)n*m);
        g_prec = K_PREC_FP32;
        cpu_op_matmul(y32.data(), x.data(), w.data(), NULL, n, k, m, (KWLayout)layout, 0);
        g_prec = ps[pi];
        cpu_op_matmul(y.data(), x.data(), w.data(), NULL, n, k, m, (KWLayout)layout, 0);
        cuda_op_matmul(y2.data(), x.data(), w.data(), NULL, n, k, m, (KWLayout)layout, 0);
        snprintf(nm, sizeof nm, "%s matmul %d %d %d L%d", names[pi], n, k, m, layout); cmp(nm, y2, y);
        if (g_last_ct != want_ct[pi]) { printf("  %s: compute type %d\n", nm, (int)g_last_ct); fails++; }
        double ch = rel_diff(y, y32);
        printf("  %-60s %.2e %s\n", "  (changed from fp32 by)", ch, ch > min_change[pi] ? "ok" : "FAIL");
        if (!(ch > min_change[pi])) fails++;
        std::vector<float> dx((size_t)n*k), dx2((size_t)n*k), dw((size_t)m*k), dw2((size_t)m*k);
        cpu_op_matmul_backward(dx.data(), dy.data(), w.data(), n, k, m, (KWLayout)layout, 0);
        cuda_op_matmul_backward(dx2.data(), dy.data(), w.data(), n, k, m, (KWLayout)layout, 0);
        snprintf(nm, sizeof nm, "%s matmul_backward L%d", names[pi], layout); cmp(nm, dx2, dx);
        cpu_op_dense_backward(NULL, dw.data(), NULL, dy.data(), x.data(), w.data(), n, k, m, 0);
        cuda_op_dense_backward(NULL, dw2.data(), NULL, dy.data(), x.data(), w.data(), n, k, m, 0);
        snprintf(nm, sizeof nm, "%s dense dw", names[pi]); cmp(nm, dw2, dw);
    }
    g_prec = K_PREC_FP32;
}

int main() {
    int shapes[][3] = {{1,1,1},{7,13,5},{33,65,17},{4,200,3}};
    char nm[200];
    check_precisions();
    for (auto &sh : shapes) { int n = sh[0], k = sh[1], m = sh[2];
      for (int layout = 0; layout < 2; layout++) for (int acc = 0; acc < 2; acc++) {
        auto x = rv((size_t)n*k), w = rv((size_t)m*k), y = rv((size_t)n*m), y2 = y;
        cpu_op_matmul(y.data(), x.data(), w.data(), NULL, n, k, m, (KWLayout)layout, acc);
        cuda_op_matmul(y2.data(), x.data(), w.data(), NULL, n, k, m, (KWLayout)layout, acc);
        snprintf(nm, sizeof nm, "matmul %d %d %d L%d acc%d", n, k, m, layout, acc); cmp(nm, y2, y);
        auto dy = rv((size_t)n*m), dx = rv((size_t)n*k), dx2 = dx;
        cpu_op_matmul_backward(dx.data(), dy.data(), w.data(), n, k, m, (KWLayout)layout, acc);
        cuda_op_matmul_backward(dx2.data(), dy.data(), w.data(), n, k, m, (KWLayout)layout, acc);
        snprintf(nm, sizeof nm, "matmul_backward %d %d %d L%d acc%d", n, k, m, layout, acc); cmp(nm, dx2, dx);
        auto dw = rv((size_t)m*k), dw2 = dw;
        cpu_op_dense_backward(NULL, dw.data(), NULL, dy.data(), x.data(), w.data(), n, k, m, acc);
        cuda_op_dense_backward(NULL, dw2.data(), NULL, dy.data(), x.data(), w.data(), n, k, m, acc);
        snprintf(nm, sizeof nm, "dense dw %d %d %d", n, k, m); cmp(nm, dw2, dw);
        // the weight gradient of pretraining: dw [m,k] (OUT_IN) or [k,m] (IN_OUT), always +=
        auto gw = rv((size_t)m*k), gw2 = gw;
        cpu_op_matmul_weight_grad(gw.data(), NULL, dy.data(), x.data(), n, k, m, (KWLayout)layout);
        cuda_op_matmul_weight_grad(gw2.data(), NULL, dy.data(), x.data(), n, k, m, (KWLayout)layout);
        snprintf(nm, sizeof nm, "weight_grad dw %d %d %d L%d", n, k, m, layout); cmp(nm, gw2, gw);
      }
    }
    // attention products: S = scale Q K^T per (b,h) through per_head_gemm, vs a direct loop
    int cases[][5] = {{2,5,7,3,4},{1,6,6,4,5},{5,3,9,2,3}};
    for (auto &c : cases) for (int packed = 0; packed < 2; packed++) {
        int B=c[0],Tq=c[1],Tk=packed?c[1]:c[2],H=c[3],dh=c[4],w=H*dh;
        KAttnShape s = {B,Tq,Tk,H,dh, packed?3*w:w+1, packed?3*w:w+2, w+3, 0, NULL, 0.7f};
        auto q = rv((size_t)B*Tq*s.ld_q), k = packed ? q : rv((size_t)B*Tk*s.ld_kv), v = packed ? q : rv((size_t)B*Tk*s.ld_kv);
        const float *qp = q.data(), *kp = k.data() + (packed ? w : 0), *vp = v.data() + (packed ? 2*w : 0);
        size_t pn = (size_t)B*H*Tq*Tk;
        std::vector<float> S(pn), Sref(pn);
        Operand P = p_operand(&s, S.data());
        per_head_gemm(&s, CUBLAS_OP_N, CUBLAS_OP_T, Tq, Tk, dh, s.scale, q_operand(&s, qp), kv_operand(&s, kp), 0.0f, S.data(), P.ld, P.bstride, P.hstride);
        for (int b=0;b<B;b++) for(int h=0;h<H;h++) for(int i=0;i<Tq;i++) for(int j=0;j<Tk;j++){ double a=0; for(int c2=0;c2<dh;c2++) a+= (double)qp[(size_t)(b*Tq+i)*s.ld_q+h*dh+c2]*kp[(size_t)(b*Tk+j)*s.ld_kv+h*dh+c2]; Sref[(((size_t)b*H+h)*Tq+i)*Tk+j]=(float)(a*s.scale);}
        snprintf(nm, sizeof nm, "attn S B%d Tq%d Tk%d H%d dh%d packed%d", B,Tq,Tk,H,dh,packed); cmp(nm, S, Sref);
        // make S a probability-like matrix (any values do for the products), then O = P V
        size_t on = (size_t)B*Tq*s.ld_o; auto O = rv(on), Oref = O;
        Operand Oo = o_operand(&s, O.data());
        per_head_gemm(&s, CUBLAS_OP_N, CUBLAS_OP_N, Tq, dh, Tk, 1.0f, P, kv_operand(&s, vp), 0.0f, O.data(), Oo.ld, Oo.bstride, Oo.hstride);
        for (int b=0;b<B;b++) for(int h=0;h<H;h++) for(int i=0;i<Tq;i++) for(int c2=0;c2<dh;c2++){ double a=0; for(int j=0;j<Tk;j++) a+=(double)S[(((size_t)b*H+h)*Tq+i)*Tk+j]*vp[(size_t)(b*Tk+j)*s.ld_kv+h*dh+c2]; Oref[(size_t)(b*Tq+i)*s.ld_o+h*dh+c2]=(float)a;}
        snprintf(nm, sizeof nm, "attn O B%d Tq%d Tk%d H%d dh%d packed%d", B,Tq,Tk,H,dh,packed); cmp(nm, O, Oref);
        // dV = P^T dO (acc=1) and dK = scale dS^T Q, dQ = scale dS K
        auto dO = rv(on); auto dV = rv(v.size()), dVref = dV;
        Operand dOo = o_operand(&s, dO.data()); Operand dVo = kv_operand(&s, dV.data() + (packed?2*w:0));
        per_head_gemm(&s, CUBLAS_OP_T, CUBLAS_OP_N, Tk, dh, Tq, 1.0f, P, dOo, 1.0f, (float*)dVo.p, dVo.ld, dVo.bstride, dVo.hstride);
        for (int b=0;b<B;b++) for(int h=0;h<H;h++) for(int j=0;j<Tk;j++) for(int c2=0;c2<dh;c2++){ double a=0; for(int i=0;i<Tq;i++) a+=(double)S[(((size_t)b*H+h)*Tq+i)*Tk+j]*dO[(size_t)(b*Tq+i)*s.ld_o+h*dh+c2]; dVref[(size_t)(b*Tk+j)*s.ld_kv+h*dh+c2+(packed?2*w:0)]+=(float)a;}
        snprintf(nm, sizeof nm, "attn dV acc B%d Tq%d Tk%d H%d dh%d packed%d", B,Tq,Tk,H,dh,packed); cmp(nm, dV, dVref);
        auto dK = rv(k.size()), dKref = dK; Operand dKo = kv_operand(&s, dK.data() + (packed?w:0));
        per_head_gemm(&s, CUBLAS_OP_T, CUBLAS_OP_N, Tk, dh, Tq, s.scale, P, q_operand(&s, qp), 0.0f, (float*)dKo.p, dKo.ld, dKo.bstride, dKo.hstride);
        for (int b=0;b<B;b++) for(int h=0;h<H;h++) for(int j=0;j<Tk;j++) for(int c2=0;c2<dh;c2++){ double a=0; for(int i=0;i<Tq;i++) a+=(double)S[(((size_t)b*H+h)*Tq+i)*Tk+j]*qp[(size_t)(b*Tq+i)*s.ld_q+h*dh+c2]; dKref[(size_t)(b*Tk+j)*s.ld_kv+h*dh+c2+(packed?w:0)]=(float)(a*s.scale);}
        snprintf(nm, sizeof nm, "attn dK B%d Tq%d Tk%d H%d dh%d packed%d", B,Tq,Tk,H,dh,packed); cmp(nm, dK, dKref);
        auto dQ = rv(q.size()), dQref = dQ; Operand dQo = q_operand(&s, dQ.data());
        per_head_gemm(&s, CUBLAS_OP_N, CUBLAS_OP_N, Tq, dh, Tk, s.scale, P, kv_operand(&s, kp), 0.0f, dQ.data(), dQo.ld, dQo.bstride, dQo.hstride);
        for (int b=0;b<B;b++) for(int h=0;h<H;h++) for(int i=0;i<Tq;i++) for(int c2=0;c2<dh;c2++){ double a=0; for(int j=0;j<Tk;j++) a+=(double)S[(((size_t)b*H+h)*Tq+i)*Tk+j]*kp[(size_t)(b*Tk+j)*s.ld_kv+h*dh+c2]; dQref[(size_t)(b*Tq+i)*s.ld_q+h*dh+c2]=(float)(a*s.scale);}
        snprintf(nm, sizeof nm, "attn dQ B%d Tq%d Tk%d H%d dh%d packed%d", B,Tq,Tk,H,dh,packed); cmp(nm, dQ, dQref);
        // dP = dO V^T
        std::vector<float> dP(pn), dPref(pn);
        per_head_gemm(&s, CUBLAS_OP_N, CUBLAS_OP_T, Tq, Tk, dh, 1.0f, dOo, kv_operand(&s, vp), 0.0f, dP.data(), P.ld, P.bstride, P.hstride);
        for (int b=0;b<B;b++) for(int h=0;h<H;h++) for(int i=0;i<Tq;i++) for(int j=0;j<Tk;j++){ double a=0; for(int c2=0;c2<dh;c2++) a+=(double)dO[(size_t)(b*Tq+i)*s.ld_o+h*dh+c2]*vp[(size_t)(b*Tk+j)*s.ld_kv+h*dh+c2]; dPref[(((size_t)b*H+h)*Tq+i)*Tk+j]=(float)a;}
        snprintf(nm, sizeof nm, "attn dP B%d Tq%d Tk%d H%d dh%d packed%d", B,Tq,Tk,H,dh,packed); cmp(nm, dP, dPref);
    }
    printf("%d gemm calls, %d failures\n", calls, fails);
    return fails != 0;
}
