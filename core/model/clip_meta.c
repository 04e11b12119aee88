/* core/model/clip_meta.c — resolving a CLIP model's activation and head counts from its metadata (sweep
 * keys, the file's own metadata, HF config.json, open_clip config JSON, OpenAI's defaults for
 * OpenAI's shapes), each value with its source; see core/model/clip_meta.h for the order. */
#include "core/model/clip_meta.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/model/clip_weights.h"
#include "base/util.h"

static ClipArchHints g_hints = {.act = -1};

void clip_arch_hints_clear(ClipArchHints *h) { *h = (ClipArchHints){.act = -1}; }

void clip_arch_hints_set(const ClipArchHints *h) {
    if (h) g_hints = *h;
    else clip_arch_hints_clear(&g_hints);
}

const ClipArchHints *clip_arch_hints_get(void) { return &g_hints; }

int clip_act_parse(const char *s) {
    if (!s) return -1;
    if (!strcmp(s, "quick_gelu") || !strcmp(s, "quickgelu")) return CLIP_ACT_QUICKGELU;
    if (!strcmp(s, "gelu")) return CLIP_ACT_GELU;
    return -1;
}

const char *clip_act_name(ClipAct a) { return a == CLIP_ACT_GELU ? "gelu" : "quick_gelu"; }

/* the three values being resolved: -1 until a source gives them */
enum { S_ACT, S_VH, S_TH, N_SLOTS };
typedef struct {
    int v[N_SLOTS];
    char src[N_SLOTS][192];
} Slots;

static void put_(Slots *s, int slot, int v, const char *fmt, ...) CG_PRINTF(4, 5);
static void put_(Slots *s, int slot, int v, const char *fmt, ...) {
    if (s->v[slot] >= 0 || v < 0) return;
    s->v[slot] = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->src[slot], sizeof s->src[slot], fmt, ap);
    va_end(ap);
}

/* heads = width / head_width, which must divide */
static int per_width_(int width, int hw, const char *tower, const char *from) {
    if (hw > 0 && width % hw == 0) return width / hw;
    cg_error_set("%s: head width %d does not divide the %s width %d", from, hw, tower, width);
    return -2;
}

static int from_hints_(Slots *s, const ClipConfig *c, const char *path) {
    const ClipArchHints *h = &g_hints;
    const char *src = h->src[0] ? h->src : "sweep model keys";
    char from[4400];
    snprintf(from, sizeof from, "%s: model.head_width from %s", path, src);
    put_(s, S_ACT, h->act, "%s (model.activation)", src);
    put_(s, S_TH, h->text_heads > 0 ? h->text_heads : -1, "%s (model.text_heads)", src);
    put_(s, S_VH, h->heads > 0 ? h->heads : -1, "%s (model.heads)", src);
    put_(s, S_TH, h->heads > 0 ? h->heads : -1, "%s (model.heads)", src);
    if (h->head_width > 0) {
        int vh = per_width_(c->vis.width, h->head_width, "vision", from);
        int th = per_width_(c->txt.width, h->head_width, "text", from);
        if (vh == -2 || th == -2) return -1;
        put_(s, S_VH, vh, "%s (model.head_width %d)", src, h->head_width);
        put_(s, S_TH, th, "%s (model.head_width %d)", src, h->head_width);
    }
    return 0;
}

static int meta_int_(const SafeTensors *st, const char *key) {
    const char *v = st ? st_metadata(st, key) : NULL;
    char *end;
    long x = v ? strtol(v, &end, 10) : -1;
    return v && *v && !*end && x > 0 && x < (1 << 20) ? (int)x : -1;
}

static int from_file_meta_(Slots *s, const char *path, const SafeTensors *st) {
    const char *a = st ? st_metadata(st, "clip.activation") : NULL;
    if (a && clip_act_parse(a) < 0) {
        cg_error_set("%s: metadata clip.activation = '%s', expected quick_gelu or gelu", path, a);
        return -1;
    }
    put_(s, S_ACT, clip_act_parse(a), "%s metadata clip.activation", path);
    put_(s, S_VH, meta_int_(st, "clip.vision_heads"), "%s metadata clip.vision_heads", path);
    put_(s, S_TH, meta_int_(st, "clip.text_heads"), "%s metadata clip.text_heads", path);
    return 0;
}

/* an integer member with a default; -2 (error set) when present but not a positive integer */
static int json_int_(json_t *o, const char *key, int dflt, const char *file) {
    json_t *v = json_object_get(o, key);
    if (!v) return dflt;
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < (1 << 20))
        return (int)json_integer_value(v);
    cg_error_set("%s: \"%s\" is not a positive integer", file, key);
    return -2;
}

static int width_matches_(int cfg_w, int w, const char *key, const char *file) {
    if (cfg_w == w) return 0;
    cg_error_set("%s: %s is %d but the weights have width %d: the config describes another model",
                 file, key, cfg_w, w);
    return -1;
}

static int hf_act_(json_t *tower, const char *file) {
    json_t *v = json_object_get(tower, "hidden_act");
    const char *s = v ? json_string_value(v) : "quick_gelu";  /* CLIP*Config's default */
    int a = clip_act_parse(s);
    if (a < 0) cg_error_set("%s: hidden_act '%s' is not supported (quick_gelu or gelu)", file,
                            s ? s : "(not a string)");
    return a;
}

/* HF CLIPConfig: text_config / vision_config (absent keys take the HF class defaults) */
static int from_hf_(Slots *s, const ClipConfig *c, json_t *root, const char *file) {
    json_t *tc = json_object_get(root, "text_config"), *vc = json_object_get(root, "vision_config");
    json_t *empty = json_object();
    if (!json_is_object(tc)) tc = empty;
    if (!json_is_object(vc)) vc = empty;
    int rc = -1, ta = hf_act_(tc, file), va = ta < 0 ? -1 : hf_act_(vc, file);
    int tw = json_int_(tc, "hidden_size", 512, file), vw = json_int_(vc, "hidden_size", 768, file);
    int th = json_int_(tc, "num_attention_heads", 8, file);
    int vh = json_int_(vc, "num_attention_heads", 12, file);
    if (ta < 0 || va < 0 || tw == -2 || vw == -2 || th == -2 || vh == -2) goto out;
    if (ta != va) {
        cg_error_set("%s: text hidden_act %s and vision hidden_act %s differ (one activation per "
                     "model is supported)", file, clip_act_name(ta), clip_act_name(va));
        goto out;
    }
    if (width_matches_(tw, c->txt.width, "text_config.hidden_size", file) ||
        width_matches_(vw, c->vis.width, "vision_config.hidden_size", file))
        goto out;
    put_(s, S_ACT, ta, "%s (HF hidden_act)", file);
    put_(s, S_VH, vh, "%s (HF vision_config.num_attention_heads)", file);
    put_(s, S_TH, th, "%s (HF text_config.num_attention_heads)", file);
    rc = 0;
out:
    json_decref(empty);
    return rc;
}

/* open_clip model config: quick_gelu, vision_cfg.width/head_width, text_cfg.width/heads */
static int from_open_clip_(Slots *s, const ClipConfig *c, json_t *mc, const char *file) {
    json_t *qg = json_object_get(mc, "quick_gelu");
    json_t *vc = json_object_get(mc, "vision_cfg"), *tc = json_object_get(mc, "text_cfg");
    if (qg && !json_is_boolean(qg)) {
        cg_error_set("%s: \"quick_gelu\" is not a boolean", file);
        return -1;
    }
    if (!json_is_object(vc) || !json_is_object(tc)) {
        cg_error_set("%s: open_clip config without vision_cfg / text_cfg objects", file);
        return -1;
    }
    int vw = json_int_(vc, "width", 768, file), hw = json_int_(vc, "head_width", 64, file);
    int tw = json_int_(tc, "width", 512, file), th = json_int_(tc, "heads", 8, file);
    if (vw == -2 || hw == -2 || tw == -2 || th == -2) return -1;
    if (width_matches_(vw, c->vis.width, "vision_cfg.width", file) ||
        width_matches_(tw, c->txt.width, "text_cfg.width", file))
        return -1;
    int vh = per_width_(vw, hw, "vision", file);
    if (vh == -2) return -1;
    put_(s, S_ACT, json_is_true(qg) ? CLIP_ACT_QUICKGELU : CLIP_ACT_GELU,
         "%s (open_clip quick_gelu %s)", file, json_is_true(qg) ? "true" : "false/absent");
    put_(s, S_VH, vh, "%s (open_clip vision_cfg.width / head_width %d)", file, hw);
    put_(s, S_TH, th, "%s (open_clip text_cfg.heads)", file);
    return 0;
}

/* dirname(path)/name, if it exists */
static int beside_(char *out, size_t cap, const char *path, const char *name) {
    const char *slash = strrchr(path, '/');
    int n = slash ? (int)(slash - path) : 1;
    snprintf(out, cap, "%.*s/%s", n, slash ? path : ".", name);
    return access(out, R_OK) == 0;
}

static int from_json_file_(Slots *s, const ClipConfig *c, const char *file) {
    json_error_t err;
    json_t *root = json_load_file(file, 0, &err);
    if (!json_is_object(root)) {
        cg_error_set("%s:%d: not a JSON object: %s", file, err.line, root ? "" : err.text);
        json_decref(root);
        return -1;
    }
    int rc = 0;
    json_t *mc = json_object_get(root, "model_cfg");
    if (json_object_get(root, "text_config") || json_object_get(root, "vision_config"))
        rc = from_hf_(s, c, root, file);
    else if (json_is_object(mc)) rc = from_open_clip_(s, c, mc, file);
    else if (json_object_get(root, "vision_cfg")) rc = from_open_clip_(s, c, root, file);
    json_decref(root);  /* anything else (e.g. a tokenizer's config.json) says nothing here */
    return rc;
}

static int from_config_files_(Slots *s, const ClipConfig *c, const char *path) {
    static const char *names[] = {"config.json", "open_clip_config.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char file[4096];
        if (beside_(file, sizeof file, path, names[i]) && from_json_file_(s, c, file)) return -1;
    }
    return 0;
}

/* OpenAI's four models: QuickGELU and 64-wide heads */
static void from_openai_(Slots *s, const ClipConfig *c) {
    ClipConfig t = *c;
    t.vis.heads = t.txt.heads = 0;
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", cg_error());
    int std = clip_config_finish(&t) == 0 && strcmp(t.arch, "custom") != 0;
    cg_error_set("%s", saved);
    if (!std) return;
    put_(s, S_ACT, CLIP_ACT_QUICKGELU, "OpenAI default for %s (no metadata found)", t.arch);
    put_(s, S_VH, t.vis.heads, "OpenAI default for %s (no metadata found)", t.arch);
    put_(s, S_TH, t.txt.heads, "OpenAI default for %s (no metadata found)", t.arch);
}

static int refuse_(const Slots *s, const ClipConfig *c, const char *path) {
    const char *what = s->v[S_ACT] < 0 ? "MLP activation" : "attention head count";
    const char *key = s->v[S_ACT] < 0 ? "activation: quick_gelu | gelu"
                      : s->v[S_VH] < 0 ? "heads: N (or head_width: N)"
                                       : "text_heads: N (or heads / head_width)";
    cg_error_set("%s: the %s of this model (vision width %d, %d layers, patch %d; text width %d, "
                 "%d layers) is recorded nowhere, and it is not one of OpenAI's ViT-B/32, B/16, "
                 "L/14, L/14@336px with 64-wide heads: set `model: {%s}` in the sweep, or put "
                 "HF's config.json or open_clip_config.json beside the weights",
                 path, what, c->vis.width, c->vis.layers, c->patch, c->txt.width, c->txt.layers,
                 key);
    return -1;
}

int clip_arch_resolve(ClipConfig *c, const char *path, const SafeTensors *st) {
    Slots s;
    for (int i = 0; i < N_SLOTS; i++) s.v[i] = -1, s.src[i][0] = 0;
    if (from_hints_(&s, c, path) || from_file_meta_(&s, path, st) || from_config_files_(&s, c, path))
        return -1;
    from_openai_(&s, c);
    if (s.v[S_ACT] < 0 || s.v[S_VH] < 0 || s.v[S_TH] < 0) return refuse_(&s, c, path);
    c->act = (ClipAct)s.v[S_ACT];
    c->vis.heads = s.v[S_VH];
    c->txt.heads = s.v[S_TH];
    snprintf(c->act_src, sizeof c->act_src, "%s", s.src[S_ACT]);
    if (!strcmp(s.src[S_VH], s.src[S_TH]))
        snprintf(c->heads_src, sizeof c->heads_src, "%s", s.src[S_VH]);
    else
        snprintf(c->heads_src, sizeof c->heads_src, "vision: %.190s; text: %.190s", s.src[S_VH],
                 s.src[S_TH]);
    return 0;
}
