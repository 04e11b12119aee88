/* kernels/ops.h — the one op interface between core/ (which describes computation) and the
 * compute backends (kernels/cpu now, kernels/cuda later).
 *
 * Conventions (llm.c style):
 * - Every tensor argument is a backend pointer ("device pointer") to fp32 data, obtained from
 *   k_alloc. core/ may do pointer arithmetic on it (slicing) but never dereferences it.
 * - Host arrays (labels, row indices, token ids) are plain host memory: they describe work.
 * - Shapes are explicit arguments. Row-major everywhere; "n" rows of "d" features.
 * - Activation gradients are written with '=' unless the argument `acc` is non-zero, in which
 *   case they are added ('+='). Learnable-parameter gradients (dense layer, optional LayerNorm
 *   gamma/beta) are always accumulated ('+=').
 * - Frozen weights: W is stored [out, in] (Linear, layout K_W_OUT_IN) or [in, out] (CLIP's
 *   visual.proj / text_projection, layout K_W_IN_OUT).
 */
#ifndef CLIPGRID_KERNELS_OPS_H
#define CLIPGRID_KERNELS_OPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" { /* kernels/cuda is C++ */
#endif

/* ---- backend selection and memory ------------------------------------------------------- */

typedef enum { K_BACKEND_CPU = 0, K_BACKEND_CUDA = 1 } KBackendKind;

/* Initialise the CPU backend with `threads` OpenMP/OpenBLAS threads (<= 0: all cores). */
void k_init_cpu(int threads);
int k_threads(void);
KBackendKind k_backend(void);
const char *k_backend_name(void);
/* Switch to the CUDA backend on GPU `device` (< 0: 0). Returns 0, or −1
 * with cg_error when the program was built without CUDA or no driver/GPU is usable (the
 * backend in use is then unchanged). Choose the backend once, before the first k_alloc: memory
 * of one backend must never reach the other. */
int k_init_cuda(int device);
/* k_init_cpu(threads) (host threads), then the CUDA backend on `device` when one is usable;
 * otherwise the CPU backend stays. Returns 0; k_backend() says which was chosen. */
int k_init_auto(int threads, int device);
/* k_init_cpu(threads), then the backend named `name`: "cpu" (also NULL or ""), "cuda" (GPU
 * `device`, < 0: 0) or "auto" (k_init_auto). Returns 0, or −1 with cg_error when "cuda" was
 * asked for and no GPU is usable, or the name is unknown. (The program reads the name from
 * CLIPGRID_BACKEND in one place, runner/env.c; kernels/ reads no environment.) */
int k_init_named(const char *name, int threads, int device);
/* The CUDA backend's stream (a cudaStream_t) and device, for code that enqueues its own GPU
 * work in order with the ops (the NCCL comm); NULL and −1 on the CPU backend. */
void *k_cuda_stream(void);
int k_cuda_device(void);
/* Arithmetic of the matrix products op_matmul, op_matmul_backward and op_dense_backward (every
 * product but attention's, which stays fp32): "fp32" (the default), "tf32", "bf16" or "fp16".
 * At a reduced precision both inputs of each product are first rounded to that type (round to
 * nearest, ties to even: kernels/precision.h), their products are then exact in fp32 and are
 * accumulated in fp32; the output, every stored tensor, LayerNorm, softmax, the loss and the
 * optimiser stay fp32. The CPU backend computes exactly this (rounded copies, then sgemm), the
 * CUDA backend on the tensor cores (bf16/fp16 operands, fp32 accumulation): the two differ by
 * the order of the fp32 sums only. Returns 0, or −1 with cg_error for an unknown name. */
typedef enum { K_PREC_FP32 = 0, K_PREC_TF32, K_PREC_BF16, K_PREC_FP16 } KPrecision;
/* the names, indexed by KPrecision, NULL-terminated (for option parsers) */
extern const char *const K_PRECISION_NAMES[];
int k_set_matmul_precision(const char *name);
const char *k_matmul_precision(void);
KPrecision k_precision(void);
/* Declares that the n floats at p (k_alloc memory, or the CPU's shared host arena) do not
 * change until they are freed: a backend may keep them converted to the product precision
 * (the CUDA backend keeps bf16/fp16/tf32 copies of the frozen CLIP weights, made on first use,
 * dropped when the allocation holding them is freed with k_free). */
void k_weights_frozen(const float *p, size_t n);

float *k_alloc(size_t n);                 /* n floats, zero-filled; aborts with a message on OOM */
void k_free(float *p);
void k_zero(float *p, size_t n);
void k_fill(float *p, float value, size_t n);
void k_copy(float *dst, const float *src, size_t n);                  /* device -> device */
void k_upload(float *dst, const float *host_src, size_t n);          /* host fp32 -> device */
void k_download(float *host_dst, const float *src, size_t n);        /* device -> host fp32 */

typedef enum { K_F32 = 0, K_F16 = 1, K_BF16 = 2 } KDtype;
/* host data of dtype `dt` (little-endian, possibly unaligned) -> device fp32 */
void k_upload_cast(float *dst, const void *host_src, KDtype dt, size_t n);

/* ---- matrix products ---------------------------------------------------------------------- */

typedef enum { K_W_OUT_IN = 0, K_W_IN_OUT = 1 } KWLayout;

/* y[n,m] (+)= x[n,k] · W + bias.  W is [m,k] (OUT_IN: y = x·Wᵀ) or [k,m] (IN_OUT: y = x·W).
 * bias [m] may be NULL. acc != 0 adds to y (used to fuse residual adds). */
void op_matmul(float *y, const float *x, const float *w, const float *bias,
               int n, int k, int m, KWLayout layout, int acc);
/* dx[n,k] (+)= dy[n,m] · (dy/dx): the activation gradient of op_matmul. No weight gradient. */
void op_matmul_backward(float *dx, const float *dy, const float *w,
                        int n, int k, int m, KWLayout layout, int acc);

/* Learnable dense layer, W [m,k] (OUT_IN). Forward = op_matmul(..., K_W_OUT_IN, 0).
 * Backward: dw[m,k] += dyᵀ·x, db[m] += Σ_rows dy, dx[n,k] (+)= dy·W. dw, db, dx may be NULL. */
void op_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                       const float *w, int n, int k, int m, int acc);
/* The weight gradient of op_matmul for training the tower weights themselves (pretraining; the
 * frozen path never calls it): dw += dyᵀ·x (OUT_IN, dw [m,k]) or xᵀ·dy (IN_OUT, dw [k,m]), and
 * db[m] += Σ_rows dy when db is not NULL. Always accumulated; at the product precision. */
void op_matmul_weight_grad(float *dw, float *db, const float *dy, const float *x, int n, int k,
                           int m, KWLayout layout);

/* ---- normalisation and activations ---------------------------------------------------------- */

/* y = (x − μ)/sqrt(σ² + eps)·γ + β per row of d. mean, rstd [n] may be NULL (inference). */
void op_layernorm(float *y, float *mean, float *rstd, const float *x,
                  const float *gamma, const float *beta, int n, int d, float eps);
/* dx (+)= LayerNorm backward from the saved x, mean, rstd. dgamma, dbeta [d] may be NULL
 * (frozen γ/β); when given they are accumulated. */
void op_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *x, const float *mean, const float *rstd,
                           const float *gamma, int n, int d, int acc);

/* QuickGELU y = x·σ(1.702x), elementwise over n. */
void op_quickgelu(float *y, const float *x, size_t n);
void op_quickgelu_backward(float *dx, const float *dy, const float *x, size_t n, int acc);
/* exact GELU y = x·Φ(x) = ½x(1 + erf(x/√2)) (PyTorch nn.GELU()), elementwise over n. */
void op_gelu(float *y, const float *x, size_t n);
void op_gelu_backward(float *dx, const float *dy, const float *x, size_t n, int acc);

/* y[i] += x[i] */
void op_add(float *y, const float *x, size_t n);
/* y[o*n + j] += x[j] for o < outer: bias rows, positional embeddings. */
void op_add_broadcast(float *y, const float *x, size_t outer, size_t n);
void op_scale(float *y, float alpha, size_t n);

/* ---- attention ------------------------------------------------------------------------------ */

/* Multi-head scaled-dot-product attention, per batch b and head h (dh columns, head h uses
 * columns h*dh .. h*dh+dh-1 of each row):
 *   S = Q_h·K_hᵀ · scale (+ causal mask), P = softmax_rows(S), O_h = P·V_h.
 * Row strides (floats): ld_q for q rows, ld_kv for k and v rows, ld_o for o rows. Batch strides:
 * Tq*ld_q, Tk*ld_kv, Tq*ld_o. Causal: query row i (at sequence position q_pos[b*Tq+i], or i when
 * q_pos is NULL) sees keys j <= its position. probs [B, heads, Tq, Tk] is saved for backward
 * (may be NULL when no backward follows). */
typedef struct {
    int B, Tq, Tk, heads, dh;
    int ld_q, ld_kv, ld_o;
    int causal;
    const int *q_pos;  /* host [B*Tq] or NULL */
    float scale;       /* 1/sqrt(dh) */
} KAttnShape;

void op_attention(float *o, float *probs, const float *q, const float *k, const float *v,
                  const KAttnShape *s);
/* Gradients w.r.t. q, k, v (same strides as q, k, v). Written with '=' (acc = 0) or added. */
void op_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                           const float *probs, const float *q, const float *k, const float *v,
                           const KAttnShape *s, int acc);

/* ---- loss and normalisation of features ------------------------------------------------------ */

/* Mean softmax cross-entropy over B rows of C logits; labels host [B]. Writes dlogits [B,C]
 * (gradient of the mean loss, times `grad_scale`) when non-NULL. Returns the loss. */
double op_cross_entropy(float *dlogits, const float *logits, const int *labels, int B, int C,
                        float grad_scale);

/* y = x/‖x‖ per row of d; norms [n] saved (may be NULL). */
/* Σ a[i]·b[i] over n elements, summed in double in a fixed order (the same result for every
 * thread count): the gradient of a scalar that multiplies a tensor, e.g. CLIP's logit scale. */
double op_dot(const float *a, const float *b, size_t n);

void op_l2norm(float *y, float *norms, const float *x, int n, int d);
/* dx (+)= (dy − y·(y·dy))/‖x‖ */
void op_l2norm_backward(float *dx, const float *dy, const float *y, const float *norms,
                        int n, int d, int acc);

/* ---- token rows -------------------------------------------------------------------------- */

/* dst[i] = src[idx[i]] for i < n (rows of d floats). idx host. */
void op_gather_rows(float *dst, const float *src, const int *idx, int n, int d);
/* dst[idx[i]] += src[i] (scatter-add, the backward of gather) */
void op_scatter_add_rows(float *dst, const float *src, const int *idx, int n, int d);
/* For b < B: dst[b*dst_bs + j] (+)= src[b*src_bs + j], j < n. src_bs = 0 broadcasts one block. */
void op_copy_batched(float *dst, size_t dst_bs, const float *src, size_t src_bs, int B,
                     size_t n, int acc);
/* dst[j] (+)= Σ_b src[b*src_bs + j], j < n: the backward of a broadcast. */
void op_sum_batched(float *dst, const float *src, size_t src_bs, int B, size_t n, int acc);

/* ---- images ------------------------------------------------------------------------------- */

/* Patches of images [B,3,R,R] (C×H×W) into rows [B, g*g, 3*p*p] ordered (channel, row, col),
 * patch index r*g + c, g = R/p: the conv of the patch embedding becomes a matmul. */
void op_im2col_patches(float *cols, const float *img, int B, int R, int p);

/* ---- optimiser ------------------------------------------------------------------------------ */

/* PyTorch SGD (dampening 0, no Nesterov) over n elements, in fp32:
 *   g = grad + wd·p;  buf = g (first != 0) or momentum·buf + g;  p −= lr·buf */
void op_sgd_step(float *p, float *buf, const float *grad, size_t n, float lr, float momentum,
                 float wd, int first);
/* PyTorch AdamW (decoupled decay), in fp32, with bc1 = 1 − β1^t and bc2_sqrt = sqrt(1 − β2^t):
 *   p *= 1 − lr·wd;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
 *   p −= (lr/bc1) · m / (sqrt(v)/bc2_sqrt + eps) */
void op_adamw_step(float *p, float *m, float *v, const float *grad, size_t n, float lr,
                   float beta1, float beta2, float eps, float wd, float bc1, float bc2_sqrt);

/* ---- small layers of the methods' own modules ---------------------------------------------- */

/* y = max(x, 0); dx (+)= dy where x > 0 */
void op_relu(float *y, const float *x, size_t n);
void op_relu_backward(float *dx, const float *dy, const float *x, size_t n, int acc);

#ifdef __cplusplus
}
#endif

#endif
