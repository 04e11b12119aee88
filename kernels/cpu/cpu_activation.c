/* kernels/cpu/cpu_activation.c — elementwise ops: QuickGELU x·σ(1.702x) and its derivative,
 * exact GELU x·Φ(x) (erf) and its derivative, residual add, broadcast add (bias rows, positional embeddings) and scaling. */
/* No code here reads the floating-point exception flags; without this GCC will not if-convert
 * the clamps in cpu_expf on AVX2 machines and leaves the exponential loops scalar. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "kernels/cpu/cpu_internal.h"

/* 512-bit vectors where the machine has them (GCC defaults to 256 bits on AVX-512 machines):
 * QuickGELU is compute-bound in its exponential */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("prefer-vector-width=512")
#endif

void cpu_op_quickgelu(float *y, const float *x, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_quickgelu", y);
    CPU_CHECK_PTR("op_quickgelu", x);
    #pragma omp parallel for simd schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = x[i] * cpu_sigmoidf(1.702f * x[i]);
}

/* d/dx x·σ(ax) = σ + a·x·σ·(1 − σ) */
void cpu_op_quickgelu_backward(float *dx, const float *dy, const float *x, size_t n, int acc) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_quickgelu_backward", dx);
    CPU_CHECK_PTR("op_quickgelu_backward", dy);
    CPU_CHECK_PTR("op_quickgelu_backward", x);
    if (acc) {
        #pragma omp parallel for simd schedule(static) if (n >= CPU_PAR_MIN)
        for (size_t i = 0; i < n; i++) {
            float s = cpu_sigmoidf(1.702f * x[i]);
            dx[i] += dy[i] * (s + 1.702f * x[i] * s * (1.0f - s));
        }
    } else {
        #pragma omp parallel for simd schedule(static) if (n >= CPU_PAR_MIN)
        for (size_t i = 0; i < n; i++) {
            float s = cpu_sigmoidf(1.702f * x[i]);
            dx[i] = dy[i] * (s + 1.702f * x[i] * s * (1.0f - s));
        }
    }
}

/* exact GELU (open_clip's nn.GELU, HF "gelu"): y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)) */
#define GELU_RSQRT2 0.70710678118654752440f
#define GELU_RSQRT2PI 0.39894228040143267794f

void cpu_op_gelu(float *y, const float *x, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_gelu", y);
    CPU_CHECK_PTR("op_gelu", x);
    #pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * GELU_RSQRT2));
}

/* d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π) */
void cpu_op_gelu_backward(float *dx, const float *dy, const float *x, size_t n, int acc) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_gelu_backward", dx);
    CPU_CHECK_PTR("op_gelu_backward", dy);
    CPU_CHECK_PTR("op_gelu_backward", x);
    #pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float cdf = 0.5f * (1.0f + erff(x[i] * GELU_RSQRT2));
        float pdf = expf(-0.5f * x[i] * x[i]) * GELU_RSQRT2PI;
        float g = dy[i] * (cdf + x[i] * pdf);
        dx[i] = acc ? dx[i] + g : g;
    }
}

void cpu_op_add(float *y, const float *x, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_add", y);
    CPU_CHECK_PTR("op_add", x);
    #pragma omp parallel for simd schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void cpu_op_add_broadcast(float *y, const float *x, size_t outer, size_t n) {
    if (outer == 0 || n == 0) return;
    CPU_CHECK_PTR("op_add_broadcast", y);
    CPU_CHECK_PTR("op_add_broadcast", x);
    #pragma omp parallel for schedule(static) if (outer * n >= CPU_PAR_MIN)
    for (size_t o = 0; o < outer; o++) {
        float *yo = y + o * n;
        #pragma omp simd
        for (size_t j = 0; j < n; j++) yo[j] += x[j];
    }
}

void cpu_op_scale(float *y, float alpha, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_scale", y);
    #pragma omp parallel for simd schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] *= alpha;
}
