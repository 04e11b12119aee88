/* core/model/clip_save.c — a ClipModel's weights to an OpenAI-named safetensors file (F32, or
 * F16/BF16 rounded to nearest even by the writer; the logit scale stays F32). */
#include "core/model/clip_save.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/model/clip_meta.h"
#include "core/model/clip_names.h"
#include "core/model/safetensors.h"

/* st_writer_add_fn's callback: the numel floats at ctx */
static int fill_floats(void *ctx, float *dst, size_t numel) {
    memcpy(dst, ctx, numel * sizeof(float));
    return 0;
}

int clip_model_save(const ClipModel *m, const char *path, const char *const *metadata) {
    return clip_model_save_as(m, path, metadata, ST_F32);
}

int clip_model_save_as(const ClipModel *m, const char *path, const char *const *metadata,
                       StDtype dtype) {
    if (dtype != ST_F32 && dtype != ST_F16 && dtype != ST_BF16) {
        cg_error_set("%s: dtype %s cannot store weights (F32, F16 or BF16)", path,
                     st_dtype_name(dtype));
        return -1;
    }
    if (m->vis.proj_layout != K_W_IN_OUT || m->txt.proj_layout != K_W_IN_OUT) {
        cg_error_set("%s: the model's projections are not in OpenAI orientation [in,out]", path);
        return -1;
    }
    float *host = cg_malloc((m->arena_floats ? m->arena_floats : 1) * sizeof(float));
    k_download(host, m->arena, m->arena_floats);
    float scale = m->logit_scale;
    int n, rc = 0;
    ClipTensorDesc *d = clip_tensor_descs(&m->cfg, (ClipModel *)m, &n);
    StWriter *w = st_writer_new();
    for (int i = 0; metadata && metadata[i] && metadata[i + 1]; i += 2)
        st_writer_set_metadata(w, metadata[i], metadata[i + 1]);
    /* what the shapes cannot tell (core/model/clip_meta.h): the file stays readable on its own */
    char heads[16];
    st_writer_set_metadata(w, "clip.activation", clip_act_name(m->cfg.act));
    snprintf(heads, sizeof heads, "%d", m->cfg.vis.heads);
    st_writer_set_metadata(w, "clip.vision_heads", heads);
    snprintf(heads, sizeof heads, "%d", m->cfg.txt.heads);
    st_writer_set_metadata(w, "clip.text_heads", heads);
    for (int i = 0; i < n && !rc; i++) {
        if (d[i].kind == CLIP_T_LOGIT)
            rc = st_writer_add(w, d[i].oa, ST_F32, d[i].ndim, d[i].shape, &scale);
        else if (dtype == ST_F32)
            rc = st_writer_add(w, d[i].oa, ST_F32, d[i].ndim, d[i].shape,
                               host + (*d[i].field - m->arena));
        else
            rc = st_writer_add_fn(w, d[i].oa, dtype, d[i].ndim, d[i].shape, fill_floats,
                                  host + (*d[i].field - m->arena));
    }
    if (!rc) rc = st_writer_write(w, path);
    st_writer_free(w);
    free(d), free(host);
    return rc ? -1 : 0;
}
