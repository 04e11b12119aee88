/* core/methods/method_coop.c — CoOp (protocol.md §2): M learnable context vectors (from a phrase, or
 * N(0, 0.02²)), shared or class-specific (CSC), with the class token at the end, middle or
 * front of [SOS, context, class name, ".", EOT]. The text tower runs only to the last EOT of
 * the batch of prompts (exact: causal mask); the class prompts are split over the rank group
 * (ClassSplit); evaluation caches the text features until the parameters or classes change. */
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_tower.h"
#include "core/methods/method_impl.h"
#include "core/text/tokenizer.h"
#include "base/util.h"
#include "core/methods/zeroshot.h"
#include "kernels/ops.h"

typedef enum { POS_END = 0, POS_MIDDLE = 1, POS_FRONT = 2 } CtxPos;

typedef struct {
    int M, D, E, csc, C_csc;
    CtxPos pos;
    char prefix[1024];     /* text standing in for the context when tokenising */
    ClassPrompts prompts;  /* ids [C, context], eot, name_lens */
    ClassSplit cs;
    int T;                 /* rows per prompt of this rank's slice (last EOT + 1) */
    float *base;           /* [cnt, T, D] token embeddings of this rank's prompts */
    float *txt_cache;      /* [C, E] eval text features */
    long cache_version;
    int chunk_rows;        /* prompt rows per text-tower call */
    CoopExtension ext;     /* a method built on CoOp (KgCoOp): its extra loss term */
} CoopState;

/* prompt rows per text-tower call: bounds the saved activations (~33 KB per row and layer at
 * width 512) when all of ImageNet's classes are encoded with gradients */
#define COOP_CHUNK_ROWS 4096

void coop_defaults(MethodConfig *c, const char *setting, const char *dataset) {
    int imagenet = dataset && !strcmp(dataset, "imagenet");
    c->train.batch = 32, c->train.lr = 0.002;
    c->csc = 0;
    strcpy(c->class_token_position, "end");
    if (!strcmp(setting, "fewshot")) {
        /* CoOp IJCV: 16 random context vectors, vit_b16 (200 epochs; ImageNet ep50) */
        c->n_ctx = 16, c->ctx_init[0] = 0, c->train.epochs = imagenet ? 50 : 200;
    } else {
        /* base2new (CoCoOp paper, vit_b16_ctxv1, ImageNet ep50), cross-dataset and DG
         * (vit_b16_ep50_ctxv1 on ImageNet) */
        c->n_ctx = 4, strcpy(c->ctx_init, "a photo of a");
        c->train.epochs = (!strcmp(setting, "base2new") && !imagenet) ? 200 : 50;
    }
}

static int coop_pos(const char *s, CtxPos *p) {
    if (!strcmp(s, "end") || !*s) *p = POS_END;
    else if (!strcmp(s, "middle")) *p = POS_MIDDLE;
    else if (!strcmp(s, "front")) *p = POS_FRONT;
    else return cg_error_set("class_token_position '%s' is not end, middle or front", s), -1;
    return 0;
}

static void coop_declare_ctx(Method *m, int C) {
    CoopState *s = m->state;
    if (s->csc) param_declare(&m->params, "prompt_learner.ctx", 3, (int[]){C, s->M, s->D});
    else param_declare(&m->params, "prompt_learner.ctx", 2, (int[]){s->M, s->D});
    param_alloc(&m->params);
    float *ctx = param_data(&m->params, "prompt_learner.ctx");
    if (m->env.cfg.ctx_init[0]) {
        ctx_phrase_embed(m->env.clip, m->env.tok, m->env.cfg.ctx_init, &s->M, ctx);
    } else {
        method_init_normal(m, "prompt_learner.ctx", ctx, (size_t)(s->csc ? C : 1) * s->M * s->D,
                           0.02);
    }
    s->C_csc = s->csc ? C : 0;
}

int coop_build(Method *m) {
    const MethodConfig *cfg = &m->env.cfg;
    CoopState *s = cg_calloc(1, sizeof *s);
    m->state = s;
    s->D = m->env.clip->cfg.txt.width, s->E = m->env.clip->cfg.embed;
    s->chunk_rows = COOP_CHUNK_ROWS;
    if (coop_pos(cfg->class_token_position, &s->pos) != 0) return -1;
    if (cfg->ctx_init[0]) {
        if (ctx_phrase_embed(m->env.clip, m->env.tok, cfg->ctx_init, &s->M, NULL) != 0) return -1;
        snprintf(s->prefix, sizeof s->prefix, "%s", cfg->ctx_init);
        for (char *p = s->prefix; *p; p++)
            if (*p == '_') *p = ' ';
    } else {
        s->M = cfg->n_ctx;
        s->csc = cfg->csc;
        if (s->M < 1 || s->M > 60) return cg_error_set("coop: n_ctx %d (1..60)", s->M), -1;
        for (int i = 0; i < s->M; i++) strcat(s->prefix, i ? " X" : "X");
    }
    if (!s->csc) coop_declare_ctx(m, 0); /* CSC: declared with the first class set */
    return 0;
}

static void coop_drop_classes(CoopState *s) {
    prompts_free(&s->prompts);
    if (s->base) k_free(s->base);
    if (s->txt_cache) k_free(s->txt_cache);
    s->base = s->txt_cache = NULL;
    class_split_free(&s->cs);
}

int coop_set_classes(Method *m, const char *const *names, int C, const char *dataset) {
    (void)dataset;
    CoopState *s = m->state;
    if (s->csc && s->C_csc && s->C_csc != C)
        return cg_error_set("coop: a class-specific context for %d classes cannot serve %d",
                            s->C_csc, C), -1;
    coop_drop_classes(s);
    char tmpl[1100];
    snprintf(tmpl, sizeof tmpl, "%s {}.", s->prefix);
    if (prompts_build(&s->prompts, m->env.tok, tmpl, names, C, m->env.clip->cfg.context))
        return -1;
    if (s->csc && !s->C_csc) coop_declare_ctx(m, C);
    m->C = C;
    class_split_init(&s->cs, m->env.comm, C, s->E);
    s->T = prompts_rows(&s->prompts, s->cs.lo, s->cs.cnt);
    if (s->cs.cnt > 0) {
        s->base = k_alloc((size_t)s->cs.cnt * s->T * s->D);
        prompts_embed(m->env.clip, &s->prompts, s->cs.lo, s->cs.cnt, s->T, s->base);
    }
    method_record_token_ids(m, s->prompts.ids, C, s->prompts.context);
    return 0;
}

/* rows of class c's prompt (global class index) where the context chunks and the name go:
 * end [SOS, ctx, name, …]; middle [SOS, ctx[:h], name, ctx[h:], …]; front [SOS, name, ctx, …] */
typedef struct {
    int name_dst, name_src, nl;   /* name rows: dst row, row in the end-order embedding */
    int c0_dst, c0_rows, c1_dst, c1_rows;  /* the two context chunks (c1_rows may be 0) */
} Layout;

static Layout layout_of(const CoopState *s, int c) {
    int M = s->M, nl = s->prompts.name_lens[c];
    Layout L = {.name_src = 1 + M, .nl = nl};
    if (s->pos == POS_END) L.name_dst = 1 + M, L.c0_dst = 1, L.c0_rows = M;
    else if (s->pos == POS_FRONT) L.name_dst = 1, L.c0_dst = 1 + nl, L.c0_rows = M;
    else {
        int h = M / 2;
        L.c0_dst = 1, L.c0_rows = h, L.name_dst = 1 + h, L.c1_dst = 1 + h + nl, L.c1_rows = M - h;
    }
    return L;
}

/* the prompt rows [n, T, D] of this rank's classes [i0, i0 + n) (slice-relative) with the
 * current context */
static float *coop_embeds(Method *m, int i0, int n) {
    CoopState *s = m->state;
    int T = s->T, D = s->D, M = s->M;
    size_t bs = (size_t)T * D;
    const float *ctx = param_data(&m->params, "prompt_learner.ctx");
    float *x = k_alloc((size_t)n * bs);
    k_copy(x, s->base + (size_t)i0 * bs, (size_t)n * bs);
    if (s->pos == POS_END) {
        const float *src = s->csc ? ctx + (size_t)(s->cs.lo + i0) * M * D : ctx;
        op_copy_batched(x + D, bs, src, s->csc ? (size_t)M * D : 0, n, (size_t)M * D, 0);
        return x;
    }
    for (int i = 0; i < n; i++) {
        int c = s->cs.lo + i0 + i;
        Layout L = layout_of(s, c);
        float *row = x + i * bs;
        const float *cc = s->csc ? ctx + (size_t)c * M * D : ctx;
        if (L.nl > 0) k_copy(row + (size_t)L.name_dst * D, s->base + (i0 + i) * bs + (size_t)L.name_src * D, (size_t)L.nl * D);
        k_copy(row + (size_t)L.c0_dst * D, cc, (size_t)L.c0_rows * D);
        if (L.c1_rows) k_copy(row + (size_t)L.c1_dst * D, cc + (size_t)L.c0_rows * D, (size_t)L.c1_rows * D);
    }
    return x;
}

/* context gradient from d(prompt rows) [n, T, D] of classes [i0, i0 + n) of the slice */
static void coop_ctx_backward(Method *m, const float *dx, int i0, int n) {
    CoopState *s = m->state;
    int T = s->T, D = s->D, M = s->M;
    size_t bs = (size_t)T * D;
    float *g = param_grad(&m->params, "prompt_learner.ctx");
    if (s->pos == POS_END) {
        if (s->csc) op_copy_batched(g + (size_t)(s->cs.lo + i0) * M * D, (size_t)M * D, dx + D, bs, n, (size_t)M * D, 1);
        else op_sum_batched(g, dx + D, bs, n, (size_t)M * D, 1);
        return;
    }
    for (int i = 0; i < n; i++) {
        int c = s->cs.lo + i0 + i;
        Layout L = layout_of(s, c);
        float *gc = s->csc ? g + (size_t)c * M * D : g;
        const float *row = dx + i * bs;
        op_add(gc, row + (size_t)L.c0_dst * D, (size_t)L.c0_rows * D);
        if (L.c1_rows) op_add(gc + (size_t)L.c0_rows * D, row + (size_t)L.c1_dst * D, (size_t)L.c1_rows * D);
    }
}

/* text features [n, E] of the slice's classes [i0, i0 + n) into out; with d_out (the gradient
 * w.r.t. those features) the pass is run with gradients and back-propagated to the context */
static void coop_text_range(Method *m, int i0, int n, float *out, const float *d_out) {
    CoopState *s = m->state;
    float *x = coop_embeds(m, i0, n), *dx = NULL;
    TowerInput in = tower_input_defaults();
    in.B = n, in.embeds = x, in.T_in = s->T, in.pool_rows = s->prompts.eot + s->cs.lo + i0;
    if (d_out) {
        dx = k_alloc((size_t)n * s->T * s->D);
        in.want_grad = 1, in.d_input = dx;
    }
    TowerRun *r = tower_forward(m->env.clip, TOWER_TEXT, &in);
    if (out) k_copy(out, tower_features(r), (size_t)n * s->E);
    if (d_out) {
        tower_backward(r, NULL, d_out);
        coop_ctx_backward(m, dx, i0, n);
        k_free(dx);
    }
    tower_free(r);
    k_free(x);
}

/* classes per text-tower call: at most chunk_rows prompt rows (activation memory) */
static int coop_chunk(const CoopState *s) {
    int k = s->chunk_rows / (s->T > 0 ? s->T : 1);
    return k < 1 ? 1 : k;
}

/* all C text features [C, E]: this rank's slice in chunks, gathered over the group */
static float *coop_text_all(Method *m) {
    CoopState *s = m->state;
    float *all = k_alloc((size_t)m->C * s->E), *mine = NULL;
    if (s->cs.cnt > 0) {
        mine = k_alloc((size_t)s->cs.cnt * s->E);
        for (int i0 = 0, k = coop_chunk(s); i0 < s->cs.cnt; i0 += k)
            coop_text_range(m, i0, s->cs.cnt - i0 < k ? s->cs.cnt - i0 : k, mine + (size_t)i0 * s->E, NULL);
    }
    class_split_gather(m->env.comm, &s->cs, mine ? mine : all, all);
    if (mine) k_free(mine);
    return all;
}

/* The text features are needed for every class before the loss; one pass with gradients
 * over all of them would keep every prompt's activations. So: features without gradients in
 * chunks, the loss, then each chunk again with gradients and its backward (one extra forward
 * of the text tower; the same numbers as a single pass). A slice that fits one chunk runs once. */
double coop_forward_backward(Method *m, const float *images, const int *labels, int b,
                             int b_global, float *logits_out) {
    CoopState *s = m->state;
    const ClipModel *clip = m->env.clip;
    int C = m->C, E = s->E, n = s->cs.cnt, k = coop_chunk(s), one_pass = n > 0 && n <= k;
    float *txt = k_alloc((size_t)C * E), *d_txt = k_alloc((size_t)C * E);
    float *mine = k_alloc((size_t)(n > 0 ? n : 1) * E);
    TowerRun *run = NULL;
    float *x = NULL, *dx = NULL;
    if (one_pass) { /* keep the run: its backward follows the loss */
        x = coop_embeds(m, 0, n), dx = k_alloc((size_t)n * s->T * s->D);
        TowerInput in = tower_input_defaults();
        in.B = n, in.embeds = x, in.T_in = s->T, in.pool_rows = s->prompts.eot + s->cs.lo;
        in.want_grad = 1, in.d_input = dx;
        run = tower_forward(clip, TOWER_TEXT, &in);
        k_copy(mine, tower_features(run), (size_t)n * E);
    } else {
        for (int i0 = 0; i0 < n; i0 += k)
            coop_text_range(m, i0, n - i0 < k ? n - i0 : k, mine + (size_t)i0 * E, NULL);
    }
    class_split_gather(m->env.comm, &s->cs, n > 0 ? mine : txt, txt);
    double loss = 0;
    if (b > 0) { /* a rank without images of this batch still takes part in the collectives */
        float *img = image_features(clip, images, b), *logits = k_alloc((size_t)b * C);
        float *img_n = k_alloc((size_t)b * E), *txt_n = k_alloc((size_t)C * E);
        loss = clip_head(img, txt, b, C, E, clip->logit_scale, labels, b_global, logits, NULL,
                         d_txt, img_n, txt_n);
        method_record(m, "image_features_raw", img, 2, (int[]){b, E});
        method_record(m, "image_features", img_n, 2, (int[]){b, E});
        method_record(m, "text_features_raw", txt, 2, (int[]){C, E});
        method_record(m, "text_features", txt_n, 2, (int[]){C, E});
        method_record(m, "logits", logits, 2, (int[]){b, C});
        if (logits_out) k_copy(logits_out, logits, (size_t)b * C);
        k_free(img), k_free(logits), k_free(img_n), k_free(txt_n);
    }
    /* the extension's term on the class features: once per group (rank 0 adds it) */
    if (s->ext.text_loss && m->env.comm->rank == 0) loss += s->ext.text_loss(m, txt, d_txt);
    float *d_mine = class_split_reduce(m->env.comm, &s->cs, d_txt);
    if (one_pass) {
        tower_backward(run, NULL, d_mine);
        coop_ctx_backward(m, dx, 0, n);
        tower_free(run);
        k_free(x), k_free(dx);
    } else {
        for (int i0 = 0; i0 < n; i0 += k)
            coop_text_range(m, i0, n - i0 < k ? n - i0 : k, NULL, d_mine + (size_t)i0 * E);
    }
    k_free(txt), k_free(d_txt), k_free(mine);
    return loss;
}

/* rows per text-tower call (tests: a small value exercises the chunked two-pass path) */
void coop_set_chunk_rows(Method *m, int rows) {
    ((CoopState *)m->state)->chunk_rows = rows > 0 ? rows : COOP_CHUNK_ROWS;
}

void coop_logits(Method *m, const float *images, int b, EvalMode mode, float *logits_host) {
    (void)mode;
    CoopState *s = m->state;
    const ClipModel *clip = m->env.clip;
    int C = m->C, E = s->E;
    if (!s->txt_cache || s->cache_version != m->params_version) {
        if (s->txt_cache) k_free(s->txt_cache);
        s->txt_cache = coop_text_all(m);
        s->cache_version = m->params_version;
    }
    if (b <= 0) return;
    float *img = image_features(clip, images, b), *logits = k_alloc((size_t)b * C);
    clip_head(img, s->txt_cache, b, C, E, clip->logit_scale, NULL, b, logits, NULL, NULL, NULL, NULL);
    method_record(m, "logits", logits, 2, (int[]){b, C});
    k_download(logits_host, logits, (size_t)b * C);
    k_free(img), k_free(logits);
}

void coop_destroy(Method *m) {
    if (!m->state) return;
    CoopState *s = m->state;
    if (s->ext.destroy) s->ext.destroy(m, s->ext.state);
    coop_drop_classes(m->state);
    free(m->state);
    m->state = NULL;
}

void coop_extend(Method *m, CoopExtension ext) { ((CoopState *)m->state)->ext = ext; }
void *coop_extension_state(const Method *m) { return ((const CoopState *)m->state)->ext.state; }

MethodCost method_cost_text_context(const MethodConfig *c) {
    return (MethodCost){.extra_text_tokens = c->n_ctx};
}

static const MethodKey COOP_KEYS[] = {KEY_N_CTX, KEY_CTX_INIT, KEY_CSC, KEY_CLASS_TOKEN_POSITION,
                                      KEY_END};

/* cost factor 1: the reference of the others (runner/grid.c) */
const MethodDesc coop_method = {
    .name = "coop", .display = "CoOp", .trainer = "CoOp", .frozen_image_features = 1, .trains = 1, .keys = COOP_KEYS,
    .defaults = coop_defaults, .cost = method_cost_text_context, .cost_factor = 1.0,
    .ops = {coop_build, coop_set_classes, coop_forward_backward, coop_logits, coop_destroy},
};
