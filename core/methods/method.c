/* core/methods/method.c — creating a method from its descriptor, its calls at the run's
 * arithmetic, and the record table of intermediates that golden fixtures compare. */
#include "core/methods/method.h"

#include <stdlib.h>
#include <string.h>

#include "core/methods/registry.h"
#include "base/util.h"
#include "kernels/ops.h"

/* run f with the products at the method's precision, then restore the previous one */
#define WITH_PRECISION(m, call)                                                              \
    do {                                                                                      \
        const char *want_ = (m)->env.cfg.train.precision[0] ? (m)->env.cfg.train.precision     \
                                                            : "fp32";                         \
        const char *prev_ = k_matmul_precision();                                        \
        if (k_set_matmul_precision(want_) != 0) cg_fatal("%s: %s", (m)->desc->name, cg_error()); \
        call;                                                                                 \
        (void)k_set_matmul_precision(prev_);                                                  \
    } while (0)

Method *method_create(const MethodEnv *env) {
    const MethodDesc *d = method_at(env->cfg.kind);
    if (!d) {
        cg_error_set("method kind %d is not in the registry (%d methods)", (int)env->cfg.kind,
                     METHOD_COUNT);
        return NULL;
    }
    const char *p = env->cfg.train.precision;
    int known = !p[0];
    for (int i = 0; K_PRECISION_NAMES[i]; i++) known |= !strcmp(p, K_PRECISION_NAMES[i]);
    if (!known) {
        cg_error_set("precision '%s' must be fp32, tf32, bf16 or fp16", p);
        return NULL;
    }
    Method *m = cg_calloc(1, sizeof *m);
    m->desc = d, m->ops = &d->ops, m->env = *env;
    if (!m->env.comm) m->env.comm = comm_self();
    int rc;
    WITH_PRECISION(m, rc = d->ops.build(m));
    if (rc != 0) {
        method_free(m);
        return NULL;
    }
    return m;
}

int method_set_classes(Method *m, const char *const *classnames, int C, const char *dataset) {
    int rc;
    WITH_PRECISION(m, rc = m->ops->set_classes(m, classnames, C, dataset));
    return rc;
}

double method_forward_backward(Method *m, const float *images, const int *labels, int b,
                               int b_global, float *logits) {
    double loss = 0;
    WITH_PRECISION(m, loss = m->ops->forward_backward(m, images, labels, b, b_global, logits));
    return loss;
}

void method_logits(Method *m, const float *images, int b, EvalMode mode, float *logits) {
    WITH_PRECISION(m, m->ops->logits(m, images, b, mode, logits));
}

void method_free(Method *m) {
    if (!m) return;
    if (m->ops && m->ops->destroy) m->ops->destroy(m);
    param_free(&m->params);
    for (int i = 0; i < m->n_records; i++) free(m->records[i].host);
    free(m);
}

/* ---- records ------------------------------------------------------------------------------ */

void method_record(Method *m, const char *name, const float *dev, int ndim, const int *shape) {
    if (!m->record) return;
    int i = 0;
    while (i < m->n_records && strcmp(m->records[i].name, name)) i++;
    if (i == m->n_records) {
        if (m->n_records >= CG_MAX_RECORDS) cg_fatal("method_record(%s): table full", name);
        m->n_records++;
    }
    MethodRecord *r = &m->records[i];
    free(r->host);
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    size_t n = 1;
    r->ndim = ndim;
    for (int d = 0; d < ndim; d++) r->shape[d] = shape[d], n *= (size_t)shape[d];
    r->host = cg_malloc(n * sizeof(float));
    k_download(r->host, dev, n);
}

void method_record_token_ids(Method *m, const int *ids, int C, int context) {
    if (!m->record) return;
    size_t n = (size_t)C * context;
    float *h = cg_malloc(n * sizeof(float)), *dev = k_alloc(n);
    for (size_t i = 0; i < n; i++) h[i] = (float)ids[i];
    k_upload(dev, h, n);
    method_record(m, "tokenized_prompts", dev, 2, (int[]){C, context});
    k_free(dev), free(h);
}

const MethodRecord *method_recorded(const Method *m, const char *name) {
    for (int i = 0; i < m->n_records; i++)
        if (!strcmp(m->records[i].name, name)) return &m->records[i];
    return NULL;
}
