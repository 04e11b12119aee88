/* core/gen/clip_random.c — the deterministic random CLIP (definition in core/gen/clip_random.h). */
#include "core/gen/clip_random.h"
#include "core/model/clip_meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_weights.h"
#include "core/model/safetensors.h"
#include "base/util.h"
#include "core/base/rng.h"

/* volatile intermediates: each product and sum is rounded to double exactly as the definition
 * (and Python) does, whatever -ffp-contract the build uses */
static float clip_random_value_(uint64_t key, size_t i, double mean, double scale) {
    uint64_t bits = cg_splitmix64(key + (uint64_t)i);
    double u = (double)(bits >> 40) / 16777216.0;
    volatile double t = scale * (2.0 * u - 1.0);
    volatile double v = mean + t;
    return (float)v;
}

void clip_random_fill_host_at(float *dst, size_t n, size_t start, const char *name,
                              uint64_t seed, double mean, double std) {
    uint64_t key = cg_fnv1a64(name) ^ (seed * 0x9E3779B97F4A7C15ull);
    volatile double scale = std * 1.7320508075688772;
    double s = scale;
    /* every element depends on its index only, so threads do not change the values */
    #pragma omp parallel for schedule(static) if (n >= (1u << 16))
    for (size_t i = 0; i < n; i++) dst[i] = clip_random_value_(key, start + i, mean, s);
}

void clip_random_fill_host(float *dst, size_t n, const char *name, uint64_t seed, double mean,
                           double std) {
    clip_random_fill_host_at(dst, n, 0, name, seed, mean, std);
}

/* ---- file ------------------------------------------------------------------------------------ */

typedef struct {
    const ClipTensorDesc *d;
    ClipPart part;
    uint64_t seed;
} FillCtx;

/* one file tensor: a plain range of the OpenAI tensor, or its transpose (HF projections) */
static int fill_part_(void *ctx, float *dst, size_t numel) {
    const FillCtx *f = ctx;
    const ClipTensorDesc *d = f->d;
    if (d->kind == CLIP_T_LOGIT) {
        dst[0] = (float)CLIP_RANDOM_LOGIT_SCALE;
        return 0;
    }
    if (!f->part.transposed) {
        clip_random_fill_host_at(dst, numel, f->part.start, d->oa, f->seed, d->mean, d->std);
        return 0;
    }
    size_t rows = (size_t)d->shape[0], cols = (size_t)d->shape[1];
    float *src = cg_malloc(numel * sizeof(float));
    clip_random_fill_host(src, numel, d->oa, f->seed, d->mean, d->std);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
    free(src);
    return 0;
}

static int64_t *iota_(int64_t n) {
    int64_t *v = cg_malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = i;
    return v;
}

static void set_metadata_(StWriter *w, const ClipConfig *cfg, uint64_t seed) {
    char s[64];
    st_writer_set_metadata(w, "format", "pt");
    st_writer_set_metadata(w, "generator", "clipgrid clip_random");
    snprintf(s, sizeof s, "%llu", (unsigned long long)seed);
    st_writer_set_metadata(w, "seed", s);
    st_writer_set_metadata(w, "arch", cfg->arch);
    st_writer_set_metadata(w, "clip.activation", clip_act_name(cfg->act));
    snprintf(s, sizeof s, "%d", cfg->vis.heads);
    st_writer_set_metadata(w, "clip.vision_heads", s);
    snprintf(s, sizeof s, "%d", cfg->txt.heads);
    st_writer_set_metadata(w, "clip.text_heads", s);
}

int clip_random_write_named(const char *path, const ClipConfig *cfg, uint64_t seed,
                            KDtype dtype, ClipNaming naming) {
    ClipConfig c = *cfg;
    if (clip_config_finish(&c)) return -1;
    cfg = &c;
    int n, nf = 0, rc = 0;
    ClipTensorDesc *d = clip_tensor_descs(cfg, NULL, &n);
    FillCtx *ctx = cg_calloc((size_t)n * 3, sizeof *ctx);
    StWriter *w = st_writer_new();
    set_metadata_(w, cfg, seed);
    for (int i = 0; i < n && !rc; i++) {
        ClipPart parts[3];
        int np = clip_desc_parts(&d[i], naming, parts);
        for (int k = 0; k < np && !rc; k++, nf++) {
            ctx[nf] = (FillCtx){&d[i], parts[k], seed};
            StDtype dt = d[i].kind == CLIP_T_LOGIT ? ST_F32 : (StDtype)dtype;
            rc = st_writer_add_fn(w, parts[k].name, dt, parts[k].ndim, parts[k].shape,
                                  fill_part_, &ctx[nf]);
        }
    }
    int64_t *tpos = iota_(cfg->context), *vpos = iota_(cfg->vis_tokens);
    if (!rc && naming == CLIP_NAMES_HF) {
        int64_t st[2] = {1, cfg->context}, sv[2] = {1, cfg->vis_tokens};
        rc = st_writer_add(w, "text_model.embeddings.position_ids", ST_I64, 2, st, tpos) ||
             st_writer_add(w, "vision_model.embeddings.position_ids", ST_I64, 2, sv, vpos);
    }
    if (!rc) rc = st_writer_write(w, path);
    st_writer_free(w);
    free(tpos);
    free(vpos);
    free(ctx);
    free(d);
    return rc ? -1 : 0;
}

int clip_random_write(const char *path, const ClipConfig *cfg, uint64_t seed, KDtype dtype) {
    return clip_random_write_named(path, cfg, seed, dtype, CLIP_NAMES_OPENAI);
}

/* ---- model in memory ------------------------------------------------------------------------- */

int clip_random_model(ClipModel *m, const ClipConfig *cfg, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (clip_config_finish(&m->cfg)) return -1;
    clip_model_alloc_blocks(m);
    int n;
    ClipTensorDesc *d = clip_tensor_descs(&m->cfg, m, &n);
    clip_model_alloc_arena(m, d, n);
    size_t cap = 0;
    for (int i = 0; i < n; i++)
        if (d[i].numel > cap) cap = d[i].numel;
    float *buf = cg_malloc(cap * sizeof(float));
    for (int i = 0; i < n; i++) {
        if (d[i].kind == CLIP_T_LOGIT) continue;
        clip_random_fill_host(buf, d[i].numel, d[i].oa, seed, d[i].mean, d[i].std);
        k_upload(*d[i].field, buf, d[i].numel);
    }
    m->logit_scale = (float)CLIP_RANDOM_LOGIT_SCALE;
    m->vis.proj_layout = m->txt.proj_layout = K_W_IN_OUT;
    free(buf);
    free(d);
    return 0;
}
