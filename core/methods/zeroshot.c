/* core/methods/zeroshot.c — zero-shot CLIP: templates, class prompts, features through the shared towers. */
#include "core/methods/zeroshot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/model/clip_tower.h"
#include "core/text/tokenizer.h"
#include "base/util.h"
#include "core/data/dataset.h"

static const struct {
    const char *names[2];
    const char *tmpl;
} TEMPLATES[] = {
    {{"OxfordPets", "oxford_pets"}, "a photo of a {}, a type of pet."},
    {{"OxfordFlowers", "oxford_flowers"}, "a photo of a {}, a type of flower."},
    {{"FGVCAircraft", "fgvc_aircraft"}, "a photo of a {}, a type of aircraft."},
    {{"DescribableTextures", "dtd"}, "{} texture."},
    {{"EuroSAT", "eurosat"}, "a centered satellite photo of {}."},
    {{"StanfordCars", "stanford_cars"}, "a photo of a {}."},
    {{"Food101", "food101"}, "a photo of {}, a type of food."},
    {{"SUN397", "sun397"}, "a photo of a {}."},
    {{"Caltech101", "caltech101"}, "a photo of a {}."},
    {{"UCF101", "ucf101"}, "a photo of a person doing {}."},
    {{"ImageNet", "imagenet"}, "a photo of a {}."},
    {{"ImageNetSketch", "imagenet_sketch"}, "a photo of a {}."},
    {{"ImageNetV2", "imagenetv2"}, "a photo of a {}."},
    {{"ImageNetA", "imagenet_a"}, "a photo of a {}."},
    {{"ImageNetR", "imagenet_r"}, "a photo of a {}."},
};

const char *zeroshot_template(const char *dataset) {
    const char *own = dataset_folder_template(dataset);
    if (own) return own;
    for (size_t i = 0; dataset && i < sizeof TEMPLATES / sizeof TEMPLATES[0]; i++)
        for (int j = 0; j < 2; j++)
            if (!strcasecmp(dataset, TEMPLATES[i].names[j])) return TEMPLATES[i].tmpl;
    return "a photo of a {}.";
}

char *prompt_format(const char *tmpl, const char *classname) {
    const char *at = strstr(tmpl, "{}");
    size_t lt = strlen(tmpl), lc = strlen(classname);
    char *out = cg_malloc(lt + lc + 1);
    if (!at) {
        memcpy(out, tmpl, lt + 1);
        return out;
    }
    size_t pre = (size_t)(at - tmpl);
    memcpy(out, tmpl, pre);
    for (size_t i = 0; i < lc; i++) out[pre + i] = classname[i] == '_' ? ' ' : classname[i];
    memcpy(out + pre + lc, at + 2, lt - pre - 2 + 1);
    return out;
}

void prompts_from_ids(ClassPrompts *p, const int *ids, int C, int context) {
    *p = (ClassPrompts){.C = C, .context = context};
    p->ids = cg_malloc((size_t)C * context * sizeof(int));
    p->eot = cg_malloc((size_t)C * sizeof(int));
    memcpy(p->ids, ids, (size_t)C * context * sizeof(int));
    for (int c = 0; c < C; c++) {
        int best = 0;
        for (int t = 1; t < context; t++)
            if (ids[c * context + t] > ids[c * context + best]) best = t;
        p->eot[c] = best;
    }
}

/* BPE tokens of a class name alone ('_' → ' '), or −1 */
static int name_tokens(const Tokenizer *tok, const char *classname, int *tmp, int context) {
    char *name = prompt_format("{}", classname);
    int n = tokenizer_encode(tok, name, tmp, context);
    free(name);
    return n;
}

int prompts_build(ClassPrompts *p, const Tokenizer *tok, const char *tmpl,
                  const char *const *classnames, int C, int context) {
    int *ids = cg_calloc((size_t)C * context, sizeof(int));
    int *lens = cg_malloc((size_t)C * sizeof(int)), *tmp = cg_malloc((size_t)context * sizeof(int));
    for (int c = 0; c < C; c++) {
        char *text = prompt_format(tmpl, classnames[c]);
        int n = tokenizer_tokenize77(tok, text, ids + (size_t)c * context, context);
        free(text);
        lens[c] = n < 0 ? -1 : name_tokens(tok, classnames[c], tmp, context);
        if (lens[c] < 0) {
            free(ids), free(lens), free(tmp);
            return -1;
        }
    }
    prompts_from_ids(p, ids, C, context);
    p->name_lens = lens;
    free(ids), free(tmp);
    return 0;
}

void prompts_free(ClassPrompts *p) {
    free(p->ids), free(p->eot), free(p->name_lens);
    *p = (ClassPrompts){0};
}

int prompts_rows(const ClassPrompts *p, int c0, int n) {
    int T = 1;
    for (int c = c0; c < c0 + n; c++) T = p->eot[c] + 1 > T ? p->eot[c] + 1 : T;
    return T;
}

void prompts_embed(const ClipModel *m, const ClassPrompts *p, int c0, int n, int T, float *dst) {
    int *idx = cg_malloc((size_t)n * T * sizeof(int));
    for (int c = 0; c < n; c++)
        for (int t = 0; t < T; t++) idx[c * T + t] = p->ids[(size_t)(c0 + c) * p->context + t];
    op_gather_rows(dst, m->txt.tok_emb, idx, n * T, m->cfg.txt.width);
    free(idx);
}

/* features of prompts [c0, c0+n): token embeddings of the first T rows, T = last EOT + 1 */
static void text_chunk(const ClipModel *m, const ClassPrompts *p, int c0, int n, float *out) {
    int T = prompts_rows(p, c0, n), D = m->cfg.txt.width;
    float *emb = k_alloc((size_t)n * T * D);
    prompts_embed(m, p, c0, n, T, emb);
    TowerInput in = tower_input_defaults();
    in.B = n, in.embeds = emb, in.T_in = T, in.pool_rows = p->eot + c0;
    TowerRun *r = tower_forward(m, TOWER_TEXT, &in);
    k_copy(out, tower_features(r), (size_t)n * m->cfg.embed);
    tower_free(r);
    k_free(emb);
}

float *text_features(const ClipModel *m, const ClassPrompts *p, int chunk) {
    if (chunk <= 0) chunk = 256;
    float *out = k_alloc((size_t)p->C * m->cfg.embed);
    for (int c0 = 0; c0 < p->C; c0 += chunk) {
        int n = p->C - c0 < chunk ? p->C - c0 : chunk;
        text_chunk(m, p, c0, n, out + (size_t)c0 * m->cfg.embed);
    }
    return out;
}

static _Thread_local FeatureTap *tap_;
void image_features_tap(FeatureTap *tap) { tap_ = tap; }

float *image_features(const ClipModel *m, const float *images, int B) {
    FeatureTap *t = tap_;
    size_t E = (size_t)m->cfg.embed;
    if (t && t->replay && t->next + (size_t)B <= t->n) {
        float *out = k_alloc((size_t)B * E);
        k_upload(out, t->rows + t->next * E, (size_t)B * E);
        t->next += (size_t)B;
        return out;
    }
    TowerInput in = tower_input_defaults();
    in.B = B, in.images = images;
    TowerRun *r = tower_forward(m, TOWER_VISION, &in);
    float *out = k_alloc((size_t)B * m->cfg.embed);
    k_copy(out, tower_features(r), (size_t)B * m->cfg.embed);
    tower_free(r);
    if (t && !t->replay && t->next + (size_t)B <= t->n) {
        k_download(t->rows + t->next * E, out, (size_t)B * E);
        t->next += (size_t)B;
    }
    return out;
}
