/* core/model/clip_weights.c — CLIP weights from safetensors: naming-scheme detection, architecture
 * inference from shapes, validation of every tensor, and the upload into one fp32 arena. */
#include "core/model/clip_weights.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/model/clip_meta.h"
#include "core/model/torch_checkpoint.h"

#define MAX_BLOCKS 1024

/* the tensors the configuration is inferred from, per naming scheme */
enum { KEY_CONV, KEY_VPOS, KEY_TOK, KEY_TPOS, KEY_TPROJ, N_KEYS };
static const char *KEY_NAMES[2][N_KEYS] = {
    {"visual.conv1.weight", "visual.positional_embedding", "token_embedding.weight",
     "positional_embedding", "text_projection"},
    {"vision_model.embeddings.patch_embedding.weight",
     "vision_model.embeddings.position_embedding.weight",
     "text_model.embeddings.token_embedding.weight",
     "text_model.embeddings.position_embedding.weight", "text_projection.weight"},
};
static const char *BLOCK_PREFIX[2][2] = {
    {"visual.transformer.resblocks.", "transformer.resblocks."},
    {"vision_model.encoder.layers.", "text_model.encoder.layers."},
};

static int detect_naming_(const SafeTensors *st, ClipNaming *nm) {
    if (st_find(st, KEY_NAMES[CLIP_NAMES_OPENAI][KEY_CONV])) *nm = CLIP_NAMES_OPENAI;
    else if (st_find(st, KEY_NAMES[CLIP_NAMES_HF][KEY_CONV])) *nm = CLIP_NAMES_HF;
    else {
        cg_error_set("%s: not a CLIP ViT checkpoint: missing tensor %s (OpenAI/open_clip names) "
                     "or %s (HF CLIPModel names)", st_path(st), KEY_NAMES[0][KEY_CONV],
                     KEY_NAMES[1][KEY_CONV]);
        return -1;
    }
    return 0;
}

/* a tensor needed for inference: present, of rank ndim, every dimension in 1..2^24 */
static const StTensor *need_(const SafeTensors *st, const char *name, int ndim,
                             const char *expect) {
    const StTensor *t = st_find(st, name);
    if (!t) {
        cg_error_set("%s: missing tensor %s", st_path(st), name);
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] >= 1 && t->shape[i] <= (1 << 24);
    if (!ok) {
        char sh[160];
        cg_error_set("%s: tensor %s has shape %s, expected %s", st_path(st), name,
                     st_shape_str(sh, sizeof sh, t->ndim, t->shape), expect);
        return NULL;
    }
    return t;
}

/* layers = highest block index + 1; every index below it must be present */
static int count_blocks_(const SafeTensors *st, const char *prefix, int *layers) {
    unsigned char seen[MAX_BLOCKS] = {0};
    size_t pl = strlen(prefix);
    int max = -1;
    for (int i = 0; i < st_count(st); i++) {
        const char *name = st_get(st, i)->name, *s = name + pl;
        char *end;
        if (strncmp(name, prefix, pl) != 0 || !isdigit((unsigned char)*s)) continue;
        long v = strtol(s, &end, 10);
        if (*end != '.') continue;  /* not a block tensor: reported as unexpected later */
        if (v >= MAX_BLOCKS) {
            cg_error_set("%s: tensor %s: block index %ld is beyond the supported %d blocks",
                         st_path(st), name, v, MAX_BLOCKS);
            return -1;
        }
        seen[v] = 1;
        if (v > max) max = (int)v;
    }
    if (max < 0) {
        cg_error_set("%s: no residual blocks found (no tensor named %sN.*)", st_path(st), prefix);
        return -1;
    }
    for (int i = 0; i < max; i++)
        if (!seen[i]) {
            cg_error_set("%s: block index gap: no tensor %s%d.* but blocks up to %s%d.* are "
                         "present", st_path(st), prefix, i, prefix, max);
            return -1;
        }
    *layers = max + 1;
    return 0;
}

static int infer_vision_(const SafeTensors *st, ClipNaming nm, ClipConfig *c) {
    const StTensor *conv = need_(st, KEY_NAMES[nm][KEY_CONV], 4, "[W, 3, p, p]");
    if (!conv) return -1;
    if (conv->shape[1] != 3 || conv->shape[2] != conv->shape[3]) {
        char sh[160];
        cg_error_set("%s: tensor %s has shape %s, expected [W, 3, p, p]", st_path(st), conv->name,
                     st_shape_str(sh, sizeof sh, conv->ndim, conv->shape));
        return -1;
    }
    const StTensor *pos = need_(st, KEY_NAMES[nm][KEY_VPOS], 2, "[g*g+1, W]");
    if (!pos) return -1;
    int64_t g = (int64_t)floor(sqrt((double)(pos->shape[0] - 1)) + 0.5);
    if (g < 1 || g * g + 1 != pos->shape[0]) {
        cg_error_set("%s: tensor %s has %lld rows, expected g*g+1 (a square patch grid plus the "
                     "class token)", st_path(st), pos->name, (long long)pos->shape[0]);
        return -1;
    }
    c->vis.width = (int)conv->shape[0];
    c->patch = (int)conv->shape[2];
    c->image_res = (int)(g * conv->shape[2]);
    return count_blocks_(st, BLOCK_PREFIX[nm][0], &c->vis.layers);
}

static int infer_text_(const SafeTensors *st, ClipNaming nm, ClipConfig *c) {
    const StTensor *tok = need_(st, KEY_NAMES[nm][KEY_TOK], 2, "[vocab, D]");
    const StTensor *pos = tok ? need_(st, KEY_NAMES[nm][KEY_TPOS], 2, "[context, D]") : NULL;
    const StTensor *proj = pos ? need_(st, KEY_NAMES[nm][KEY_TPROJ], 2,
                                       nm == CLIP_NAMES_HF ? "[E, D]" : "[D, E]")
                               : NULL;
    if (!proj) return -1;
    c->vocab = (int)tok->shape[0];
    c->txt.width = (int)tok->shape[1];
    c->context = (int)pos->shape[0];
    c->embed = (int)(nm == CLIP_NAMES_HF ? proj->shape[0] : proj->shape[1]);
    return count_blocks_(st, BLOCK_PREFIX[nm][1], &c->txt.layers);
}

static int infer_config_(const SafeTensors *st, ClipNaming nm, ClipConfig *c) {
    memset(c, 0, sizeof *c);
    if (infer_vision_(st, nm, c) || infer_text_(st, nm, c)) return -1;
    if (clip_arch_resolve(c, st_path(st), st)) return -1;
    if (clip_config_finish(c)) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cg_error());
        cg_error_set("%s: unsupported architecture inferred from the shapes: %s", st_path(st),
                     msg);
        return -1;
    }
    return 0;
}

/* buffers some exporters keep beside the parameters; none of them changes the model */
static int harmless_(const char *name) {
    static const char *exact[] = {"input_resolution", "context_length", "vocab_size"};
    static const char *suffix[] = {"position_ids", "attn_mask"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(name, exact[i]) == 0) return 1;
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        size_t k = strlen(suffix[i]);
        if (n >= k && strcmp(name + n - k, suffix[i]) == 0) return 1;
    }
    return 0;
}

static int check_part_(const SafeTensors *st, const ClipPart *p, const ClipConfig *c,
                       ClipNaming nm, unsigned char *used) {
    int idx = st_index(st, p->name);
    if (idx < 0) {
        cg_error_set("%s: missing tensor %s (expected for %s in %s naming)", st_path(st), p->name,
                     c->arch, clip_naming_name(nm));
        return -1;
    }
    const StTensor *t = st_get(st, idx);
    if (t->dtype == ST_I64) {
        cg_error_set("%s: tensor %s has dtype I64, expected F32, F16 or BF16", st_path(st),
                     p->name);
        return -1;
    }
    int same = t->ndim == p->ndim;
    for (int i = 0; same && i < p->ndim; i++) same = t->shape[i] == p->shape[i];
    if (!same) {
        char a[160], b[160];
        cg_error_set("%s: tensor %s has shape %s, expected %s for %s", st_path(st), p->name,
                     st_shape_str(a, sizeof a, t->ndim, t->shape),
                     st_shape_str(b, sizeof b, p->ndim, p->shape), c->arch);
        return -1;
    }
    if (p->ndim == 0 && !isfinite(st_read_float(t->data, t->dtype))) {
        cg_error_set("%s: tensor %s is not finite", st_path(st), p->name);
        return -1;
    }
    used[idx] = 1;
    return 0;
}

static int check_tensors_(const SafeTensors *st, const ClipConfig *c, ClipNaming nm) {
    int n, rc = 0;
    ClipTensorDesc *d = clip_tensor_descs(c, NULL, &n);
    unsigned char *used = cg_calloc((size_t)st_count(st) + 1, 1);
    for (int i = 0; i < n && !rc; i++) {
        ClipPart parts[3];
        int np = clip_desc_parts(&d[i], nm, parts);
        for (int k = 0; k < np && !rc; k++) rc = check_part_(st, &parts[k], c, nm, used);
    }
    for (int i = 0; i < st_count(st) && !rc; i++) {
        const char *name = st_get(st, i)->name;
        if (used[i] || harmless_(name)) continue;
        cg_error_set("%s: unexpected tensor %s (not part of %s in %s naming)", st_path(st), name,
                     c->arch, clip_naming_name(nm));
        rc = -1;
    }
    free(used);
    free(d);
    return rc;
}

int clip_weights_check(const SafeTensors *st, ClipConfig *cfg, ClipNaming *naming) {
    if (detect_naming_(st, naming) || infer_config_(st, *naming, cfg)) return -1;
    return check_tensors_(st, cfg, *naming);
}

static void upload_(ClipModel *m, const SafeTensors *st, const ClipTensorDesc *d, int n,
                    ClipNaming nm) {
    for (int i = 0; i < n; i++) {
        ClipPart parts[3];
        int np = clip_desc_parts(&d[i], nm, parts);
        for (int k = 0; k < np; k++) {
            const StTensor *t = st_find(st, parts[k].name);
            if (d[i].kind == CLIP_T_LOGIT) {
                /* the one scalar read on the host (a host float in ClipModel, not a weight) */
                m->logit_scale = st_read_float(t->data, t->dtype);
                continue;
            }
            k_upload_cast(*d[i].field + parts[k].start, t->data, (KDtype)t->dtype,
                          parts[k].numel);
        }
    }
}

int clip_model_load(ClipModel *m, const char *path) {
    memset(m, 0, sizeof *m);
    SafeTensors *st = weights_open(path);  /* safetensors or a PyTorch checkpoint */
    ClipNaming nm;
    if (!st) return -1;
    if (clip_weights_check(st, &m->cfg, &nm)) {
        st_close(st);
        memset(m, 0, sizeof *m);
        return -1;
    }
    clip_model_alloc_blocks(m);
    int n;
    ClipTensorDesc *d = clip_tensor_descs(&m->cfg, m, &n);
    clip_model_alloc_arena(m, d, n);
    upload_(m, st, d, n, nm);
    /* OpenAI projections are [in,out] matrices; HF's are Linear weights [out,in], kept as is */
    m->vis.proj_layout = m->txt.proj_layout = nm == CLIP_NAMES_HF ? K_W_OUT_IN : K_W_IN_OUT;
    free(d);
    st_close(st);
    return 0;
}

void clip_model_free(ClipModel *m) {
    if (m->arena) k_free(m->arena);
    free(m->vis.blocks);
    free(m->txt.blocks);
    memset(m, 0, sizeof *m);
}
