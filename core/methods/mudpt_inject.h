/* core/methods/mudpt_inject.h — MuDPT's (UUMuDPT's) injection network, one per direction
 * (methods.md §3.2–3.4): LayerNorm → one pre-LN transformer block (width d, d/64 heads,
 * MLP 4d with QuickGELU, no mask) → LayerNorm → Linear d → out, applied to G groups of n prompt
 * rows with attention inside each group (the prompt depths act as the batch). Every weight is
 * learnable: the backward gives the input gradient and accumulates every weight gradient.
 * The block's forward is the encoder's own (core/model/clip_block.h) on these weights. */
#ifndef CLIPGRID_CORE_MUDPT_INJECT_H
#define CLIPGRID_CORE_MUDPT_INJECT_H

#include "core/model/clip_block.h"
#include "core/methods/method.h"

/* the official module names of one network */
typedef struct {
    const char *ln_pre, *block, *ln_post, *proj;
} InjectNames;

typedef struct {
    int d, heads, out;
    const float *ln_pre_w, *ln_pre_b, *ln_post_w, *ln_post_b, *proj_w, *proj_b;
    float *g_ln_pre_w, *g_ln_pre_b, *g_ln_post_w, *g_ln_post_b, *g_proj_w, *g_proj_b;
    BlockWeights w, g;   /* the block's weights and their gradients (same layout) */
} InjectNet;

typedef struct {
    int G, n;
    const float *x;                 /* [G*n, d] input (not owned) */
    float *y0, *mean0, *rstd0;      /* ln_pre */
    BlockActs acts;
    float *y1;                      /* block output */
    float *y2, *mean2, *rstd2;      /* ln_post */
    float *out;                     /* [G*n, out] */
} InjectRun;

/* declare the network's tensors in the official order (ln_pre, block, ln_post, proj) */
void inject_declare(Method *m, const InjectNames *nm, int d, int out);
/* PyTorch's initial values: LayerNorms 1/0; in_proj Xavier-uniform, zero biases; out_proj
 * U(±1/√d), zero bias; MLP and output Linears U(±1/√fan_in) */
void inject_init(Method *m, const InjectNames *nm, int d, int out);
/* pointers into the method's parameter and gradient blocks */
void inject_bind(Method *m, const InjectNames *nm, int d, int out, InjectNet *net);

void inject_forward(const InjectNet *net, InjectRun *r, const float *x, int G, int n);
/* dx (+)= input gradient (acc), weight gradients accumulated */
void inject_backward(const InjectNet *net, InjectRun *r, const float *dout, float *dx, int acc);
void inject_run_free(InjectRun *r);

#endif
