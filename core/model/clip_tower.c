/* core/model/clip_tower.c — the shared CLIP encoder: stem, prompt-plan ops, blocks, pooling, head,
 * and the reverse pass. Describes computation only; kernels/ does the arithmetic. */
#include "core/model/clip_tower.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_block.h"
#include "core/model/clip_grad.h"
#include "base/util.h"

#define LN_EPS 1e-5f

struct TowerRun {
    const ClipModel *m;
    TowerKind kind;
    TowerInput in;
    const BlockWeights *blocks;
    const float *lnf_w, *lnf_b, *proj;
    KWLayout proj_layout;
    int d, L, heads, mlp, E, causal;
    int P, T0, T_pre, first_grad;
    int *pool_rows, *pool_idx;  /* host [B*P]; pool_idx = b*T_final + row */
    int *T_at;                  /* [L] rows per sample at each block input */
    BlockActs *acts;            /* [L]; saved for blocks >= first_grad */
    float *z_pre, *lnpre_mean, *lnpre_rstd; /* vision stem, kept when first_grad == -1 */
    float *x_last;              /* [B*P, d] last block output at the pooled rows */
    float *pooled, *pool_mean, *pool_rstd, *feat;
    int save_from;              /* blocks >= save_from keep their activations */
    int pos0;                   /* text: position of row 0 (after a shared prefix) */
    float **dkv_ext;            /* prefix run: [L] gradient w.r.t. K|V from continuations */
};

TowerInput tower_input_defaults(void) {
    return (TowerInput){.n_pool = 1, .truncate = 1, .last_query_only = 1};
}

const float *tower_pooled(const TowerRun *r) { return r->pooled; }
const float *tower_features(const TowerRun *r) { return r->feat; }
int tower_rows_run(const TowerRun *r) { return r->T0; }

/* does plan op `op` apply before block `layer` of this tower? (text: −1 and 0 coincide) */
static int op_at(const TowerRun *r, const PlanOp *op, int layer) {
    if (op->layer == layer) return 1;
    return r->kind == TOWER_TEXT && layer == 0 && op->layer == -1;
}

/* apply the plan ops of `layer` to x [B,*T,d]; returns x or its grown replacement */
static float *plan_apply(TowerRun *r, int layer, float *x, int *T) {
    const PromptPlan *p = r->in.plan;
    int B = r->in.B, d = r->d;
    for (int i = 0; p && i < p->n; i++) {
        const PlanOp *op = &p->op[i];
        if (!op_at(r, op, layer)) continue;
        size_t rd = (size_t)op->rows * d, vbs = op->per_sample ? rd : 0;
        if (op->kind == PLAN_REPLACE) {
            if (op->pos + op->rows > *T)
                cg_fatal("prompt plan: replace rows %d..%d before layer %d, but the %s sequence has "
                         "%d rows", op->pos, op->pos + op->rows - 1, layer,
                         r->kind == TOWER_TEXT ? "text" : "vision", *T);
            op_copy_batched(x + (size_t)op->pos * d, (size_t)*T * d, op->values, vbs, B, rd, 0);
            continue;
        }
        if (op->pos > *T)
            cg_fatal("prompt plan: insert at row %d before layer %d, but the sequence has %d rows",
                     op->pos, layer, *T);
        int Tn = *T + op->rows;
        float *y = k_alloc((size_t)B * Tn * d);
        size_t head = (size_t)op->pos * d, tail = (size_t)(*T - op->pos) * d;
        op_copy_batched(y, (size_t)Tn * d, x, (size_t)*T * d, B, head, 0);
        op_copy_batched(y + head, (size_t)Tn * d, op->values, vbs, B, rd, 0);
        op_copy_batched(y + head + rd, (size_t)Tn * d, x + head, (size_t)*T * d, B, tail, 0);
        k_free(x);
        x = y, *T = Tn;
    }
    return x;
}

/* reverse of plan_apply on the gradient dx [B,*T,d]: collect op gradients, drop inserted rows,
 * zero replaced rows */
static float *plan_unapply(TowerRun *r, int layer, float *dx, int *T) {
    const PromptPlan *p = r->in.plan;
    int B = r->in.B, d = r->d;
    for (int i = p ? p->n - 1 : -1; i >= 0; i--) {
        const PlanOp *op = &p->op[i];
        if (!op_at(r, op, layer)) continue;
        size_t rd = (size_t)op->rows * d, bs = (size_t)*T * d;
        float *rows = dx + (size_t)op->pos * d;
        if (op->grad) {
            if (op->per_sample) op_copy_batched(op->grad, rd, rows, bs, B, rd, 1);
            else op_sum_batched(op->grad, rows, bs, B, rd, 1);
        }
        if (op->kind == PLAN_REPLACE) {
            for (int b = 0; b < B; b++) k_zero(rows + b * bs, rd);
            continue;
        }
        int Tn = *T - op->rows;
        float *y = k_alloc((size_t)B * Tn * d);
        size_t head = (size_t)op->pos * d, tail = (size_t)(Tn - op->pos) * d;
        op_copy_batched(y, (size_t)Tn * d, dx, bs, B, head, 0);
        op_copy_batched(y + head, (size_t)Tn * d, rows + rd, bs, B, tail, 0);
        k_free(dx);
        dx = y, *T = Tn;
    }
    return dx;
}

static void tower_setup(TowerRun *r, const ClipModel *m, TowerKind kind, const TowerInput *in) {
    const TowerDims *td = kind == TOWER_VISION ? &m->cfg.vis : &m->cfg.txt;
    r->m = m, r->kind = kind, r->in = *in;
    r->d = td->width, r->L = td->layers, r->heads = td->heads, r->mlp = td->mlp;
    r->E = m->cfg.embed, r->causal = kind == TOWER_TEXT;
    if (kind == TOWER_VISION) {
        r->blocks = m->vis.blocks, r->lnf_w = m->vis.ln_post_w, r->lnf_b = m->vis.ln_post_b;
        r->proj = m->vis.proj, r->proj_layout = m->vis.proj_layout;
    } else {
        r->blocks = m->txt.blocks, r->lnf_w = m->txt.ln_final_w, r->lnf_b = m->txt.ln_final_b;
        r->proj = m->txt.proj, r->proj_layout = m->txt.proj_layout;
    }
    if (in->B <= 0) cg_fatal("tower_forward: batch %d", in->B);
    r->P = in->n_pool > 0 ? in->n_pool : 1;
    r->pool_rows = cg_calloc((size_t)in->B * r->P, sizeof(int));
    if (in->pool_rows) memcpy(r->pool_rows, in->pool_rows, (size_t)in->B * r->P * sizeof(int));
    else if (kind == TOWER_TEXT) cg_fatal("tower_forward: the text tower needs pool_rows (EOT)");
    r->first_grad = INT_MAX;
    if (in->want_grad) r->first_grad = in->d_input ? -1 : plan_first_grad_layer(in->plan);
    if (kind == TOWER_TEXT && r->first_grad == -1) r->first_grad = 0;
    if (in->prefix) {
        if (kind != TOWER_TEXT || !in->prefix->in.keep_kv || in->prefix_group <= 0 ||
            in->B != in->prefix->in.B * in->prefix_group)
            cg_fatal("tower_forward: a shared prefix needs a text prefix run made with keep_kv and "
                     "B = prefix B (%d) x prefix_group (%d), got B %d", in->prefix->in.B,
                     in->prefix_group, in->B);
        r->pos0 = in->prefix->T0;
        /* the prefix needs K/V gradients from the layers where its own backward runs */
        int pf = in->prefix->first_grad < 0 ? 0 : in->prefix->first_grad;
        if (in->want_grad && pf < r->first_grad) r->first_grad = pf;
    }
    if (in->start_layer > 0) {
        if (in->start_layer >= r->L || !in->x_start || in->T_start <= 0 || in->prefix ||
            in->d_input || (in->want_grad && r->first_grad < in->start_layer))
            cg_fatal("tower_forward: start_layer %d needs 0 < start_layer < %d, x_start with "
                     "T_start > 0 rows, no prefix, no d_input, and gradients only at layers >= "
                     "start_layer (first is %d)", in->start_layer, r->L, r->first_grad);
    }
    if (in->grads) { /* every weight learns: all blocks full, every activation kept */
        if (!in->want_grad || in->plan || in->prefix || in->start_layer > 0 || in->keep_kv)
            cg_fatal("tower_forward: weight gradients need want_grad and no prompt plan, shared "
                     "prefix, start_layer or keep_kv");
        r->first_grad = kind == TOWER_TEXT ? 0 : -1, r->in.last_query_only = 0;
    }
    r->save_from = r->first_grad;
    if (in->keep_kv) {
        if (kind != TOWER_TEXT) cg_fatal("tower_forward: keep_kv is for the text tower");
        r->save_from = -1, r->in.last_query_only = 0;
    }
}

/* rows per sample the text tower must run: up to the last pooled row (exact, causal mask) */
static int text_rows_needed(const TowerRun *r) {
    int maxrow = 0, n = r->in.B * r->P;
    for (int i = 0; i < n; i++) maxrow = r->pool_rows[i] > maxrow ? r->pool_rows[i] : maxrow;
    int need = maxrow + 1 - plan_inserted_before(r->in.plan, INT_MAX);
    if (r->pos0 + r->in.T_in > r->m->cfg.context)
        cg_fatal("text tower: %d prefix rows + %d rows exceed the context of %d", r->pos0,
                 r->in.T_in, r->m->cfg.context);
    if (!r->in.truncate || need > r->in.T_in) return r->in.T_in;
    return need < 1 ? 1 : need;
}

/* text stem: x = embeds[:, :T0] + positions */
static float *text_stem(TowerRun *r) {
    int B = r->in.B, D = r->d;
    if (r->in.T_in <= 0 || r->in.T_in > r->m->cfg.context)
        cg_fatal("text tower: %d input rows, expected 1..%d", r->in.T_in, r->m->cfg.context);
    r->T0 = text_rows_needed(r);
    float *x = k_alloc((size_t)B * r->T0 * D);
    op_copy_batched(x, (size_t)r->T0 * D, r->in.embeds, (size_t)r->in.T_in * D, B,
                    (size_t)r->T0 * D, 0);
    op_add_broadcast(x, r->m->txt.pos_emb + (size_t)r->pos0 * D, B, (size_t)r->T0 * D);
    return x;
}

/* vision stem: patches · convᵀ, class row, positions, plan ops at −1, ln_pre */
static float *vision_stem(TowerRun *r) {
    const ClipConfig *c = &r->m->cfg;
    int B = r->in.B, W = r->d, N = c->vis_tokens, G = c->grid * c->grid, K = 3 * c->patch * c->patch;
    float *cols = k_alloc((size_t)B * G * K), *patches = k_alloc((size_t)B * G * W);
    op_im2col_patches(cols, r->in.images, B, c->image_res, c->patch);
    op_matmul(patches, cols, r->m->vis.conv_w, NULL, B * G, K, W, K_W_OUT_IN, 0);
    float *z = k_alloc((size_t)B * N * W);
    op_copy_batched(z, (size_t)N * W, r->m->vis.class_emb, 0, B, W, 0);
    op_copy_batched(z + W, (size_t)N * W, patches, (size_t)G * W, B, (size_t)G * W, 0);
    op_add_broadcast(z, r->m->vis.pos_emb, B, (size_t)N * W);
    k_free(cols), k_free(patches);
    r->T0 = N;
    int T = N;
    z = plan_apply(r, -1, z, &T);
    r->T_pre = T;
    float *x = k_alloc((size_t)B * T * W);
    int keep = r->first_grad == -1;
    if (keep) r->lnpre_mean = k_alloc((size_t)B * T), r->lnpre_rstd = k_alloc((size_t)B * T);
    op_layernorm(x, r->lnpre_mean, r->lnpre_rstd, z, r->m->vis.ln_pre_w, r->m->vis.ln_pre_b,
                 B * T, W, LN_EPS);
    if (keep) r->z_pre = z;
    else k_free(z);
    return x;
}

/* a run that starts at block start_layer from a copy of the given residual stream */
static float *start_stream(TowerRun *r) {
    size_t n = (size_t)r->in.B * r->in.T_start * r->d;
    float *x = k_alloc(n);
    k_copy(x, r->in.x_start, n);
    r->T0 = r->T_pre = r->in.T_start;
    return x;
}

/* the gradient w.r.t. a prefix run's K|V of block i, allocated on first use */
static float *prefix_dkv(TowerRun *p, int i) {
    if (!p->dkv_ext) p->dkv_ext = cg_calloc((size_t)p->L, sizeof(float *));
    if (!p->dkv_ext[i]) p->dkv_ext[i] = k_alloc((size_t)p->in.B * p->T_at[i] * 3 * p->d);
    return p->dkv_ext[i];
}

static BlockShape block_shape(const TowerRun *r, int layer, int T) {
    int last = layer == r->L - 1 && r->in.last_query_only;
    BlockShape s = {.B = r->in.B, .T = T, .d = r->d, .heads = r->heads, .mlp = r->mlp,
                    .causal = r->causal, .gelu_exact = r->m->cfg.act == CLIP_ACT_GELU, .P = last ? r->P : 0,
                    .q_rows = last ? r->pool_rows : NULL};
    TowerRun *p = r->in.prefix;
    if (p) {
        s.T_pre = p->T_at[layer], s.pre_group = r->in.prefix_group, s.ld_pre = 3 * r->d;
        s.kv_pre = p->acts[layer].qkv + r->d;
        s.dkv_pre = r->in.want_grad ? prefix_dkv(p, layer) + r->d : NULL;
    }
    if (r->dkv_ext) s.dkv_extra = r->dkv_ext[layer];
    return s;
}

/* the residual blocks; returns the last block's output ([B*P,d] query-only or [B,T,d]) */
static float *run_blocks(TowerRun *r, float *x, int *T) {
    BlockActs scratch = {0};
    int T_max = *T + plan_inserted_before(r->in.plan, INT_MAX);
    int start = r->in.start_layer > 0 ? r->in.start_layer : 0;
    if (r->in.observe) r->in.observe(r->in.observe_ctx, start, x, r->in.B, *T, r->d);
    for (int i = start; i < r->L; i++) {
        x = plan_apply(r, i, x, T);
        r->T_at[i] = *T;
        BlockShape s = block_shape(r, i, *T);
        int save = i >= r->save_from;
        BlockActs *a = save ? &r->acts[i] : &scratch;
        if (save) block_acts_alloc(a, &s, *T);
        else if (!scratch.ln1 || s.P > 0 || s.T_pre > 0) {
            if (scratch.ln1) block_acts_free(&scratch);
            block_acts_alloc(&scratch, &s, T_max);
        }
        a->x_in = x;
        float *y = k_alloc((size_t)s.B * (s.P > 0 ? s.P : *T) * r->d);
        block_forward(&r->blocks[i], &s, a, y);
        if (r->in.observe) r->in.observe(r->in.observe_ctx, i + 1, y, s.B, s.P > 0 ? s.P : *T, r->d);
        if (!save) k_free(x);
        x = y;
    }
    if (scratch.ln1) block_acts_free(&scratch);
    return x;
}

static void check_pool_rows(const TowerRun *r, int T) {
    for (int i = 0; i < r->in.B * r->P; i++)
        if (r->pool_rows[i] < 0 || r->pool_rows[i] >= T)
            cg_fatal("%s tower: pooled row %d of sample %d outside the %d-row sequence",
                     r->kind == TOWER_TEXT ? "text" : "vision", r->pool_rows[i], i / r->P, T);
}

TowerRun *tower_forward(const ClipModel *m, TowerKind kind, const TowerInput *in) {
    TowerRun *r = cg_calloc(1, sizeof *r);
    tower_setup(r, m, kind, in);
    r->T_at = cg_calloc((size_t)r->L, sizeof(int));
    r->acts = cg_calloc((size_t)r->L, sizeof(BlockActs));
    int start = in->start_layer > 0 ? in->start_layer : 0;
    float *x = start > 0 ? start_stream(r) : kind == TOWER_VISION ? vision_stem(r) : text_stem(r);
    int T = kind == TOWER_VISION ? r->T_pre : r->T0;
    /* rows the plan still inserts: vision ops at −1 are already in T_pre */
    int below = start > 0 ? start : kind == TOWER_VISION ? 0 : INT_MIN;
    check_pool_rows(r, T + plan_inserted_before(in->plan, INT_MAX) -
                           (below == INT_MIN ? 0 : plan_inserted_before(in->plan, below)));
    x = run_blocks(r, x, &T);
    int B = in->B, n = B * r->P;
    r->pool_idx = cg_malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) r->pool_idx[i] = (i / r->P) * T + r->pool_rows[i];
    if (r->in.last_query_only) r->x_last = x; /* r->in: set-up may turn it off */
    else {
        r->x_last = k_alloc((size_t)n * r->d);
        op_gather_rows(r->x_last, x, r->pool_idx, n, r->d);
        k_free(x);
    }
    r->pooled = k_alloc((size_t)n * r->d), r->feat = k_alloc((size_t)n * r->E);
    r->pool_mean = k_alloc(n), r->pool_rstd = k_alloc(n);
    op_layernorm(r->pooled, r->pool_mean, r->pool_rstd, r->x_last, r->lnf_w, r->lnf_b, n, r->d,
                 LN_EPS);
    op_matmul(r->feat, r->pooled, r->proj, NULL, n, r->d, r->E, r->proj_layout, 0);
    return r;
}

/* gradient at the last block's output: [B*P,d] (query-only) or scattered into [B,T,d] */
static float *head_backward(TowerRun *r, const float *d_pooled, const float *d_feat) {
    int n = r->in.B * r->P, d = r->d;
    float *dp = k_alloc((size_t)n * d), *dx = k_alloc((size_t)n * d);
    if (d_pooled) k_copy(dp, d_pooled, (size_t)n * d);
    if (d_feat) op_matmul_backward(dp, d_feat, r->proj, n, d, r->E, r->proj_layout, 1);
    const ClipModel *g = r->in.grads;
    float *dg = NULL, *db = NULL;
    if (g) { /* weight-gradient mode: the projection and the final LayerNorm */
        float *dproj = r->kind == TOWER_VISION ? g->vis.proj : g->txt.proj;
        if (d_feat) op_matmul_weight_grad(dproj, NULL, d_feat, r->pooled, n, d, r->E, r->proj_layout);
        dg = r->kind == TOWER_VISION ? g->vis.ln_post_w : g->txt.ln_final_w;
        db = r->kind == TOWER_VISION ? g->vis.ln_post_b : g->txt.ln_final_b;
    }
    op_layernorm_backward(dx, dg, db, dp, r->x_last, r->pool_mean, r->pool_rstd, r->lnf_w, n, d,
                          0);
    k_free(dp);
    if (r->in.last_query_only) return dx;
    int T = r->T_at[r->L - 1];
    float *full = k_alloc((size_t)r->in.B * T * d);
    op_scatter_add_rows(full, dx, r->pool_idx, n, d);
    k_free(dx);
    return full;
}

/* the input gradient of the text tower into d_input [B,T_in,D] (rows past T0 are 0) */
static void text_input_grad(TowerRun *r, const float *dx) {
    int B = r->in.B, D = r->d;
    k_zero(r->in.d_input, (size_t)B * r->in.T_in * D);
    op_copy_batched(r->in.d_input, (size_t)r->in.T_in * D, dx, (size_t)r->T0 * D, B,
                    (size_t)r->T0 * D, 0);
}

/* vision: through ln_pre and the ops at layer −1 to the stem rows */
static void vision_stem_backward(TowerRun *r, float *dx) {
    int B = r->in.B, W = r->d, T = r->T_pre;
    float *dz = k_alloc((size_t)B * T * W);
    const ClipModel *g = r->in.grads;
    op_layernorm_backward(dz, g ? g->vis.ln_pre_w : NULL, g ? g->vis.ln_pre_b : NULL, dx,
                          r->z_pre, r->lnpre_mean, r->lnpre_rstd, r->m->vis.ln_pre_w, B * T, W, 0);
    if (g) vision_stem_weight_grads(r->m, g, dz, r->in.images, B);
    dz = plan_unapply(r, -1, dz, &T);
    if (r->in.d_input) k_copy(r->in.d_input, dz, (size_t)B * T * W);
    k_free(dz);
}

void tower_backward(TowerRun *r, const float *d_pooled, const float *d_feat) {
    if (!r->in.want_grad) cg_fatal("tower_backward: the forward pass was run without want_grad");
    if (r->first_grad == INT_MAX) return; /* nothing upstream wants a gradient */
    float *dx = head_backward(r, d_pooled, d_feat);
    int stop = r->first_grad < 0 ? 0 : r->first_grad;
    for (int i = r->L - 1; i >= stop; i--) {
        int T = r->T_at[i];
        BlockShape s = block_shape(r, i, T);
        float *dx_in = k_alloc((size_t)r->in.B * T * r->d);
        if (r->in.grads) {
            const ClipModel *g = r->in.grads;
            const BlockWeights *dw = r->kind == TOWER_VISION ? &g->vis.blocks[i] : &g->txt.blocks[i];
            block_backward_weights(&r->blocks[i], dw, &s, &r->acts[i], dx, dx_in);
        } else {
            block_backward(&r->blocks[i], &s, &r->acts[i], dx, dx_in);
        }
        k_free(dx);
        dx = plan_unapply(r, i, dx_in, &T);
    }
    if (r->kind == TOWER_VISION && r->first_grad == -1) vision_stem_backward(r, dx);
    else if (r->kind == TOWER_TEXT && r->in.d_input) text_input_grad(r, dx);
    if (r->kind == TOWER_TEXT && r->in.grads) /* positions 0..T0-1 of every sample */
        op_sum_batched(r->in.grads->txt.pos_emb, dx, (size_t)r->T0 * r->d, r->in.B,
                       (size_t)r->T0 * r->d, 1);
    k_free(dx);
}

void tower_free(TowerRun *r) {
    if (!r) return;
    for (int i = 0; i < r->L; i++) {
        if (r->acts[i].x_in) k_free(r->acts[i].x_in);
        if (r->acts[i].ln1) block_acts_free(&r->acts[i]);
    }
    float *bufs[] = {r->z_pre, r->lnpre_mean, r->lnpre_rstd, r->x_last, r->pooled,
                     r->pool_mean, r->pool_rstd, r->feat};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) k_free(bufs[i]);
    for (int i = 0; r->dkv_ext && i < r->L; i++)
        if (r->dkv_ext[i]) k_free(r->dkv_ext[i]);
    free(r->dkv_ext);
    free(r->acts), free(r->T_at), free(r->pool_rows), free(r->pool_idx);
    free(r);
}
