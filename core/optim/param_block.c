/* core/optim/param_block.c — declaring, allocating and finding the learnable tensors of a run
 * (core/optim/param_block.h). */
#include "core/optim/param_block.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "kernels/ops.h"

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

