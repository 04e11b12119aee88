/* core/optim/optim.c — Dassl's SGD and AdamW over the learnable block, their checkpointable state, and
 * the per-epoch learning rate (constant warm-up wrapped around cosine annealing), Dassl's default
 * training options. */
#include "core/optim/optim.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "kernels/ops.h"

void train_config_dassl_defaults(TrainConfig *t) {
    memset(t, 0, sizeof *t);
    t->epochs = 10, t->batch = 32, t->test_batch = 100;
    strcpy(t->optim, "sgd");
    t->lr = 0.002, t->momentum = 0.9, t->weight_decay = 5e-4;
    t->beta1 = 0.9, t->beta2 = 0.999, t->eps = 1e-8;
    t->warmup_epochs = 1, t->warmup_lr = 1e-5;
    t->rrc_scale_lo = 0.08, t->rrc_scale_hi = 1.0;
    strcpy(t->precision, "fp32");
}

int optim_init(Optimizer *o, const TrainConfig *cfg, size_t n) {
    memset(o, 0, sizeof *o);
    if (!strcasecmp(cfg->optim, "sgd")) o->kind = OPT_SGD;
    else if (!strcasecmp(cfg->optim, "adamw")) o->kind = OPT_ADAMW;
    else {
        cg_error_set("optimiser '%s' is not known (sgd | adamw)", cfg->optim);
        return -1;
    }
    o->momentum = cfg->momentum, o->weight_decay = cfg->weight_decay;
    o->beta1 = cfg->beta1, o->beta2 = cfg->beta2, o->eps = cfg->eps;
    o->n = n;
    size_t na = n ? n : 1;
    if (o->kind == OPT_SGD) o->buf = k_alloc(na);
    else o->m = k_alloc(na), o->v = k_alloc(na);
    return 0;
}

void optim_free(Optimizer *o) {
    float *bufs[] = {o->buf, o->m, o->v};
    for (int i = 0; i < 3; i++)
        if (bufs[i]) k_free(bufs[i]);
    memset(o, 0, sizeof *o);
}

void optim_step(Optimizer *o, float *params, const float *grad, double lr) {
    if (o->n == 0) return;
    o->steps++;
    if (o->kind == OPT_SGD) {
        op_sgd_step(params, o->buf, grad, o->n, (float)lr, (float)o->momentum,
                    (float)o->weight_decay, o->steps == 1);
        return;
    }
    double bc1 = 1.0 - pow(o->beta1, (double)o->steps);
    double bc2 = 1.0 - pow(o->beta2, (double)o->steps);
    op_adamw_step(params, o->m, o->v, grad, o->n, (float)lr, (float)o->beta1, (float)o->beta2,
                  (float)o->eps, (float)o->weight_decay, (float)bc1, (float)sqrt(bc2));
}

size_t optim_state_floats(const Optimizer *o) {
    return o->kind == OPT_SGD ? o->n : 2 * o->n;
}

void optim_export(const Optimizer *o, float *host) {
    if (o->n == 0) return;
    if (o->kind == OPT_SGD) k_download(host, o->buf, o->n);
    else k_download(host, o->m, o->n), k_download(host + o->n, o->v, o->n);
}

void optim_import(Optimizer *o, const float *host, long steps) {
    o->steps = steps;
    if (o->n == 0) return;
    if (o->kind == OPT_SGD) k_upload(o->buf, host, o->n);
    else k_upload(o->m, host, o->n), k_upload(o->v, host + o->n, o->n);
}

double lr_at_epoch(const TrainConfig *cfg, int epoch) {
    int W = cfg->warmup_epochs > 0 ? cfg->warmup_epochs : 0, T = cfg->epochs > 0 ? cfg->epochs : 1;
    if (epoch < W) return cfg->warmup_lr;
    return cfg->lr * (1.0 + cos(M_PI * (double)(epoch - W) / (double)T)) / 2.0;
}
