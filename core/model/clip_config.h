/* core/model/clip_config.h — the dimensions of a CLIP ViT model and the device pointers of its
 * frozen weights (one struct per residual block, one per tower). Filled by core/model/clip_weights.c. */
#ifndef CLIPGRID_CORE_CLIP_CONFIG_H
#define CLIPGRID_CORE_CLIP_CONFIG_H

#include "kernels/ops.h"

typedef struct {
    int width;   /* d: 768 vision / 512 text for ViT-B */
    int layers;
    int heads;   /* from metadata (core/model/clip_meta.h); width / 64 for OpenAI's models */
    int mlp;     /* 4 * width */
} TowerDims;

/* the MLP activation of every residual block: OpenAI's QuickGELU x·σ(1.702x) or exact GELU */
typedef enum { CLIP_ACT_QUICKGELU = 0, CLIP_ACT_GELU = 1 } ClipAct;

typedef struct {
    char arch[32];     /* "ViT-B/16", … or "custom" */
    TowerDims vis, txt;
    int image_res;     /* R */
    int patch;         /* p */
    int grid;          /* g = R/p */
    int vis_tokens;    /* g*g + 1 */
    int embed;         /* E, joint embedding */
    int vocab;         /* 49408 */
    int context;       /* 77 */
    ClipAct act;       /* QuickGELU unless metadata says otherwise */
    char act_src[400];    /* where act and the head counts came from ("" for in-memory models) */
    char heads_src[400];
} ClipConfig;

/* One pre-LN residual block. Linear weights are [out,in]; qkv rows are [q; k; v]. */
typedef struct {
    float *ln1_w, *ln1_b;
    float *qkv_w, *qkv_b;      /* [3d, d], [3d] */
    float *out_w, *out_b;      /* [d, d], [d] */
    float *ln2_w, *ln2_b;
    float *fc_w, *fc_b;        /* [4d, d], [4d] */
    float *proj_w, *proj_b;    /* [d, 4d], [d] */
} BlockWeights;

typedef struct {
    float *conv_w;             /* [W, 3*p*p] (the conv kernel [W,3,p,p] flattened) */
    float *class_emb;          /* [W] */
    float *pos_emb;            /* [N, W] */
    float *ln_pre_w, *ln_pre_b;
    BlockWeights *blocks;      /* [layers] */
    float *ln_post_w, *ln_post_b;
    float *proj;               /* [W,E] if proj_layout == K_W_IN_OUT, [E,W] if K_W_OUT_IN */
    KWLayout proj_layout;
} VisionWeights;

typedef struct {
    float *tok_emb;            /* [V, D] */
    float *pos_emb;            /* [C, D] */
    BlockWeights *blocks;
    float *ln_final_w, *ln_final_b;
    float *proj;               /* [D,E] (IN_OUT) or [E,D] (OUT_IN) */
    KWLayout proj_layout;
} TextWeights;

typedef struct {
    ClipConfig cfg;
    VisionWeights vis;
    TextWeights txt;
    float logit_scale;         /* the stored log value s; logits use exp(s) */
    float *arena;              /* one device allocation holding every tensor above */
    size_t arena_floats;
} ClipModel;

#endif
