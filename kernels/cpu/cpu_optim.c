/* kernels/cpu/cpu_optim.c — the optimiser updates of the learnable block: PyTorch's SGD with
 * momentum and weight decay, and AdamW, elementwise in fp32 in PyTorch's operation order. */
#include "kernels/cpu/cpu_internal.h"

void cpu_op_sgd_step(float *p, float *buf, const float *grad, size_t n, float lr, float momentum,
                 float wd, int first) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_sgd_step", p);
    CPU_CHECK_PTR("op_sgd_step", buf);
    CPU_CHECK_PTR("op_sgd_step", grad);
    #pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + wd * p[i];
        float b = first ? g : momentum * buf[i] + g;
        buf[i] = b;
        p[i] = p[i] - lr * b;
    }
}

void cpu_op_adamw_step(float *p, float *m, float *v, const float *grad, size_t n, float lr,
                   float beta1, float beta2, float eps, float wd, float bc1, float bc2_sqrt) {
    if (n == 0) return;
    CPU_CHECK_PTR("op_adamw_step", p);
    CPU_CHECK_PTR("op_adamw_step", m);
    CPU_CHECK_PTR("op_adamw_step", v);
    CPU_CHECK_PTR("op_adamw_step", grad);
    float decay = 1.0f - lr * wd, step = lr / bc1;
    #pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i], x = p[i] * decay;
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi, v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = x - step * (mi / denom);
    }
}
