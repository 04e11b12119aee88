/* core/methods/method.c — creating a method by kind, the learnable ParamBlock (declared tensors in one
 * contiguous device block with its gradient block), and the record table of intermediates that
 * golden fixtures compare. */
#include "core/methods/method.h"

#include <stdlib.h>
#include <string.h>

#include "core/methods/method_impl.h"
#include "base/util.h"
#include "kernels/ops.h"

static const MethodOps *ops_of(MethodKind k) {
    switch (k) {
    case METHOD_ZSCLIP: return &zsclip_ops;
    case METHOD_COOP: return &coop_ops;
    case METHOD_COCOOP: return &cocoop_ops;
    case METHOD_MAPLE: return &maple_ops;
    case METHOD_MUDPT: return &mudpt_ops;
    case METHOD_MMRL: return &mmrl_ops;
    default: return NULL;
    }
}

Method *method_create(const MethodEnv *env) {
    const MethodOps *ops = ops_of(env->cfg.kind);
    if (!ops || !ops->build) {
        cg_error_set("method %s (kind %d) is not available in this build",
                     method_name(env->cfg.kind), (int)env->cfg.kind);
        return NULL;
    }
    Method *m = cg_calloc(1, sizeof *m);
    m->ops = ops, m->env = *env;
    if (!m->env.comm) m->env.comm = comm_self();
    if (ops->build(m) != 0) {
        method_free(m);
        return NULL;
    }
    return m;
}

void method_free(Method *m) {
    if (!m) return;
    if (m->ops && m->ops->destroy) m->ops->destroy(m);
    param_free(&m->params);
    for (int i = 0; i < m->n_records; i++) free(m->records[i].host);
    free(m);
}

/* ---- ParamBlock --------------------------------------------------------------------------- */

int param_declare(ParamBlock *pb, const char *name, int ndim, const int *shape) {
    if (pb->data) cg_fatal("param_declare(%s): the block is already allocated", name);
    if (pb->count >= CG_MAX_PARAMS) cg_fatal("param_declare(%s): more than %d tensors", name, CG_MAX_PARAMS);
    if (ndim < 0 || ndim > 4) cg_fatal("param_declare(%s): %d dimensions", name, ndim);
    if (param_find(pb, name) >= 0) cg_fatal("param_declare: %s declared twice", name);
    ParamTensor *t = &pb->t[pb->count];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim, t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0) cg_fatal("param_declare(%s): dimension %d is %d", name, i, shape[i]);
        t->shape[i] = shape[i], t->numel *= (size_t)shape[i];
    }
    t->offset = pb->n;
    pb->n += t->numel;
    return pb->count++;
}

void param_alloc(ParamBlock *pb) {
    if (pb->data) cg_fatal("param_alloc: already allocated");
    size_t n = pb->n ? pb->n : 1;
    pb->data = k_alloc(n), pb->grad = k_alloc(n);
}

void param_free(ParamBlock *pb) {
    if (pb->data) k_free(pb->data);
    if (pb->grad) k_free(pb->grad);
    memset(pb, 0, sizeof *pb);
}

int param_find(const ParamBlock *pb, const char *name) {
    for (int i = 0; i < pb->count; i++)
        if (!strcmp(pb->t[i].name, name)) return i;
    return -1;
}

float *param_data(ParamBlock *pb, const char *name) {
    int i = param_find(pb, name);
    if (i < 0 || !pb->data) cg_fatal("param_data: no learnable tensor %s", name);
    return pb->data + pb->t[i].offset;
}

float *param_grad(ParamBlock *pb, const char *name) {
    int i = param_find(pb, name);
    if (i < 0 || !pb->grad) cg_fatal("param_grad: no learnable tensor %s", name);
    return pb->grad + pb->t[i].offset;
}

/* ---- records ------------------------------------------------------------------------------ */

void method_record(Method *m, const char *name, const float *dev, int ndim, const int *shape) {
    if (!m->record || (m->record_only && strcmp(m->record_only, name))) return;
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
