/* core/model/clip_tower.h — the one CLIP encoder every method uses: vision and text towers forward
 * (clip.md §2–§3) and activation backward (§6), driven by a prompt plan (prompt_plan.h).
 *
 * Vision input: images [B,3,R,R]. Text input: embeddings [B,T_in,D] (token embeddings or a
 * method's learned rows; the positional embedding is added here). The output is, per sample,
 * the final-LayerNorm rows at `pool_rows` (vision default: row 0) and their projection.
 * Exact shortcuts (on by default through tower_input_defaults):
 *   - truncate: the text tower runs only up to the last pooled row of the batch (causal mask);
 *   - last_query_only: the last block computes only the pooled query rows. */
#ifndef CLIPGRID_CORE_CLIP_TOWER_H
#define CLIPGRID_CORE_CLIP_TOWER_H

#include "core/model/clip_config.h"
#include "core/model/prompt_plan.h"

typedef enum { TOWER_VISION = 0, TOWER_TEXT = 1 } TowerKind;

typedef struct {
    int B;
    const float *images;     /* vision: [B,3,R,R] */
    const float *embeds;     /* text: [B,T_in,D] */
    int T_in;                /* text: rows per sample in embeds */
    const PromptPlan *plan;  /* NULL: none */
    int n_pool;              /* pooled rows per sample */
    const int *pool_rows;    /* host [B*n_pool], rows of the final sequence; vision NULL = row 0 */
    int truncate;            /* text only */
    int last_query_only;
    int want_grad;           /* keep what tower_backward needs */
    float *d_input;          /* optional '=' gradient w.r.t. the input rows: text [B,T_in,D];
                                vision the [B,N,W] rows after class token + positions, before
                                plan ops at layer −1 and ln_pre */
    /* optional observer of the residual stream (tests, debugging): called with layer 0 for the
     * input of block 0 (before the plan ops of layer 0) and layer i+1 for the output of block i,
     * x [B, T, d] on the device (the last block under last_query_only: T = n_pool rows) */
    void (*observe)(void *ctx, int layer, const float *x, int B, int T, int d);
    void *observe_ctx;
    /* text only, shared prefix (exact, causal mask): `prefix` is a finished forward run over
     * rows that groups of samples share (made with keep_kv), e.g. CoCoOp's SOS + context of an
     * image; this run's samples continue it: sample b continues prefix sample b / prefix_group,
     * its rows sit at positions prefix_rows… (positional embedding, mask) and attend to the
     * prefix's keys and values at every layer. pool_rows count from this run's first row.
     * tower_backward of this run accumulates into the prefix run, whose own tower_backward
     * must follow. */
    struct TowerRun *prefix;
    int prefix_group;
    int keep_kv;             /* keep every block's keys and values (a prefix run) */
    /* start inside the tower (exact caching of frozen lower blocks): start_layer > 0 skips the
     * stem and blocks 0..start_layer−1 and starts from x_start [B, T_start, d], the residual
     * stream at the input of block start_layer before that layer's plan ops (what `observe`
     * reports as layer start_layer); the tower copies it. Plan ops below start_layer are
     * ignored; pool_rows index the final sequence; no prefix, no d_input, and every op with a
     * gradient must sit at a layer >= start_layer. The caller truncates text rows itself. */
    int start_layer;
    const float *x_start;
    int T_start;
    /* weight-gradient mode (pretraining, core/model/clip_grad.h): tower_backward also
     * accumulates ('+=') the gradient of every weight of this tower into the model-shaped
     * buffers `grads` (clip_model_clone). Needs want_grad; every block then runs full (no
     * last_query_only) and keeps its activations; no plan, prefix or start_layer. The text
     * tower's token-embedding gradient is the caller's, from d_input. NULL: frozen weights. */
    const ClipModel *grads;
} TowerInput;

typedef struct TowerRun TowerRun;

TowerInput tower_input_defaults(void); /* shortcuts on, no grad, n_pool 1 */
TowerRun *tower_forward(const ClipModel *m, TowerKind kind, const TowerInput *in);
/* [B*n_pool, width]: the final LayerNorm output at the pooled rows */
const float *tower_pooled(const TowerRun *r);
/* [B*n_pool, E]: pooled · projection */
const float *tower_features(const TowerRun *r);
int tower_rows_run(const TowerRun *r); /* rows per sample at the input (after truncation) */
/* Backward from gradients w.r.t. the pooled rows and/or the features (either may be NULL).
 * Accumulates into every plan op's grad and writes in->d_input. Needs want_grad. */
void tower_backward(TowerRun *r, const float *d_pooled, const float *d_feat);
void tower_free(TowerRun *r);

#endif
