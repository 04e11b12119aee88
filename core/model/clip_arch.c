/* core/model/clip_arch.c — the standard CLIP ViT configurations (clip.md §1.1), completing and naming
 * a configuration, printing it, and counting parameters from the tensor table. */
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_weights.h"
#include "base/util.h"

static const struct {
    const char *name, *alias;
    int W, Lv, p, R, D, Lt, E;
} ARCHS[] = {
    {"ViT-B/32", "ViT-B-32", 768, 12, 32, 224, 512, 12, 512},
    {"ViT-B/16", "ViT-B-16", 768, 12, 16, 224, 512, 12, 512},
    {"ViT-L/14", "ViT-L-14", 1024, 24, 14, 224, 768, 12, 768},
    {"ViT-L/14@336px", "ViT-L-14-336px", 1024, 24, 14, 336, 768, 12, 768},
};
#define N_ARCHS ((int)(sizeof ARCHS / sizeof ARCHS[0]))
#define STD_VOCAB 49408
#define STD_CONTEXT 77

int clip_config_from_arch(ClipConfig *c, const char *arch) {
    for (int i = 0; i < N_ARCHS; i++) {
        if (strcmp(arch, ARCHS[i].name) != 0 && strcmp(arch, ARCHS[i].alias) != 0) continue;
        memset(c, 0, sizeof *c);
        c->vis.width = ARCHS[i].W;
        c->vis.layers = ARCHS[i].Lv;
        c->patch = ARCHS[i].p;
        c->image_res = ARCHS[i].R;
        c->txt.width = ARCHS[i].D;
        c->txt.layers = ARCHS[i].Lt;
        c->embed = ARCHS[i].E;
        c->vocab = STD_VOCAB;
        c->context = STD_CONTEXT;
        return clip_config_finish(c);
    }
    cg_error_set("unknown CLIP architecture '%s' (known: ViT-B/32, ViT-B/16, ViT-L/14, "
                 "ViT-L/14@336px)", arch);
    return -1;
}

static void clip_config_name_(ClipConfig *c) {
    snprintf(c->arch, sizeof c->arch, "custom");
    for (int i = 0; i < N_ARCHS; i++)
        if (c->vis.width == ARCHS[i].W && c->vis.layers == ARCHS[i].Lv &&
            c->patch == ARCHS[i].p && c->image_res == ARCHS[i].R &&
            c->txt.width == ARCHS[i].D && c->txt.layers == ARCHS[i].Lt &&
            c->embed == ARCHS[i].E && c->vocab == STD_VOCAB && c->context == STD_CONTEXT &&
            c->vis.heads * 64 == c->vis.width && c->txt.heads * 64 == c->txt.width)
            snprintf(c->arch, sizeof c->arch, "%s", ARCHS[i].name);
}

/* the bounds keep every derived size (3d·d, V·D, …) well inside size_t and int */
static int in_range_(const char *what, int v, int lo, int hi) {
    if (v >= lo && v <= hi) return 0;
    cg_error_set("CLIP config: %s = %d is outside [%d, %d]", what, v, lo, hi);
    return -1;
}

/* heads given (metadata): must divide the width; not given: OpenAI's 64-wide heads */
static int heads_of_(TowerDims *t, const char *tower) {
    if (t->heads <= 0) {
        if (t->width % 64) {
            cg_error_set("CLIP config: %s width %d is not a multiple of 64 and no head count is "
                         "given (set model.heads)", tower, t->width);
            return -1;
        }
        t->heads = t->width / 64;
    }
    if (in_range_("heads", t->heads, 1, t->width)) return -1;
    if (t->width % t->heads) {
        cg_error_set("CLIP config: %s width %d is not divisible by its %d heads", tower, t->width,
                     t->heads);
        return -1;
    }
    return 0;
}

int clip_config_finish(ClipConfig *c) {
    if (in_range_("vision width", c->vis.width, 64, 16384) ||
        in_range_("vision layers", c->vis.layers, 1, 1024) ||
        in_range_("patch", c->patch, 1, 4096) || in_range_("image_res", c->image_res, 1, 65536) ||
        in_range_("text width", c->txt.width, 64, 16384) ||
        in_range_("text layers", c->txt.layers, 1, 1024) ||
        in_range_("embed", c->embed, 1, 16384) || in_range_("vocab", c->vocab, 1, 1 << 22) ||
        in_range_("context", c->context, 1, 1 << 16))
        return -1;
    if (heads_of_(&c->vis, "vision") || heads_of_(&c->txt, "text")) return -1;
    if (c->image_res % c->patch) {
        cg_error_set("CLIP config: image_res %d is not a multiple of the patch %d", c->image_res,
                     c->patch);
        return -1;
    }
    c->vis.mlp = 4 * c->vis.width;
    c->txt.mlp = 4 * c->txt.width;
    c->grid = c->image_res / c->patch;
    if (in_range_("grid", c->grid, 1, 1024)) return -1;
    c->vis_tokens = c->grid * c->grid + 1;
    clip_config_name_(c);
    return 0;
}

size_t clip_param_count(const ClipConfig *c, size_t *vision, size_t *text) {
    int n;
    ClipTensorDesc *d = clip_tensor_descs(c, NULL, &n);
    size_t v = 0, t = 0, top = 0;
    for (int i = 0; i < n; i++) {
        if (d[i].tower == CLIP_TOWER_VISION) v += d[i].numel;
        else if (d[i].tower == CLIP_TOWER_TEXT) t += d[i].numel;
        else top += d[i].numel;
    }
    free(d);
    if (vision) *vision = v;
    if (text) *text = t;
    return v + t + top;
}

/* 86192640 -> "86,192,640" */
static const char *commas_(char *buf, size_t v) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu", v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

void clip_config_print(const ClipConfig *c, FILE *f) {
    size_t v, t, all = clip_param_count(c, &v, &t);
    char a[40], b[40], d[40];
    fprintf(f, "arch      %s\n", c->arch);
    fprintf(f, "vision    width %d, layers %d, heads %d, mlp %d, patch %d, image %d, grid %d, "
               "tokens %d\n", c->vis.width, c->vis.layers, c->vis.heads, c->vis.mlp, c->patch,
            c->image_res, c->grid, c->vis_tokens);
    fprintf(f, "text      width %d, layers %d, heads %d, mlp %d, context %d, vocab %d\n",
            c->txt.width, c->txt.layers, c->txt.heads, c->txt.mlp, c->context, c->vocab);
    fprintf(f, "embed     %d\n", c->embed);
    fprintf(f, "mlp act   %s\n", c->act == CLIP_ACT_GELU ? "gelu (exact, erf)" : "quick_gelu");
    if (c->act_src[0]) fprintf(f, "  from    %s\n", c->act_src);
    if (c->heads_src[0]) fprintf(f, "heads     from %s\n", c->heads_src);
    fprintf(f, "params    vision %s, text %s, total %s (fp32 %.1f MB)\n", commas_(a, v),
            commas_(b, t), commas_(d, all), 4e-6 * (double)all);
}
