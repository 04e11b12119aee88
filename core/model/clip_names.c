/* core/model/clip_names.c — the tensor table of a CLIP ViT in OpenAI and HF naming (clip.md §8.2). */
#include "core/model/clip_names.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

typedef struct {
    ClipTensorDesc *d;
    int n, cap;
} DescList;

/* shapes of the block tensors, as multiples of the block width d */
typedef enum { S_D, S_3D_D, S_3D, S_D_D, S_4D_D, S_4D, S_D_4D } BlockShape;

static const struct {
    const char *oa, *hf;      /* suffixes after the block prefix; hf of a QKV has a %c */
    size_t field;             /* offsetof(BlockWeights, …) */
    BlockShape shape;
    ClipTensorKind kind;
    double mean, std;
} BLOCK_TENSORS[] = {
    {"attn.in_proj_weight", "self_attn.%c_proj.weight", offsetof(BlockWeights, qkv_w), S_3D_D,
     CLIP_T_QKV, 0, 0.02},
    {"attn.in_proj_bias", "self_attn.%c_proj.bias", offsetof(BlockWeights, qkv_b), S_3D,
     CLIP_T_QKV, 0, 0.01},
    {"attn.out_proj.weight", "self_attn.out_proj.weight", offsetof(BlockWeights, out_w), S_D_D,
     CLIP_T_PLAIN, 0, 0.02},
    {"attn.out_proj.bias", "self_attn.out_proj.bias", offsetof(BlockWeights, out_b), S_D,
     CLIP_T_PLAIN, 0, 0.01},
    {"ln_1.weight", "layer_norm1.weight", offsetof(BlockWeights, ln1_w), S_D, CLIP_T_PLAIN, 1,
     0.05},
    {"ln_1.bias", "layer_norm1.bias", offsetof(BlockWeights, ln1_b), S_D, CLIP_T_PLAIN, 0, 0.02},
    {"mlp.c_fc.weight", "mlp.fc1.weight", offsetof(BlockWeights, fc_w), S_4D_D, CLIP_T_PLAIN, 0,
     0.02},
    {"mlp.c_fc.bias", "mlp.fc1.bias", offsetof(BlockWeights, fc_b), S_4D, CLIP_T_PLAIN, 0, 0.01},
    {"mlp.c_proj.weight", "mlp.fc2.weight", offsetof(BlockWeights, proj_w), S_D_4D, CLIP_T_PLAIN,
     0, 0.02},
    {"mlp.c_proj.bias", "mlp.fc2.bias", offsetof(BlockWeights, proj_b), S_D, CLIP_T_PLAIN, 0,
     0.01},
    {"ln_2.weight", "layer_norm2.weight", offsetof(BlockWeights, ln2_w), S_D, CLIP_T_PLAIN, 1,
     0.05},
    {"ln_2.bias", "layer_norm2.bias", offsetof(BlockWeights, ln2_b), S_D, CLIP_T_PLAIN, 0, 0.02},
};
#define N_BLOCK_TENSORS ((int)(sizeof BLOCK_TENSORS / sizeof BLOCK_TENSORS[0]))

static ClipTensorDesc *desc_push_(DescList *l) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->d = cg_realloc(l->d, (size_t)l->cap * sizeof *l->d);
    }
    ClipTensorDesc *d = &l->d[l->n++];
    memset(d, 0, sizeof *d);
    return d;
}

static void desc_shape_(ClipTensorDesc *d, int ndim, const int64_t *s) {
    d->ndim = ndim;
    d->numel = 1;
    for (int i = 0; i < ndim; i++) {
        d->shape[i] = s[i];
        d->numel *= (size_t)s[i];
    }
}

/* HF counterpart(s) of a descriptor whose OpenAI fields are set; hf is a name or a %c pattern */
static void desc_hf_(ClipTensorDesc *d, const char *hf) {
    if (d->kind != CLIP_T_QKV) {
        ClipPart *p = &d->hf[0];
        d->nhf = 1;
        snprintf(p->name, sizeof p->name, "%s", hf);
        p->ndim = d->ndim;
        p->numel = d->numel;
        memcpy(p->shape, d->shape, sizeof p->shape);
        if (d->kind == CLIP_T_PROJ) {
            p->shape[0] = d->shape[1];
            p->shape[1] = d->shape[0];
            p->transposed = 1;
        }
        return;
    }
    d->nhf = 3;
    for (int k = 0; k < 3; k++) {
        ClipPart *p = &d->hf[k];
        snprintf(p->name, sizeof p->name, hf, "qkv"[k]);
        p->ndim = d->ndim;
        memcpy(p->shape, d->shape, sizeof p->shape);
        p->shape[0] = d->shape[0] / 3;
        p->numel = d->numel / 3;
        p->start = (size_t)k * p->numel;
    }
}

/* one top-level tensor; shape given as up to 4 dims ending at the first -1 */
static void add_(DescList *l, const char *oa, const char *hf, int tower, ClipTensorKind kind,
                 float **field, double mean, double std, int64_t s0, int64_t s1, int64_t s2,
                 int64_t s3) {
    ClipTensorDesc *d = desc_push_(l);
    int64_t s[4] = {s0, s1, s2, s3};
    int nd = 0;
    while (nd < 4 && s[nd] >= 0) nd++;
    snprintf(d->oa, sizeof d->oa, "%s", oa);
    desc_shape_(d, nd, s);
    d->kind = kind;
    d->tower = tower;
    d->field = field;
    d->mean = mean;
    d->std = std;
    desc_hf_(d, hf);
}

static void add_block_(DescList *l, int tower, const char *oa_pre, const char *hf_pre, int i,
                       int64_t dm, BlockWeights *b) {
    for (int t = 0; t < N_BLOCK_TENSORS; t++) {
        ClipTensorDesc *d = desc_push_(l);
        int64_t shapes[][2] = {{dm, -1},     {3 * dm, dm}, {3 * dm, -1}, {dm, dm},
                               {4 * dm, dm}, {4 * dm, -1}, {dm, 4 * dm}};
        const int64_t *s = shapes[BLOCK_TENSORS[t].shape];
        char hf[CLIP_NAME_MAX];
        snprintf(d->oa, sizeof d->oa, "%s%d.%s", oa_pre, i, BLOCK_TENSORS[t].oa);
        snprintf(hf, sizeof hf, "%s%d.%s", hf_pre, i, BLOCK_TENSORS[t].hf);
        desc_shape_(d, s[1] < 0 ? 1 : 2, s);
        d->kind = BLOCK_TENSORS[t].kind;
        d->tower = tower;
        d->field = b ? (float **)((char *)b + BLOCK_TENSORS[t].field) : NULL;
        d->mean = BLOCK_TENSORS[t].mean;
        d->std = BLOCK_TENSORS[t].std;
        desc_hf_(d, hf);
    }
}

#define FIELD(expr) (m ? &(expr) : NULL)

static void add_vision_(DescList *l, const ClipConfig *c, ClipModel *m) {
    const int64_t W = c->vis.width, E = c->embed, N = c->vis_tokens, p = c->patch;
    const double sw = pow((double)W, -0.5);  /* Python's W ** -0.5 is C pow */
    const int V = CLIP_TOWER_VISION;
    add_(l, "visual.class_embedding", "vision_model.embeddings.class_embedding", V, CLIP_T_PLAIN,
         FIELD(m->vis.class_emb), 0, sw, W, -1, -1, -1);
    add_(l, "visual.positional_embedding", "vision_model.embeddings.position_embedding.weight",
         V, CLIP_T_PLAIN, FIELD(m->vis.pos_emb), 0, sw, N, W, -1, -1);
    add_(l, "visual.proj", "visual_projection.weight", V, CLIP_T_PROJ, FIELD(m->vis.proj), 0, sw,
         W, E, -1, -1);
    add_(l, "visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight", V,
         CLIP_T_PLAIN, FIELD(m->vis.conv_w), 0, 0.02, W, 3, p, p);
    add_(l, "visual.ln_pre.weight", "vision_model.pre_layrnorm.weight", V, CLIP_T_PLAIN,
         FIELD(m->vis.ln_pre_w), 1, 0.05, W, -1, -1, -1);
    add_(l, "visual.ln_pre.bias", "vision_model.pre_layrnorm.bias", V, CLIP_T_PLAIN,
         FIELD(m->vis.ln_pre_b), 0, 0.02, W, -1, -1, -1);
    for (int i = 0; i < c->vis.layers; i++)
        add_block_(l, V, "visual.transformer.resblocks.", "vision_model.encoder.layers.", i, W,
                   m ? &m->vis.blocks[i] : NULL);
    add_(l, "visual.ln_post.weight", "vision_model.post_layernorm.weight", V, CLIP_T_PLAIN,
         FIELD(m->vis.ln_post_w), 1, 0.05, W, -1, -1, -1);
    add_(l, "visual.ln_post.bias", "vision_model.post_layernorm.bias", V, CLIP_T_PLAIN,
         FIELD(m->vis.ln_post_b), 0, 0.02, W, -1, -1, -1);
}

static void add_text_tail_(DescList *l, const ClipConfig *c, ClipModel *m) {
    const int64_t D = c->txt.width, V = c->vocab;
    const int T = CLIP_TOWER_TEXT;
    for (int i = 0; i < c->txt.layers; i++)
        add_block_(l, T, "transformer.resblocks.", "text_model.encoder.layers.", i, D,
                   m ? &m->txt.blocks[i] : NULL);
    add_(l, "token_embedding.weight", "text_model.embeddings.token_embedding.weight", T,
         CLIP_T_PLAIN, FIELD(m->txt.tok_emb), 0, 0.02, V, D, -1, -1);
    add_(l, "ln_final.weight", "text_model.final_layer_norm.weight", T, CLIP_T_PLAIN,
         FIELD(m->txt.ln_final_w), 1, 0.05, D, -1, -1, -1);
    add_(l, "ln_final.bias", "text_model.final_layer_norm.bias", T, CLIP_T_PLAIN,
         FIELD(m->txt.ln_final_b), 0, 0.02, D, -1, -1, -1);
}

ClipTensorDesc *clip_tensor_descs(const ClipConfig *c, ClipModel *m, int *n) {
    DescList l = {0};
    const int64_t D = c->txt.width, E = c->embed, C = c->context;
    add_(&l, "positional_embedding", "text_model.embeddings.position_embedding.weight",
         CLIP_TOWER_TEXT, CLIP_T_PLAIN, FIELD(m->txt.pos_emb), 0, 0.01, C, D, -1, -1);
    add_(&l, "text_projection", "text_projection.weight", CLIP_TOWER_TEXT, CLIP_T_PROJ,
         FIELD(m->txt.proj), 0, pow((double)D, -0.5), D, E, -1, -1);
    add_(&l, "logit_scale", "logit_scale", CLIP_TOWER_TOP, CLIP_T_LOGIT, NULL, 0, 0, -1, -1, -1,
         -1);
    add_vision_(&l, c, m);
    add_text_tail_(&l, c, m);
    *n = l.n;
    return l.d;
}

int clip_desc_parts(const ClipTensorDesc *d, ClipNaming naming, ClipPart out[3]) {
    if (naming == CLIP_NAMES_HF) {
        memcpy(out, d->hf, (size_t)d->nhf * sizeof *out);
        return d->nhf;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", d->oa);
    out->ndim = d->ndim;
    memcpy(out->shape, d->shape, sizeof out->shape);
    out->numel = d->numel;
    return 1;
}

const char *clip_naming_name(ClipNaming naming) {
    return naming == CLIP_NAMES_HF ? "HF CLIPModel" : "OpenAI/open_clip";
}

void clip_model_alloc_blocks(ClipModel *m) {
    m->vis.blocks = cg_calloc((size_t)m->cfg.vis.layers, sizeof(BlockWeights));
    m->txt.blocks = cg_calloc((size_t)m->cfg.txt.layers, sizeof(BlockWeights));
}

void clip_model_alloc_arena(ClipModel *m, const ClipTensorDesc *d, int n) {
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (d[i].kind != CLIP_T_LOGIT) total += d[i].numel;
    m->arena = k_alloc(total);
    m->arena_floats = total;
    k_weights_frozen(m->arena, total); /* filled next, then never written */
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (d[i].kind == CLIP_T_LOGIT) continue;
        *d[i].field = m->arena + off;  /* pointer arithmetic only: the arena is device memory */
        off += d[i].numel;
    }
}
