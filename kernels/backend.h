/* kernels/backend.h — the table of a compute backend: one entry per function of kernels/ops.h
 * that touches tensor data. kernels/dispatch.c defines every public op_* / k_* function as a
 * call through the active backend's table; kernels/cpu implements them as cpu_<name> and
 * kernels/cuda as cuda_<name>.
 *
 * Adding an op: declare it in kernels/ops.h, add ONE line to K_OPS below (V for a function
 * returning void, R(type, ...) otherwise: name, parameter list, argument list), and define
 * cpu_<name> in kernels/cpu and cuda_<name> in kernels/cuda (the compiler checks both
 * definitions against the prototypes generated here).
 * Only kernels/ includes this header. */
#ifndef CLIPGRID_KERNELS_BACKEND_H
#define CLIPGRID_KERNELS_BACKEND_H

#include "kernels/ops.h"

#define K_OPS(V, R)                                                                              \
    /* memory */                                                                                 \
    R(float *, k_alloc, (size_t n), (n))                                                         \
    V(k_free, (float *p), (p))                                                                   \
    V(k_zero, (float *p, size_t n), (p, n))                                                      \
    V(k_fill, (float *p, float value, size_t n), (p, value, n))                                  \
    V(k_copy, (float *dst, const float *src, size_t n), (dst, src, n))                           \
    V(k_upload, (float *dst, const float *host_src, size_t n), (dst, host_src, n))               \
    V(k_download, (float *host_dst, const float *src, size_t n), (host_dst, src, n))             \
    V(k_upload_cast, (float *dst, const void *host_src, KDtype dt, size_t n),                    \
      (dst, host_src, dt, n))                                                                    \
    V(k_weights_frozen, (const float *p, size_t n), (p, n))                                      \
    /* matrix products */                                                                        \
    V(op_matmul, (float *y, const float *x, const float *w, const float *bias, int n, int k,     \
                  int m, KWLayout layout, int acc), (y, x, w, bias, n, k, m, layout, acc))       \
    V(op_matmul_backward, (float *dx, const float *dy, const float *w, int n, int k, int m,      \
                           KWLayout layout, int acc), (dx, dy, w, n, k, m, layout, acc))         \
    V(op_dense_backward, (float *dx, float *dw, float *db, const float *dy, const float *x,      \
                          const float *w, int n, int k, int m, int acc),                         \
      (dx, dw, db, dy, x, w, n, k, m, acc))                                                      \
    V(op_matmul_weight_grad, (float *dw, float *db, const float *dy, const float *x, int n,      \
                              int k, int m, KWLayout layout), (dw, db, dy, x, n, k, m, layout))  \
    /* normalisation and activations */                                                          \
    V(op_layernorm, (float *y, float *mean, float *rstd, const float *x, const float *gamma,     \
                     const float *beta, int n, int d, float eps),                                \
      (y, mean, rstd, x, gamma, beta, n, d, eps))                                                \
    V(op_layernorm_backward, (float *dx, float *dgamma, float *dbeta, const float *dy,           \
                              const float *x, const float *mean, const float *rstd,              \
                              const float *gamma, int n, int d, int acc),                        \
      (dx, dgamma, dbeta, dy, x, mean, rstd, gamma, n, d, acc))                                  \
    V(op_quickgelu, (float *y, const float *x, size_t n), (y, x, n))                             \
    V(op_quickgelu_backward, (float *dx, const float *dy, const float *x, size_t n, int acc),    \
      (dx, dy, x, n, acc))                                                                       \
    V(op_gelu, (float *y, const float *x, size_t n), (y, x, n))                                  \
    V(op_gelu_backward, (float *dx, const float *dy, const float *x, size_t n, int acc),         \
      (dx, dy, x, n, acc))                                                                       \
    V(op_add, (float *y, const float *x, size_t n), (y, x, n))                                   \
    V(op_add_broadcast, (float *y, const float *x, size_t outer, size_t n), (y, x, outer, n))    \
    V(op_scale, (float *y, float alpha, size_t n), (y, alpha, n))                                \
    /* attention */                                                                              \
    V(op_attention, (float *o, float *probs, const float *q, const float *k, const float *v,     \
                     const KAttnShape *s), (o, probs, q, k, v, s))                               \
    V(op_attention_backward, (float *dq, float *dk, float *dv, const float *dout,                \
                              const float *probs, const float *q, const float *k,                \
                              const float *v, const KAttnShape *s, int acc),                     \
      (dq, dk, dv, dout, probs, q, k, v, s, acc))                                                \
    /* loss and feature normalisation */                                                         \
    R(double, op_cross_entropy, (float *dlogits, const float *logits, const int *labels, int B,  \
                                 int C, float grad_scale),                                       \
      (dlogits, logits, labels, B, C, grad_scale))                                               \
    R(double, op_dot, (const float *a, const float *b, size_t n), (a, b, n))                    \
    V(op_l2norm, (float *y, float *norms, const float *x, int n, int d), (y, norms, x, n, d))    \
    V(op_l2norm_backward, (float *dx, const float *dy, const float *y, const float *norms,       \
                           int n, int d, int acc), (dx, dy, y, norms, n, d, acc))                \
    /* token rows */                                                                             \
    V(op_gather_rows, (float *dst, const float *src, const int *idx, int n, int d),              \
      (dst, src, idx, n, d))                                                                     \
    V(op_scatter_add_rows, (float *dst, const float *src, const int *idx, int n, int d),         \
      (dst, src, idx, n, d))                                                                     \
    V(op_copy_batched, (float *dst, size_t dst_bs, const float *src, size_t src_bs, int B,       \
                        size_t n, int acc), (dst, dst_bs, src, src_bs, B, n, acc))               \
    V(op_sum_batched, (float *dst, const float *src, size_t src_bs, int B, size_t n, int acc),   \
      (dst, src, src_bs, B, n, acc))                                                             \
    /* images */                                                                                 \
    V(op_im2col_patches, (float *cols, const float *img, int B, int R, int p),                   \
      (cols, img, B, R, p))                                                                      \
    /* optimiser */                                                                              \
    V(op_sgd_step, (float *p, float *buf, const float *grad, size_t n, float lr,                 \
                    float momentum, float wd, int first),                                        \
      (p, buf, grad, n, lr, momentum, wd, first))                                                \
    V(op_adamw_step, (float *p, float *m, float *v, const float *grad, size_t n, float lr,       \
                      float beta1, float beta2, float eps, float wd, float bc1, float bc2_sqrt), \
      (p, m, v, grad, n, lr, beta1, beta2, eps, wd, bc1, bc2_sqrt))                              \
    /* small layers of the methods' own modules */                                               \
    V(op_relu, (float *y, const float *x, size_t n), (y, x, n))                                  \
    V(op_relu_backward, (float *dx, const float *dy, const float *x, size_t n, int acc),         \
      (dx, dy, x, n, acc))

/* the table: kind, name and one function pointer per entry of K_OPS */
#define K_MEMBER_V(name, params, args) void(*name) params;
#define K_MEMBER_R(type, name, params, args) type(*name) params;
typedef struct KBackend {
    KBackendKind kind;
    const char *name;
    K_OPS(K_MEMBER_V, K_MEMBER_R)
} KBackend;

/* prototypes of the implementations: cpu_<name> (kernels/cpu), cuda_<name> (kernels/cuda) */
#define K_PROTO_CPU_V(name, params, args) void cpu_##name params;
#define K_PROTO_CPU_R(type, name, params, args) type cpu_##name params;
#define K_PROTO_CUDA_V(name, params, args) void cuda_##name params;
#define K_PROTO_CUDA_R(type, name, params, args) type cuda_##name params;

#ifdef __cplusplus
extern "C" {
#endif
K_OPS(K_PROTO_CPU_V, K_PROTO_CPU_R)
/* the CPU backend's own set-up (kernels/cpu/cpu_backend.c) */
void cpu_k_init_cpu(int threads);
#ifdef CG_HAVE_CUDA
K_OPS(K_PROTO_CUDA_V, K_PROTO_CUDA_R)
/* the CUDA backend's set-up (kernels/cuda/cuda_backend.cu): 0, or −1 with cg_error */
int cuda_init(int device);
int cuda_device(void);
void *cuda_stream(void);
#endif
#ifdef __cplusplus
}
#endif

#endif
