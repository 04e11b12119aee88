/* core/train/step.c — one training step (core/train/step.h). */
#include "core/train/step.h"

#include <math.h>
#include <stdlib.h>

#include "base/util.h"
#include "kernels/ops.h"

long count_correct(const float *logits, const int *labels, int b, int C, int *pred) {
    long correct = 0;
    for (int i = 0; i < b; i++) {
        int best = 0;
        for (int c = 1; c < C; c++)
            if (logits[(size_t)i * C + c] > logits[(size_t)i * C + best]) best = c;
        if (pred) pred[i] = best;
        correct += best == labels[i];
    }
    return correct;
}

/* this rank's correct predictions from the device logits [b, C] */
static long correct_of(const float *logits_dev, const int *labels, int b, int C) {
    if (b <= 0) return 0;
    float *h = cg_malloc((size_t)b * C * sizeof(float));
    k_download(h, logits_dev, (size_t)b * C);
    long n = count_correct(h, labels, b, C, NULL);
    free(h);
    return n;
}

int train_step(Method *m, Optimizer *opt, const float *images, const int *labels, int b,
               int b_global, double lr, StepResult *out) {
    CgComm *comm = m->env.comm;
    if (m->params.n) k_zero(m->params.grad, m->params.n);
    float *logits = k_alloc((size_t)(b > 0 ? b : 1) * (m->C > 0 ? m->C : 1));
    double loss = method_forward_backward(m, images, labels, b, b_global, logits);
    long correct = correct_of(logits, labels, b, m->C);
    k_free(logits);
    double total = comm->sum_double(comm, loss);
    double corr = comm->sum_double(comm, (double)correct);
    if (out) out->loss = total, out->correct = (long)corr;
    if (!isfinite(total)) return cg_error_set("non-finite loss %g", total), -1;
    if (m->params.n) comm->allreduce_sum(comm, m->params.grad, m->params.n);
    if (opt) {
        optim_step(opt, m->params.data, m->params.grad, lr);
        m->params_version++;
    }
    return 0;
}
