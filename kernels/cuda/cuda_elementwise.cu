/* kernels/cuda/cuda_elementwise.cu — the elementwise ops on the GPU, one grid-stride kernel
 * each: QuickGELU x·σ(1.702x) and its derivative, exact GELU x·Φ(x) (erf) and its derivative, ReLU, residual add, broadcast add, scaling, and
 * the optimiser updates (PyTorch's SGD and AdamW, fp32, in PyTorch's operation order). Same
 * formulas as kernels/cpu/cpu_activation.c, cpu_relu.c and cpu_optim.c. */
#include "kernels/cuda/cuda_common.cuh"

#define LAUNCH(kernel, n, ...)                                                        \
    do {                                                                              \
        kernel<<<cu_blocks(n), CU_THREADS, 0, cu_stream()>>>(__VA_ARGS__);            \
        CUDA_CHECK_LAUNCH();                                                          \
    } while (0)

/* Products and sums are rounded step by step as in the CPU backend (ISO C: no contraction): the
 * _rn intrinsics keep nvcc from fusing them into FMAs. With that the optimiser updates are
 * bit-identical to the CPU's; QuickGELU differs only through expf (CUDA's vs the CPU's own). */
static __device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* ---- QuickGELU ------------------------------------------------------------------------------ */

static __global__ void quickgelu_kernel(float *y, const float *x, size_t n) {
    CU_GRID_STRIDE(i, n) y[i] = x[i] * sigmoid(1.702f * x[i]);
}

/* d/dx x·σ(ax) = σ + a·x·σ·(1 − σ) */
static __global__ void quickgelu_backward_kernel(float *dx, const float *dy, const float *x,
                                                 size_t n, int acc) {
    CU_GRID_STRIDE(i, n) {
        float s = sigmoid(1.702f * x[i]);
        float t = __fmul_rn(__fmul_rn(__fmul_rn(1.702f, x[i]), s), 1.0f - s);
        float g = __fmul_rn(dy[i], __fadd_rn(s, t));
        dx[i] = acc ? dx[i] + g : g;
    }
}

extern "C" void cuda_op_quickgelu(float *y, const float *x, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("op_quickgelu", y);
    CU_CHECK_PTR("op_quickgelu", x);
    LAUNCH(quickgelu_kernel, n, y, x, n);
}

extern "C" void cuda_op_quickgelu_backward(float *dx, const float *dy, const float *x, size_t n,
                                           int acc) {
    if (n == 0) return;
    CU_CHECK_PTR("op_quickgelu_backward", dx);
    CU_CHECK_PTR("op_quickgelu_backward", dy);
    CU_CHECK_PTR("op_quickgelu_backward", x);
    LAUNCH(quickgelu_backward_kernel, n, dx, dy, x, n, acc);
}

/* ---- exact GELU ---------------------------------------------------------------------------- */

#define GELU_RSQRT2 0.70710678118654752440f
#define GELU_RSQRT2PI 0.39894228040143267794f

/* y = ½x(1 + erf(x/√2)), rounded step by step like kernels/cpu/cpu_activation.c */
static __global__ void gelu_kernel(float *y, const float *x, size_t n) {
    CU_GRID_STRIDE(i, n) {
        float c = __fadd_rn(1.0f, erff(__fmul_rn(x[i], GELU_RSQRT2)));
        y[i] = __fmul_rn(__fmul_rn(0.5f, x[i]), c);
    }
}

/* d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π) */
static __global__ void gelu_backward_kernel(float *dx, const float *dy, const float *x, size_t n,
                                            int acc) {
    CU_GRID_STRIDE(i, n) {
        float cdf = __fmul_rn(0.5f, __fadd_rn(1.0f, erff(__fmul_rn(x[i], GELU_RSQRT2))));
        float pdf = __fmul_rn(expf(__fmul_rn(__fmul_rn(-0.5f, x[i]), x[i])), GELU_RSQRT2PI);
        float g = __fmul_rn(dy[i], __fadd_rn(cdf, __fmul_rn(x[i], pdf)));
        dx[i] = acc ? __fadd_rn(dx[i], g) : g;
    }
}

extern "C" void cuda_op_gelu(float *y, const float *x, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("op_gelu", y);
    CU_CHECK_PTR("op_gelu", x);
    LAUNCH(gelu_kernel, n, y, x, n);
}

extern "C" void cuda_op_gelu_backward(float *dx, const float *dy, const float *x, size_t n,
                                      int acc) {
    if (n == 0) return;
    CU_CHECK_PTR("op_gelu_backward", dx);
    CU_CHECK_PTR("op_gelu_backward", dy);
    CU_CHECK_PTR("op_gelu_backward", x);
    LAUNCH(gelu_backward_kernel, n, dx, dy, x, n, acc);
}

/* ---- ReLU ----------------------------------------------------------------------------------- */

static __global__ void relu_kernel(float *y, const float *x, size_t n) {
    CU_GRID_STRIDE(i, n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static __global__ void relu_backward_kernel(float *dx, const float *dy, const float *x, size_t n,
                                            int acc) {
    CU_GRID_STRIDE(i, n) {
        float g = x[i] > 0.0f ? dy[i] : 0.0f;
        dx[i] = acc ? dx[i] + g : g;
    }
}

extern "C" void cuda_op_relu(float *y, const float *x, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("op_relu", y);
    CU_CHECK_PTR("op_relu", x);
    LAUNCH(relu_kernel, n, y, x, n);
}

extern "C" void cuda_op_relu_backward(float *dx, const float *dy, const float *x, size_t n,
                                      int acc) {
    if (n == 0) return;
    CU_CHECK_PTR("op_relu_backward", dx);
    CU_CHECK_PTR("op_relu_backward", dy);
    CU_CHECK_PTR("op_relu_backward", x);
    LAUNCH(relu_backward_kernel, n, dx, dy, x, n, acc);
}

/* ---- adds and scaling ----------------------------------------------------------------------- */

static __global__ void add_kernel(float *y, const float *x, size_t n) {
    CU_GRID_STRIDE(i, n) y[i] += x[i];
}

/* y[o*n + j] += x[j] */
static __global__ void add_broadcast_kernel(float *y, const float *x, size_t total, size_t n) {
    CU_GRID_STRIDE(i, total) y[i] += x[i % n];
}

static __global__ void scale_kernel(float *y, float alpha, size_t n) {
    CU_GRID_STRIDE(i, n) y[i] *= alpha;
}

extern "C" void cuda_op_add(float *y, const float *x, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("op_add", y);
    CU_CHECK_PTR("op_add", x);
    LAUNCH(add_kernel, n, y, x, n);
}

extern "C" void cuda_op_add_broadcast(float *y, const float *x, size_t outer, size_t n) {
    if (outer == 0 || n == 0) return;
    CU_CHECK_PTR("op_add_broadcast", y);
    CU_CHECK_PTR("op_add_broadcast", x);
    LAUNCH(add_broadcast_kernel, outer * n, y, x, outer * n, n);
}

extern "C" void cuda_op_scale(float *y, float alpha, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("op_scale", y);
    LAUNCH(scale_kernel, n, y, alpha, n);
}

/* ---- optimiser ------------------------------------------------------------------------------ */

static __global__ void sgd_kernel(float *p, float *buf, const float *grad, size_t n, float lr,
                                  float momentum, float wd, int first) {
    CU_GRID_STRIDE(i, n) {
        float g = __fadd_rn(grad[i], __fmul_rn(wd, p[i]));
        float b = first ? g : __fadd_rn(__fmul_rn(momentum, buf[i]), g);
        buf[i] = b;
        p[i] = __fsub_rn(p[i], __fmul_rn(lr, b));
    }
}

static __global__ void adamw_kernel(float *p, float *m, float *v, const float *grad, size_t n,
                                    float beta1, float beta2, float eps, float decay, float step,
                                    float bc2_sqrt) {
    CU_GRID_STRIDE(i, n) {
        float g = grad[i], x = p[i] * decay;
        float mi = __fadd_rn(__fmul_rn(beta1, m[i]), __fmul_rn(1.0f - beta1, g));
        float vi = __fadd_rn(__fmul_rn(beta2, v[i]), __fmul_rn(__fmul_rn(1.0f - beta2, g), g));
        m[i] = mi;
        v[i] = vi;
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2_sqrt), eps);
        p[i] = __fsub_rn(x, __fmul_rn(step, __fdiv_rn(mi, denom)));
    }
}

extern "C" void cuda_op_sgd_step(float *p, float *buf, const float *grad, size_t n, float lr,
                                 float momentum, float wd, int first) {
    if (n == 0) return;
    CU_CHECK_PTR("op_sgd_step", p);
    CU_CHECK_PTR("op_sgd_step", buf);
    CU_CHECK_PTR("op_sgd_step", grad);
    LAUNCH(sgd_kernel, n, p, buf, grad, n, lr, momentum, wd, first);
}

extern "C" void cuda_op_adamw_step(float *p, float *m, float *v, const float *grad, size_t n,
                                   float lr, float beta1, float beta2, float eps, float wd,
                                   float bc1, float bc2_sqrt) {
    if (n == 0) return;
    CU_CHECK_PTR("op_adamw_step", p);
    CU_CHECK_PTR("op_adamw_step", m);
    CU_CHECK_PTR("op_adamw_step", v);
    CU_CHECK_PTR("op_adamw_step", grad);
    float decay = 1.0f - lr * wd, step = lr / bc1; /* on the host, as the CPU backend */
    LAUNCH(adamw_kernel, n, p, m, v, grad, n, beta1, beta2, eps, decay, step, bc2_sqrt);
}
