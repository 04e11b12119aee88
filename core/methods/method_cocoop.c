/* core/methods/method_cocoop.c — CoCoOp (protocol.md §3): CoOp's context plus a meta-net
 * (Linear E→E/16, ReLU, Linear E/16→D) on the normalised image feature whose output π_b is
 * added to every context vector: one classifier per image.
 * The official code runs the text tower on every class prompt of every image. Here the rows
 * all class prompts of an image share — [SOS, v_1+π_b … v_M+π_b] — run once per image (a
 * prefix run of the text tower, clip_tower.h), and the class-name suffixes [name, ".", EOT] of
 * that image attend to its keys and values at every layer: exact, since with the causal mask
 * the prefix rows never depend on the suffix. The plain path (cocoop_set_plain) runs every
 * full prompt and serves as the test reference.
 * Rank groups (design.md §5): the images of a batch are split over the ranks and the class
 * prompts too (batch 1 on ImageNet leaves only the classes to split): every rank gathers the
 * image features of the whole batch, runs the meta-net on all of them, encodes its slice of
 * the classes for every image, and the text features are gathered; each rank takes the loss
 * of its own images, the gradient w.r.t. all text features is summed over the group, and each
 * rank back-propagates its class slice (the parameter gradients are partial sums, completed by
 * the run loop's all-reduce). With one rank this is the plain single-process computation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_tower.h"
#include "core/methods/method_impl.h"
#include "core/text/tokenizer.h"
#include "base/util.h"
#include "core/methods/zeroshot.h"
#include "kernels/ops.h"

#define W1 "prompt_learner.meta_net.linear1.weight"
#define B1 "prompt_learner.meta_net.linear1.bias"
#define W2 "prompt_learner.meta_net.linear2.weight"
#define B2 "prompt_learner.meta_net.linear2.bias"
#define CTX "prompt_learner.ctx"
#define EVAL_CHUNK 2048 /* image × class prompts per text-tower call at evaluation */

typedef struct {
    int M, D, E, H, plain;
    char prefix[1024];
    ClassPrompts prompts; /* ids [C, context], eot */
    int T_full;           /* plain path: rows per prompt (last EOT + 1) */
    int S;                /* shared-prefix path: suffix rows (last EOT − M) */
    float *base;          /* [C, T_full, D] token embeddings of the prompts */
    float *suffix;        /* [C, S, D] the rows after the context */
    int *suffix_eot;      /* [C] EOT row within the suffix */
    float *sos;           /* [D] */
    ClassSplit cs;        /* this rank's classes */
    int chunk_rows;       /* suffix rows per text-tower call */
} CocoopState;

typedef struct {
    int b;
    float *img, *img_n, *z, *h, *pi;  /* [b,E] ×2, [b,H] ×2, [b,D] */
} MetaFwd;

static void cocoop_defaults(MethodConfig *c, const char *setting, const char *dataset) {
    (void)setting, (void)dataset;
    /* vit_b16_c4_ep10_batch1_ctxv1 for every setting */
    c->n_ctx = 4, strcpy(c->ctx_init, "a photo of a");
    c->train.epochs = 10, c->train.batch = 1, c->train.lr = 0.002;
}

void cocoop_set_plain(Method *m, int plain) { ((CocoopState *)m->state)->plain = plain; }

static int cocoop_build(Method *m) {
    const MethodConfig *cfg = &m->env.cfg;
    const ClipModel *clip = m->env.clip;
    CocoopState *s = cg_calloc(1, sizeof *s);
    m->state = s;
    s->D = clip->cfg.txt.width, s->E = clip->cfg.embed, s->H = clip->cfg.embed / 16;
    s->chunk_rows = 4096;
    if (s->H < 1) s->H = 1;
    if (cfg->ctx_init[0]) {
        if (ctx_phrase_embed(clip, m->env.tok, cfg->ctx_init, &s->M, NULL) != 0) return -1;
        snprintf(s->prefix, sizeof s->prefix, "%s", cfg->ctx_init);
        for (char *p = s->prefix; *p; p++)
            if (*p == '_') *p = ' ';
    } else {
        s->M = cfg->n_ctx;
        if (s->M < 1 || s->M > 60) return cg_error_set("cocoop: n_ctx %d (1..60)", s->M), -1;
        for (int i = 0; i < s->M; i++) strcat(s->prefix, i ? " X" : "X");
    }
    ParamBlock *pb = &m->params;
    param_declare(pb, CTX, 2, (int[]){s->M, s->D});
    param_declare(pb, W1, 2, (int[]){s->H, s->E});
    param_declare(pb, B1, 1, (int[]){s->H});
    param_declare(pb, W2, 2, (int[]){s->D, s->H});
    param_declare(pb, B2, 1, (int[]){s->D});
    param_alloc(pb);
    if (cfg->ctx_init[0]) ctx_phrase_embed(clip, m->env.tok, cfg->ctx_init, &s->M, param_data(pb, CTX));
    else method_init_normal(m, CTX, param_data(pb, CTX), (size_t)s->M * s->D, 0.02);
    double b1 = 1.0 / sqrt((double)s->E), b2 = 1.0 / sqrt((double)s->H);
    method_init_uniform(m, W1, param_data(pb, W1), (size_t)s->H * s->E, b1);
    method_init_uniform(m, B1, param_data(pb, B1), (size_t)s->H, b1);
    method_init_uniform(m, W2, param_data(pb, W2), (size_t)s->D * s->H, b2);
    method_init_uniform(m, B2, param_data(pb, B2), (size_t)s->D, b2);
    return 0;
}

static void cocoop_drop_classes(CocoopState *s) {
    prompts_free(&s->prompts);
    free(s->suffix_eot);
    s->suffix_eot = NULL;
    float *bufs[] = {s->base, s->suffix, s->sos};
    for (int i = 0; i < 3; i++)
        if (bufs[i]) k_free(bufs[i]);
    s->base = s->suffix = s->sos = NULL;
    class_split_free(&s->cs);
}

static int cocoop_set_classes(Method *m, const char *const *names, int C, const char *dataset) {
    (void)dataset;
    CocoopState *s = m->state;
    int D = s->D, M = s->M;
    cocoop_drop_classes(s);
    char tmpl[1100];
    snprintf(tmpl, sizeof tmpl, "%s {}.", s->prefix);
    if (prompts_build(&s->prompts, m->env.tok, tmpl, names, C, m->env.clip->cfg.context))
        return -1;
    const int *eot = s->prompts.eot;
    m->C = C;
    s->T_full = prompts_rows(&s->prompts, 0, C);
    s->S = s->T_full - 1 - M;
    int T = s->T_full;
    s->base = k_alloc((size_t)C * T * D);
    prompts_embed(m->env.clip, &s->prompts, 0, C, T, s->base);
    s->suffix = k_alloc((size_t)C * s->S * D);
    op_copy_batched(s->suffix, (size_t)s->S * D, s->base + (size_t)(1 + M) * D, (size_t)T * D, C,
                    (size_t)s->S * D, 0);
    s->suffix_eot = cg_malloc((size_t)C * sizeof(int));
    for (int c = 0; c < C; c++) s->suffix_eot[c] = eot[c] - 1 - M;
    s->sos = k_alloc((size_t)D);
    k_copy(s->sos, s->base, (size_t)D);
    method_record_token_ids(m, s->prompts.ids, C, s->prompts.context);
    class_split_init(&s->cs, m->env.comm, C, s->E);
    return 0;
}

/* the meta-net π [b, D] on the normalised raw image features img [b, E] (taken over) */
static MetaFwd meta_forward(Method *m, float *img, int b) {
    CocoopState *s = m->state;
    ParamBlock *pb = &m->params;
    MetaFwd f = {.b = b};
    f.img = img;
    f.img_n = k_alloc((size_t)b * s->E);
    op_l2norm(f.img_n, NULL, f.img, b, s->E);
    f.z = k_alloc((size_t)b * s->H), f.h = k_alloc((size_t)b * s->H), f.pi = k_alloc((size_t)b * s->D);
    op_matmul(f.z, f.img_n, param_data(pb, W1), param_data(pb, B1), b, s->E, s->H, K_W_OUT_IN, 0);
    op_relu(f.h, f.z, (size_t)b * s->H);
    op_matmul(f.pi, f.h, param_data(pb, W2), param_data(pb, B2), b, s->H, s->D, K_W_OUT_IN, 0);
    return f;
}

static void meta_backward(Method *m, const MetaFwd *f, const float *dpi) {
    CocoopState *s = m->state;
    ParamBlock *pb = &m->params;
    int b = f->b;
    float *dh = k_alloc((size_t)b * s->H);
    op_dense_backward(dh, param_grad(pb, W2), param_grad(pb, B2), dpi, f->h, param_data(pb, W2), b,
                      s->H, s->D, 0);
    op_relu_backward(dh, dh, f->z, (size_t)b * s->H, 0);
    op_dense_backward(NULL, param_grad(pb, W1), param_grad(pb, B1), dh, f->img_n,
                      param_data(pb, W1), b, s->E, s->H, 0);
    k_free(dh);
}

static void meta_free(MetaFwd *f) {
    float *bufs[] = {f->img, f->img_n, f->z, f->h, f->pi};
    for (int i = 0; i < 5; i++)
        if (bufs[i]) k_free(bufs[i]);
}

/* context rows v + π_b for b images into dst rows [b, *, D] at row 1 (stride rows_per) */
static void ctx_rows(Method *m, const float *pi, int b, float *dst, size_t bs) {
    CocoopState *s = m->state;
    int M = s->M, D = s->D;
    op_copy_batched(dst + D, bs, param_data(&m->params, CTX), 0, b, (size_t)M * D, 0);
    for (int j = 0; j < M; j++) op_copy_batched(dst + (size_t)(1 + j) * D, bs, pi, D, b, D, 1);
}

/* gradient of context rows [b, *, D] (row 1…M, stride bs) into ctx and dπ [b, D] */
static void ctx_rows_backward(Method *m, const float *d, int b, size_t bs, float *dpi) {
    CocoopState *s = m->state;
    int M = s->M, D = s->D;
    op_sum_batched(param_grad(&m->params, CTX), d + D, bs, b, (size_t)M * D, 1);
    for (int i = 0; i < b; i++) op_sum_batched(dpi + (size_t)i * D, d + i * bs + D, D, M, D, 0);
}

/* The text side of n images for this rank's class slice [lo, lo + cnt): features [n, cnt, E].
 * Shared-prefix path: one prefix run for the n images; the suffixes run in chunks of at most
 * CHUNK_ROWS rows (activation memory: ImageNet's 1000 classes); with gradients the chunks run
 * again in the backward, each back-propagating into the prefix run, whose own backward ends it.
 * When the slice fits one chunk its run is kept for the backward instead. Plain path: one run
 * over every full prompt (the tests' reference). */
#define CHUNK_ROWS 4096

typedef struct {
    int n, grad, k;        /* images, gradients wanted, classes per chunk */
    TowerRun *pre, *suf;   /* prefix run; suffix (or plain) run kept for the backward */
    float *x, *d_in;       /* prefix rows (or full prompts) and their gradient */
} TextRun;

/* the prefix run over [SOS, v_1+π_b … v_M+π_b] of n images */
static void prefix_forward(Method *m, const float *pi, TextRun *tr) {
    CocoopState *s = m->state;
    int n = tr->n, M = s->M, D = s->D;
    size_t bs = (size_t)(1 + M) * D;
    tr->x = k_alloc((size_t)n * bs);
    op_copy_batched(tr->x, bs, s->sos, 0, n, D, 0);
    ctx_rows(m, pi, n, tr->x, bs);
    int *pool = cg_malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) pool[i] = M;
    TowerInput in = tower_input_defaults();
    in.B = n, in.embeds = tr->x, in.T_in = 1 + M, in.pool_rows = pool, in.keep_kv = 1;
    if (tr->grad) tr->d_in = k_alloc((size_t)n * bs), in.want_grad = 1, in.d_input = tr->d_in;
    tr->pre = tower_forward(m->env.clip, TOWER_TEXT, &in);
    free(pool);
}

/* suffix run of the slice's classes [c0, c0 + k) after the prefix run */
static TowerRun *suffix_run(Method *m, const TextRun *tr, int c0, int k, int grad) {
    CocoopState *s = m->state;
    int n = tr->n, D = s->D, S = s->S, c = s->cs.lo + c0;
    float *sx = k_alloc((size_t)n * k * S * D);
    int *pool = cg_malloc((size_t)n * k * sizeof(int));
    for (int i = 0; i < n; i++) {
        k_copy(sx + (size_t)i * k * S * D, s->suffix + (size_t)c * S * D, (size_t)k * S * D);
        for (int j = 0; j < k; j++) pool[i * k + j] = s->suffix_eot[c + j];
    }
    TowerInput in = tower_input_defaults();
    in.B = n * k, in.embeds = sx, in.T_in = S, in.pool_rows = pool;
    in.prefix = tr->pre, in.prefix_group = k, in.want_grad = grad;
    TowerRun *r = tower_forward(m->env.clip, TOWER_TEXT, &in);
    k_free(sx);
    free(pool);
    return r;
}

/* the plain run over every full prompt [SOS, v+π_b, name, ".", EOT] of the slice */
static void plain_forward(Method *m, const float *pi, TextRun *tr) {
    CocoopState *s = m->state;
    int n = tr->n, cnt = s->cs.cnt, c0 = s->cs.lo, D = s->D, T = s->T_full;
    size_t bs = (size_t)T * D;
    tr->x = k_alloc((size_t)n * cnt * bs);
    int *pool = cg_malloc((size_t)n * cnt * sizeof(int));
    float *pib = k_alloc((size_t)cnt * D);
    for (int i = 0; i < n; i++) {
        float *xi = tr->x + (size_t)i * cnt * bs;
        k_copy(xi, s->base + (size_t)c0 * bs, (size_t)cnt * bs);
        op_copy_batched(pib, D, pi + (size_t)i * D, 0, cnt, D, 0); /* π_b for every class */
        ctx_rows(m, pib, cnt, xi, bs);
        for (int c = 0; c < cnt; c++) pool[i * cnt + c] = s->prompts.eot[c0 + c];
    }
    k_free(pib);
    TowerInput in = tower_input_defaults();
    in.B = n * cnt, in.embeds = tr->x, in.T_in = T, in.pool_rows = pool;
    if (tr->grad) tr->d_in = k_alloc((size_t)n * cnt * bs), in.want_grad = 1, in.d_input = tr->d_in;
    tr->suf = tower_forward(m->env.clip, TOWER_TEXT, &in);
    free(pool);
}

/* features [n, cnt, E] of n images with meta-net outputs pi [n, D] */
static float *text_forward(Method *m, const float *pi, int n, int grad, TextRun *tr) {
    CocoopState *s = m->state;
    int cnt = s->cs.cnt, E = s->E;
    memset(tr, 0, sizeof *tr);
    tr->n = n, tr->grad = grad;
    float *out = k_alloc((size_t)n * cnt * E);
    if (s->plain) {
        plain_forward(m, pi, tr);
        k_copy(out, tower_features(tr->suf), (size_t)n * cnt * E);
    } else {
        prefix_forward(m, pi, tr);
        tr->k = s->chunk_rows / (n * (s->S > 0 ? s->S : 1));
        tr->k = tr->k < 1 ? 1 : tr->k > cnt ? cnt : tr->k;
        for (int c0 = 0; c0 < cnt; c0 += tr->k) {
            int k = cnt - c0 < tr->k ? cnt - c0 : tr->k, keep = grad && k == cnt;
            TowerRun *r = suffix_run(m, tr, c0, k, keep);
            op_copy_batched(out + (size_t)c0 * E, (size_t)cnt * E, tower_features(r), (size_t)k * E,
                            n, (size_t)k * E, 0);
            if (keep) tr->suf = r;
            else tower_free(r);
        }
    }
    if (!grad) {
        tower_free(tr->suf), tower_free(tr->pre);
        k_free(tr->x);
        memset(tr, 0, sizeof *tr);
    }
    return out;
}

/* from d(features) [n, cnt, E]: the context gradient (+=), and dπ [n, D] (=) */
static void text_backward(Method *m, TextRun *tr, const float *d_txt, float *dpi) {
    CocoopState *s = m->state;
    int cnt = s->cs.cnt, D = s->D, E = s->E, n = tr->n;
    if (s->plain) {
        tower_backward(tr->suf, NULL, d_txt);
        size_t bs = (size_t)s->T_full * D;
        float *d = k_alloc((size_t)n * bs);
        for (int i = 0; i < n; i++) /* Σ over the classes of image i */
            op_sum_batched(d + i * bs, tr->d_in + (size_t)i * cnt * bs, bs, cnt, bs, 0);
        ctx_rows_backward(m, d, n, bs, dpi);
        k_free(d);
    } else {
        if (tr->suf) tower_backward(tr->suf, NULL, d_txt);
        for (int c0 = 0; !tr->suf && c0 < cnt; c0 += tr->k) {
            int k = cnt - c0 < tr->k ? cnt - c0 : tr->k;
            float *dk = k_alloc((size_t)n * k * E);
            op_copy_batched(dk, (size_t)k * E, d_txt + (size_t)c0 * E, (size_t)cnt * E, n,
                            (size_t)k * E, 0);
            TowerRun *r = suffix_run(m, tr, c0, k, 1);
            tower_backward(r, NULL, dk);
            tower_free(r);
            k_free(dk);
        }
        tower_backward(tr->pre, NULL, NULL);
        ctx_rows_backward(m, tr->d_in, n, (size_t)(1 + s->M) * D, dpi);
    }
    tower_free(tr->suf), tower_free(tr->pre);
    k_free(tr->d_in), k_free(tr->x);
    memset(tr, 0, sizeof *tr);
}

void cocoop_set_chunk_rows(Method *m, int rows) {
    ((CocoopState *)m->state)->chunk_rows = rows > 0 ? rows : CHUNK_ROWS;
}

static void record_features(Method *m, const MetaFwd *f, const float *txt_all, const float *logits,
                            int lo, int b, int with_txt_raw) {
    CocoopState *s = m->state;
    int C = m->C, E = s->E;
    if (!m->record || b <= 0) return;
    const float *txt = txt_all + (size_t)lo * C * E;
    method_record(m, "image_features_raw", f->img + (size_t)lo * E, 2, (int[]){b, E});
    method_record(m, "image_features", f->img_n + (size_t)lo * E, 2, (int[]){b, E});
    method_record(m, "meta_net_out", f->pi + (size_t)lo * s->D, 2, (int[]){b, s->D});
    float *tn = k_alloc((size_t)b * C * E);
    op_l2norm(tn, NULL, txt, b * C, E);
    if (with_txt_raw) method_record(m, "text_features_raw", txt, 3, (int[]){b, C, E});
    method_record(m, "text_features", tn, 3, (int[]){b, C, E});
    method_record(m, "logits", logits, 2, (int[]){b, C});
    k_free(tn);
}

/* raw image features of the whole batch [bg, E] on every rank; *lo this rank's first image */
static float *batch_features(Method *m, const float *images, int b, int *bg, int *lo) {
    CgComm *comm = m->env.comm;
    int *counts = cg_malloc((size_t)comm->size * sizeof(int));
    *bg = image_split(comm, b, counts, lo);
    float *mine = b > 0 ? image_features(m->env.clip, images, b) : NULL;
    float *all = k_alloc((size_t)(*bg > 0 ? *bg : 1) * m->env.clip->cfg.embed);
    image_split_gather(comm, counts, m->env.clip->cfg.embed, mine, all);
    if (mine) k_free(mine);
    free(counts);
    return all;
}

/* text features of images [i0, i0 + n) of the batch for all classes [n, C, E]: this rank's
 * class slice, gathered over the group (run kept in *tr when grad) */
static float *text_all(Method *m, const MetaFwd *f, int i0, int n, int grad, TextRun *tr) {
    CocoopState *s = m->state;
    float *mine = NULL, *all = k_alloc((size_t)n * m->C * s->E);
    memset(tr, 0, sizeof *tr);
    if (s->cs.cnt > 0) mine = text_forward(m, f->pi + (size_t)i0 * s->D, n, grad, tr);
    class_split_gather_rows(m->env.comm, &s->cs, n, mine ? mine : all, all);
    if (mine) k_free(mine);
    return all;
}

static double cocoop_forward_backward(Method *m, const float *images, const int *labels, int b,
                                      int b_global, float *logits_out) {
    CocoopState *s = m->state;
    const ClipModel *clip = m->env.clip;
    int C = m->C, E = s->E, bg, lo;
    float *img = batch_features(m, images, b, &bg, &lo);
    if (bg <= 0) return k_free(img), 0.0;
    MetaFwd f = meta_forward(m, img, bg);
    TextRun tr;
    float *txt = text_all(m, &f, 0, bg, 1, &tr);
    float *logits = k_alloc((size_t)(b > 0 ? b : 1) * C), *d_all = k_alloc((size_t)bg * C * E);
    double loss = 0;
    for (int i = 0; i < b; i++) {
        size_t g = (size_t)(lo + i);
        loss += clip_head(f.img + g * E, txt + g * C * E, 1, C, E, clip->logit_scale, labels + i,
                          b_global, logits + (size_t)i * C, NULL, d_all + g * C * E, NULL, NULL);
    }
    record_features(m, &f, txt, logits, lo, b, 1);
    if (logits_out && b > 0) k_copy(logits_out, logits, (size_t)b * C);
    m->env.comm->allreduce_sum(m->env.comm, d_all, (size_t)bg * C * E);
    float *dpi = k_alloc((size_t)bg * s->D);
    if (s->cs.cnt > 0) {
        float *d_mine = k_alloc((size_t)bg * s->cs.cnt * E);
        class_split_select_rows(&s->cs, bg, d_all, d_mine);
        text_backward(m, &tr, d_mine, dpi);
        k_free(d_mine);
    }
    meta_backward(m, &f, dpi);
    k_free(dpi), k_free(txt), k_free(logits), k_free(d_all);
    meta_free(&f);
    return loss;
}

static void cocoop_logits(Method *m, const float *images, int b, EvalMode mode, float *logits_host) {
    (void)mode;
    CocoopState *s = m->state;
    const ClipModel *clip = m->env.clip;
    int C = m->C, E = s->E, bg, lo;
    float *img = batch_features(m, images, b, &bg, &lo);
    if (bg <= 0) return k_free(img);
    MetaFwd f = meta_forward(m, img, bg);
    float *logits = k_alloc((size_t)(b > 0 ? b : 1) * C);
    float *rec = m->record ? k_alloc((size_t)bg * C * E) : NULL;
    int chunk = EVAL_CHUNK / (C > 0 ? C : 1);
    if (chunk < 1) chunk = 1;
    for (int i0 = 0; i0 < bg; i0 += chunk) { /* the same chunks on every rank */
        int n = bg - i0 < chunk ? bg - i0 : chunk;
        TextRun tr;
        float *t = text_all(m, &f, i0, n, 0, &tr);
        for (int g = i0; g < i0 + n; g++)
            if (g >= lo && g < lo + b)
                clip_head(f.img + (size_t)g * E, t + (size_t)(g - i0) * C * E, 1, C, E,
                          clip->logit_scale, NULL, 1, logits + (size_t)(g - lo) * C, NULL, NULL,
                          NULL, NULL);
        if (rec) k_copy(rec + (size_t)i0 * C * E, t, (size_t)n * C * E);
        k_free(t);
    }
    if (rec) record_features(m, &f, rec, logits, lo, b, 0), k_free(rec);
    if (b > 0) k_download(logits_host, logits, (size_t)b * C);
    k_free(logits);
    meta_free(&f);
}

static void cocoop_destroy(Method *m) {
    if (!m->state) return;
    cocoop_drop_classes(m->state);
    free(m->state);
    m->state = NULL;
}

static const MethodKey COCOOP_KEYS[] = {KEY_N_CTX, KEY_CTX_INIT, KEY_END};

/* the text tower runs per image (the meta-net's shift); with batch 1 the FLOP model is 1.1x
 * too dear (cost factor 0.9) */
static MethodCost cocoop_cost(const MethodConfig *c) {
    return (MethodCost){.extra_text_tokens = c->n_ctx, .text_per_image = 1};
}

const MethodDesc cocoop_method = {
    .name = "cocoop", .display = "CoCoOp", .trainer = "CoCoOp", .frozen_image_features = 1, .trains = 1, .keys = COCOOP_KEYS,
    .defaults = cocoop_defaults, .cost = cocoop_cost, .cost_factor = 0.9,
    .ops = {cocoop_build, cocoop_set_classes, cocoop_forward_backward, cocoop_logits,
            cocoop_destroy},
};
