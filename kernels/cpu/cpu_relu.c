/* kernels/cpu/cpu_relu.c — ReLU and its backward (CoCoOp's meta-net). */
#include "kernels/cpu/cpu_internal.h"

void cpu_op_relu(float *y, const float *x, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_relu", y);
    CPU_CHECK_PTR("op_relu", x);
    #pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void cpu_op_relu_backward(float *dx, const float *dy, const float *x, size_t n, int acc) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_relu_backward", dx);
    CPU_CHECK_PTR("op_relu_backward", dy);
    CPU_CHECK_PTR("op_relu_backward", x);
    #pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = x[i] > 0.0f ? dy[i] : 0.0f;
        dx[i] = acc ? dx[i] + g : g;
    }
}
