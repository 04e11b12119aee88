/* core/methods/mudpt_inject.c — MuDPT's injection networks: declaration, initial values, forward and
 * the backward with every weight gradient (see mudpt_inject.h). */
#include "core/methods/mudpt_inject.h"

#include <math.h>
#include <stdio.h>

#include "core/methods/method_deep.h"
#include "base/util.h"

#define LN_EPS 1e-5f

/* the block's tensors: suffix, rows (0 = vector of `cols`), cols as multiples of d */
static const struct {
    const char *suffix;
    int rows_mult, cols_mult; /* shape [rows_mult·d, cols_mult·d]; rows_mult 0: vector */
} BLOCK_TENSORS[] = {
    {"attn.in_proj_weight", 3, 1}, {"attn.in_proj_bias", 0, 3}, {"attn.out_proj.weight", 1, 1},
    {"attn.out_proj.bias", 0, 1},  {"ln_1.weight", 0, 1},       {"ln_1.bias", 0, 1},
    {"mlp.c_fc.weight", 4, 1},     {"mlp.c_fc.bias", 0, 4},     {"mlp.c_proj.weight", 1, 4},
    {"mlp.c_proj.bias", 0, 1},     {"ln_2.weight", 0, 1},       {"ln_2.bias", 0, 1},
};
#define N_BLOCK_TENSORS (int)(sizeof BLOCK_TENSORS / sizeof BLOCK_TENSORS[0])

static void nm2(char *b, size_t cap, const char *base, const char *suffix) {
    snprintf(b, cap, "%s.%s", base, suffix);
}

void inject_declare(Method *m, const InjectNames *nm, int d, int out) {
    char b[128];
    nm2(b, sizeof b, nm->ln_pre, "weight"), deep_declare(m, b, d, 0, 0);
    nm2(b, sizeof b, nm->ln_pre, "bias"), deep_declare(m, b, d, 0, 0);
    for (int i = 0; i < N_BLOCK_TENSORS; i++) {
        nm2(b, sizeof b, nm->block, BLOCK_TENSORS[i].suffix);
        if (BLOCK_TENSORS[i].rows_mult)
            deep_declare(m, b, BLOCK_TENSORS[i].rows_mult * d, BLOCK_TENSORS[i].cols_mult * d, 0);
        else deep_declare(m, b, BLOCK_TENSORS[i].cols_mult * d, 0, 0);
    }
    nm2(b, sizeof b, nm->ln_post, "weight"), deep_declare(m, b, d, 0, 0);
    nm2(b, sizeof b, nm->ln_post, "bias"), deep_declare(m, b, d, 0, 0);
    nm2(b, sizeof b, nm->proj, "weight"), deep_declare(m, b, out, d, 0);
    nm2(b, sizeof b, nm->proj, "bias"), deep_declare(m, b, out, 0, 0);
}

void inject_init(Method *m, const InjectNames *nm, int d, int out) {
    char b[128];
    const char *ones[4][2] = {{nm->ln_pre, "weight"}, {nm->ln_post, "weight"},
                              {nm->block, "ln_1.weight"}, {nm->block, "ln_2.weight"}};
    const char *zeros[6][2] = {{nm->ln_pre, "bias"}, {nm->ln_post, "bias"},
                               {nm->block, "ln_1.bias"}, {nm->block, "ln_2.bias"},
                               {nm->block, "attn.in_proj_bias"}, {nm->block, "attn.out_proj.bias"}};
    for (int i = 0; i < 4; i++) nm2(b, sizeof b, ones[i][0], ones[i][1]), deep_init_const(m, b, 1.0f);
    for (int i = 0; i < 6; i++) nm2(b, sizeof b, zeros[i][0], zeros[i][1]), deep_init_const(m, b, 0.0f);
    nm2(b, sizeof b, nm->block, "attn.in_proj_weight");
    deep_init_uniform(m, b, sqrt(6.0 / (double)(d + 3 * d)));
    nm2(b, sizeof b, nm->block, "attn.out_proj.weight"), deep_init_uniform(m, b, deep_linear_bound(d));
    nm2(b, sizeof b, nm->block, "mlp.c_fc.weight"), deep_init_uniform(m, b, deep_linear_bound(d));
    nm2(b, sizeof b, nm->block, "mlp.c_fc.bias"), deep_init_uniform(m, b, deep_linear_bound(d));
    nm2(b, sizeof b, nm->block, "mlp.c_proj.weight"), deep_init_uniform(m, b, deep_linear_bound(4 * d));
    nm2(b, sizeof b, nm->block, "mlp.c_proj.bias"), deep_init_uniform(m, b, deep_linear_bound(4 * d));
    nm2(b, sizeof b, nm->proj, "weight"), deep_init_uniform(m, b, deep_linear_bound(d));
    nm2(b, sizeof b, nm->proj, "bias"), deep_init_uniform(m, b, deep_linear_bound(d));
    (void)out;
}

static float *pd(Method *m, const char *base, const char *suffix, int grad) {
    char b[128];
    nm2(b, sizeof b, base, suffix);
    return grad ? param_grad(&m->params, b) : param_data(&m->params, b);
}

static void bind_block(Method *m, const char *base, BlockWeights *w, int grad) {
    *w = (BlockWeights){
        .ln1_w = pd(m, base, "ln_1.weight", grad), .ln1_b = pd(m, base, "ln_1.bias", grad),
        .qkv_w = pd(m, base, "attn.in_proj_weight", grad),
        .qkv_b = pd(m, base, "attn.in_proj_bias", grad),
        .out_w = pd(m, base, "attn.out_proj.weight", grad),
        .out_b = pd(m, base, "attn.out_proj.bias", grad),
        .ln2_w = pd(m, base, "ln_2.weight", grad), .ln2_b = pd(m, base, "ln_2.bias", grad),
        .fc_w = pd(m, base, "mlp.c_fc.weight", grad), .fc_b = pd(m, base, "mlp.c_fc.bias", grad),
        .proj_w = pd(m, base, "mlp.c_proj.weight", grad),
        .proj_b = pd(m, base, "mlp.c_proj.bias", grad),
    };
}

void inject_bind(Method *m, const InjectNames *nm, int d, int out, InjectNet *net) {
    *net = (InjectNet){.d = d, .heads = d / 64 > 0 ? d / 64 : 1, .out = out};
    net->ln_pre_w = pd(m, nm->ln_pre, "weight", 0), net->ln_pre_b = pd(m, nm->ln_pre, "bias", 0);
    net->ln_post_w = pd(m, nm->ln_post, "weight", 0), net->ln_post_b = pd(m, nm->ln_post, "bias", 0);
    net->proj_w = pd(m, nm->proj, "weight", 0), net->proj_b = pd(m, nm->proj, "bias", 0);
    net->g_ln_pre_w = pd(m, nm->ln_pre, "weight", 1), net->g_ln_pre_b = pd(m, nm->ln_pre, "bias", 1);
    net->g_ln_post_w = pd(m, nm->ln_post, "weight", 1);
    net->g_ln_post_b = pd(m, nm->ln_post, "bias", 1);
    net->g_proj_w = pd(m, nm->proj, "weight", 1), net->g_proj_b = pd(m, nm->proj, "bias", 1);
    bind_block(m, nm->block, &net->w, 0);
    bind_block(m, nm->block, &net->g, 1);
}

static BlockShape shape_of(const InjectNet *net, int G, int n) {
    return (BlockShape){.B = G, .T = n, .d = net->d, .heads = net->heads, .mlp = 4 * net->d};
}

void inject_forward(const InjectNet *net, InjectRun *r, const float *x, int G, int n) {
    int rows = G * n, d = net->d;
    *r = (InjectRun){.G = G, .n = n, .x = x};
    r->y0 = k_alloc((size_t)rows * d), r->mean0 = k_alloc(rows), r->rstd0 = k_alloc(rows);
    op_layernorm(r->y0, r->mean0, r->rstd0, x, net->ln_pre_w, net->ln_pre_b, rows, d, LN_EPS);
    BlockShape s = shape_of(net, G, n);
    block_acts_alloc(&r->acts, &s, n);
    r->acts.x_in = r->y0;
    r->y1 = k_alloc((size_t)rows * d);
    block_forward(&net->w, &s, &r->acts, r->y1);
    r->y2 = k_alloc((size_t)rows * d), r->mean2 = k_alloc(rows), r->rstd2 = k_alloc(rows);
    op_layernorm(r->y2, r->mean2, r->rstd2, r->y1, net->ln_post_w, net->ln_post_b, rows, d, LN_EPS);
    r->out = k_alloc((size_t)rows * net->out);
    op_matmul(r->out, r->y2, net->proj_w, net->proj_b, rows, d, net->out, K_W_OUT_IN, 0);
}

/* the block's backward with weight gradients: dx = input gradient ('=') */
static void block_backward_learn(const InjectNet *net, const BlockShape *s, const BlockActs *a,
                                 const float *dy, float *dx) {
    const BlockWeights *w = &net->w, *g = &net->g;
    int n = s->B * s->T, d = s->d, mlp = s->mlp;
    float *dx_mid = k_alloc((size_t)n * d), *dgelu = k_alloc((size_t)n * mlp);
    float *dfc = k_alloc((size_t)n * mlp), *dln = k_alloc((size_t)n * d);
    float *datt = k_alloc((size_t)n * d), *dqkv = k_alloc((size_t)n * 3 * d);
    /* MLP: y = x_mid + gelu(ln2·Wfcᵀ + b)·Wprojᵀ + b */
    k_copy(dx_mid, dy, (size_t)n * d);
    op_dense_backward(dgelu, g->proj_w, g->proj_b, dy, a->gelu, w->proj_w, n, mlp, d, 0);
    op_quickgelu_backward(dfc, dgelu, a->fc, (size_t)n * mlp, 0);
    op_dense_backward(dln, g->fc_w, g->fc_b, dfc, a->ln2, w->fc_w, n, d, mlp, 0);
    op_layernorm_backward(dx_mid, g->ln2_w, g->ln2_b, dln, a->x_mid, a->ln2_mean, a->ln2_rstd,
                          w->ln2_w, n, d, 1);
    /* attention: x_mid = x + att·Woutᵀ + b */
    op_dense_backward(datt, g->out_w, g->out_b, dx_mid, a->att, w->out_w, n, d, d, 0);
    KAttnShape as = {.B = s->B, .Tq = s->T, .Tk = s->T, .heads = s->heads, .dh = d / s->heads,
                     .ld_q = 3 * d, .ld_kv = 3 * d, .ld_o = d, .causal = 0,
                     .scale = 1.0f / sqrtf((float)(d / s->heads))};
    op_attention_backward(dqkv, dqkv + d, dqkv + 2 * d, datt, a->probs, a->qkv, a->qkv + d,
                          a->qkv + 2 * d, &as, 0);
    op_dense_backward(dln, g->qkv_w, g->qkv_b, dqkv, a->ln1, w->qkv_w, n, d, 3 * d, 0);
    op_layernorm_backward(dx, g->ln1_w, g->ln1_b, dln, a->x_in, a->ln1_mean, a->ln1_rstd, w->ln1_w,
                          n, d, 0);
    op_add(dx, dx_mid, (size_t)n * d);
    k_free(dx_mid), k_free(dgelu), k_free(dfc), k_free(dln), k_free(datt), k_free(dqkv);
}

void inject_backward(const InjectNet *net, InjectRun *r, const float *dout, float *dx, int acc) {
    int rows = r->G * r->n, d = net->d;
    float *dy2 = k_alloc((size_t)rows * d), *dy1 = k_alloc((size_t)rows * d);
    float *dy0 = k_alloc((size_t)rows * d);
    op_dense_backward(dy2, net->g_proj_w, net->g_proj_b, dout, r->y2, net->proj_w, rows, d,
                      net->out, 0);
    op_layernorm_backward(dy1, net->g_ln_post_w, net->g_ln_post_b, dy2, r->y1, r->mean2, r->rstd2,
                          net->ln_post_w, rows, d, 0);
    BlockShape s = shape_of(net, r->G, r->n);
    block_backward_learn(net, &s, &r->acts, dy1, dy0);
    op_layernorm_backward(dx, net->g_ln_pre_w, net->g_ln_pre_b, dy0, r->x, r->mean0, r->rstd0,
                          net->ln_pre_w, rows, d, acc);
    k_free(dy2), k_free(dy1), k_free(dy0);
}

void inject_run_free(InjectRun *r) {
    float *bufs[] = {r->y0, r->mean0, r->rstd0, r->y1, r->y2, r->mean2, r->rstd2, r->out};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) k_free(bufs[i]);
    if (r->acts.ln1) block_acts_free(&r->acts);
    *r = (InjectRun){0};
}
