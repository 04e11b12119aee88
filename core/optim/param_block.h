/* core/optim/param_block.h — the learnable tensors of a run: declared by name (the official module
 * paths, e.g. "prompt_learner.ctx", so fixtures and checkpoints address them) in one contiguous
 * device block with its gradient block beside it, so one all-reduce and one optimiser step cover
 * everything. */
#ifndef CLIPGRID_CORE_PARAM_BLOCK_H
#define CLIPGRID_CORE_PARAM_BLOCK_H

#include <stddef.h>

#define CG_MAX_PARAMS 256
typedef struct {
    char name[96];
    int ndim, shape[4];
    size_t offset, numel;
} ParamTensor;

typedef struct {
    float *data, *grad;  /* device, n floats each, allocated by param_alloc */
    size_t n;
    int count;
    ParamTensor t[CG_MAX_PARAMS];
} ParamBlock;

/* declare a tensor (before param_alloc); returns its index */
int param_declare(ParamBlock *pb, const char *name, int ndim, const int *shape);
void param_alloc(ParamBlock *pb);
void param_free(ParamBlock *pb);
int param_find(const ParamBlock *pb, const char *name);          /* −1 when absent */
float *param_data(ParamBlock *pb, const char *name);             /* fatal when absent */
float *param_grad(ParamBlock *pb, const char *name);

#endif
