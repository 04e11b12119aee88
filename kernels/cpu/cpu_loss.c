/* kernels/cpu/cpu_loss.c — mean softmax cross-entropy (log-sum-exp, loss summed in double) with
 * its logit gradient, the dot product of two tensors (a scale's gradient), and the feature L2 normalisation x/‖x‖ (no epsilon, as OpenAI CLIP) with
 * its backward. */
#include <stdlib.h>  // defines: free

#include "kernels/cpu/cpu_internal.h"

double cpu_op_cross_entropy(float *dlogits, const float *logits, const int *labels, int B, int C,
                        float grad_scale) {
    if (B <= 0 || C <= 0) cg_fatal("op_cross_entropy: B=%d C=%d must be positive", B, C);
    CPU_CHECK_PTR("op_cross_entropy", logits);
    CPU_CHECK_PTR("op_cross_entropy", labels);
    for (int i = 0; i < B; i++)
        if (labels[i] < 0 || labels[i] >= C)
            cg_fatal("op_cross_entropy: labels[%d]=%d must be in [0, %d)", i, labels[i], C);
    double *row_loss = cg_malloc((size_t)B * sizeof(double));
    double gscale = (double)grad_scale / B;
    #pragma omp parallel for schedule(static) if ((size_t)B * C >= CPU_PAR_MIN / 4)
    for (int i = 0; i < B; i++) {
        const float *l = logits + (size_t)i * C;
        float mx = l[0];
        for (int c = 1; c < C; c++) mx = l[c] > mx ? l[c] : mx;
        double s = 0.0;
        for (int c = 0; c < C; c++) s += exp((double)l[c] - mx);
        double lse = mx + log(s);
        row_loss[i] = lse - l[labels[i]];
        if (dlogits) {
            float *g = dlogits + (size_t)i * C;
            for (int c = 0; c < C; c++) {
                double p = exp((double)l[c] - lse);
                g[c] = (float)((p - (c == labels[i] ? 1.0 : 0.0)) * gscale);
            }
        }
    }
    double loss = 0.0;
    for (int i = 0; i < B; i++) loss += row_loss[i]; /* fixed order: deterministic */
    free(row_loss);
    return loss / B;
}

/* one thread, in order: used on logit matrices (B² elements), where this costs microseconds */
double cpu_op_dot(const float *a, const float *b, size_t n) {
    CPU_CHECK_PTR("op_dot", a);
    CPU_CHECK_PTR("op_dot", b);
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

void cpu_op_l2norm(float *y, float *norms, const float *x, int n, int d) {
    if (n <= 0 || d <= 0) cg_fatal("op_l2norm: n=%d d=%d must be positive", n, d);
    CPU_CHECK_PTR("op_l2norm", y);
    CPU_CHECK_PTR("op_l2norm", x);
    #pragma omp parallel for schedule(static) if ((size_t)n * d >= CPU_PAR_MIN)
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = y + (size_t)r * d;
        double s = 0.0;
        #pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) s += (double)xr[j] * xr[j];
        double nrm = sqrt(s);
        float inv = (float)(1.0 / nrm);
        if (norms) norms[r] = (float)nrm;
        #pragma omp simd
        for (int j = 0; j < d; j++) yr[j] = xr[j] * inv;
    }
}

void cpu_op_l2norm_backward(float *dx, const float *dy, const float *y, const float *norms,
                        int n, int d, int acc) {
    if (n <= 0 || d <= 0) cg_fatal("op_l2norm_backward: n=%d d=%d must be positive", n, d);
    CPU_CHECK_PTR("op_l2norm_backward", dx);
    CPU_CHECK_PTR("op_l2norm_backward", dy);
    CPU_CHECK_PTR("op_l2norm_backward", y);
    CPU_CHECK_PTR("op_l2norm_backward", norms);
    #pragma omp parallel for schedule(static) if ((size_t)n * d >= CPU_PAR_MIN)
    for (int r = 0; r < n; r++) {
        const float *yr = y + (size_t)r * d, *gr = dy + (size_t)r * d;
        float *dr = dx + (size_t)r * d;
        double s = 0.0;
        #pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) s += (double)yr[j] * gr[j];
        float yd = (float)s, inv = 1.0f / norms[r];
        #pragma omp simd
        for (int j = 0; j < d; j++) {
            float v = (gr[j] - yr[j] * yd) * inv;
            dr[j] = acc ? dr[j] + v : v;
        }
    }
}
