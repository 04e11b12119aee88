/* core/model/clip_weights_shared.c — a ClipModel over an arena it does not own (node-shared weights):
 * the arena size of a configuration, the view of a model on a filled arena, and reading a file
 * into a host arena. Same layout and values as clip_model_load (descriptor order). */
#include "core/model/clip_weights_shared.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "core/model/clip_names.h"
#include "core/model/clip_weights.h"
#include "base/util.h"
#include "core/model/torch_checkpoint.h"

size_t clip_arena_floats(const ClipConfig *cfg) {
    int n;
    ClipTensorDesc *d = clip_tensor_descs(cfg, NULL, &n);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (d[i].kind != CLIP_T_LOGIT) total += d[i].numel;
    free(d);
    return total;
}

/* point every descriptor's field at its place in the arena (clip_model_alloc_arena's order) */
static ClipTensorDesc *place_(ClipModel *m, const ClipConfig *cfg, float *arena, int *n) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    clip_model_alloc_blocks(m);
    ClipTensorDesc *d = clip_tensor_descs(&m->cfg, m, n);
    size_t off = 0;
    for (int i = 0; i < *n; i++) {
        if (d[i].kind == CLIP_T_LOGIT) continue;
        *d[i].field = arena + off;  /* pointer arithmetic only */
        off += d[i].numel;
    }
    m->arena = arena;
    m->arena_floats = off;
    return d;
}

void clip_model_view(ClipModel *m, const ClipConfig *cfg, float *arena, float logit_scale,
                     KWLayout proj_layout) {
    int n;
    free(place_(m, cfg, arena, &n));
    k_weights_frozen(arena, m->arena_floats);
    m->logit_scale = logit_scale;
    m->vis.proj_layout = m->txt.proj_layout = proj_layout;
}

/* file data of dtype dt → host fp32 (the file's bytes are little-endian, maybe unaligned) */
static void to_host_f32_(float *dst, const void *src, StDtype dt, size_t n) {
    if (dt == ST_F32) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    const unsigned char *p = src;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        dst[i] = dt == ST_F16 ? st_f16_to_f32(h) : st_bf16_to_f32(h);
    }
}

int clip_weights_load_host(const char *path, float *host, size_t floats, ClipConfig *cfg,
                           float *logit_scale, KWLayout *layout) {
    SafeTensors *st = weights_open(path);  /* safetensors or a PyTorch checkpoint */
    if (!st) return -1;
    ClipNaming nm;
    if (clip_weights_check(st, cfg, &nm)) {
        st_close(st);
        return -1;
    }
    if (clip_arena_floats(cfg) != floats) {
        cg_error_set("%s: holds %zu weight floats, the shared arena %zu", path,
                     clip_arena_floats(cfg), floats);
        st_close(st);
        return -1;
    }
    int n;
    ClipTensorDesc *d = clip_tensor_descs(cfg, NULL, &n);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        ClipPart parts[3];
        int np = clip_desc_parts(&d[i], nm, parts);
        for (int k = 0; k < np; k++) {
            const StTensor *t = st_find(st, parts[k].name);
            if (d[i].kind == CLIP_T_LOGIT) *logit_scale = st_read_float(t->data, t->dtype);
            else to_host_f32_(host + off + parts[k].start, t->data, t->dtype, parts[k].numel);
        }
        if (d[i].kind != CLIP_T_LOGIT) off += d[i].numel;
    }
    *layout = nm == CLIP_NAMES_HF ? K_W_OUT_IN : K_W_IN_OUT;
    free(d);
    st_close(st);
    return 0;
}

void clip_model_view_free(ClipModel *m) {
    free(m->vis.blocks);
    free(m->txt.blocks);
    memset(m, 0, sizeof *m);
}
