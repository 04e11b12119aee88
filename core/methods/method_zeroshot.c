/* core/methods/method_zeroshot.c — zero-shot CLIP as a method: one templated prompt per class (the
 * dataset's hand-crafted template, protocol.md §7.4, or cfg.template_str), text features
 * computed once per class set (split over the rank group), logits = exp(s)·x̂·t̂ᵀ. Nothing is
 * learned; forward_backward returns the loss and leaves the (empty) gradient alone. */
#include <stdlib.h>
#include <string.h>

#include "core/methods/method_impl.h"
#include "core/text/tokenizer.h"
#include "base/util.h"
#include "core/methods/zeroshot.h"
#include "kernels/ops.h"

typedef struct {
    ClassPrompts prompts;
    float *txt;  /* [C, E] raw text features */
} ZsState;

static void zs_defaults(MethodConfig *c, const char *setting, const char *dataset) {
    (void)setting, (void)dataset;
    c->train.epochs = 0;
    c->template_str[0] = 0;
}

static int zs_build(Method *m) {
    m->state = cg_calloc(1, sizeof(ZsState));
    param_alloc(&m->params);
    return 0;
}

static void zs_drop(ZsState *s) {
    if (s->txt) k_free(s->txt);
    prompts_free(&s->prompts);
    s->txt = NULL;
}

static int zs_set_classes(Method *m, const char *const *names, int C, const char *dataset) {
    ZsState *s = m->state;
    const ClipModel *clip = m->env.clip;
    int E = clip->cfg.embed;
    zs_drop(s);
    const char *tmpl = m->env.cfg.template_str[0] ? m->env.cfg.template_str : zeroshot_template(dataset);
    if (prompts_build(&s->prompts, m->env.tok, tmpl, names, C, clip->cfg.context) != 0) return -1;
    m->C = C;
    method_record_token_ids(m, s->prompts.ids, C, s->prompts.context);
    /* this rank's slice of the classes, gathered */
    CgComm *comm = m->env.comm;
    ClassSplit cs;
    class_split_init(&cs, comm, C, E);
    s->txt = k_alloc((size_t)C * E);
    float *mine = NULL;
    if (cs.cnt > 0) {
        ClassPrompts part;
        int ctx = s->prompts.context;
        prompts_from_ids(&part, s->prompts.ids + (size_t)cs.lo * ctx, cs.cnt, ctx);
        mine = text_features(clip, &part, 0);
        prompts_free(&part);
    }
    class_split_gather(comm, &cs, mine ? mine : s->txt, s->txt);
    if (mine) k_free(mine);
    class_split_free(&cs);
    return 0;
}

/* logits into logits_dev (device) or logits_host (host), whichever is given */
static double zs_head(Method *m, const float *images, const int *labels, int b, int b_global,
                      float *logits_dev, float *logits_host) {
    ZsState *s = m->state;
    const ClipModel *clip = m->env.clip;
    int C = m->C, E = clip->cfg.embed;
    if (b <= 0) return 0;
    float *img = image_features(clip, images, b), *logits = k_alloc((size_t)b * C);
    float *img_n = k_alloc((size_t)b * E), *txt_n = k_alloc((size_t)C * E);
    double loss = clip_head(img, s->txt, b, C, E, clip->logit_scale, labels, b_global, logits,
                            NULL, NULL, img_n, txt_n);
    method_record(m, "image_features_raw", img, 2, (int[]){b, E});
    method_record(m, "image_features", img_n, 2, (int[]){b, E});
    method_record(m, "text_features_raw", s->txt, 2, (int[]){C, E});
    method_record(m, "text_features", txt_n, 2, (int[]){C, E});
    method_record(m, "logits", logits, 2, (int[]){b, C});
    if (logits_host) k_download(logits_host, logits, (size_t)b * C);
    if (logits_dev) k_copy(logits_dev, logits, (size_t)b * C);
    k_free(img), k_free(logits), k_free(img_n), k_free(txt_n);
    return loss;
}

static double zs_forward_backward(Method *m, const float *images, const int *labels, int b,
                                  int b_global, float *logits) {
    return zs_head(m, images, labels, b, b_global, logits, NULL);
}

static void zs_logits(Method *m, const float *images, int b, EvalMode mode, float *logits) {
    (void)mode;
    zs_head(m, images, NULL, b, b, NULL, logits);
}

static void zs_destroy(Method *m) {
    if (!m->state) return;
    zs_drop(m->state);
    free(m->state);
    m->state = NULL;
}

static const MethodKey ZS_KEYS[] = {KEY_TEMPLATE, KEY_END};

/* no training; cost factor: runs so short that loading and tokenizing (outside the towers'
 * FLOPs) are a third of them */
static MethodCost zs_cost(const MethodConfig *c) {
    (void)c;
    return (MethodCost){0};
}

const MethodDesc zsclip_method = {
    .name = "zsclip", .display = "CLIP", .trainer = "ZeroshotCLIP", .frozen_image_features = 1, .trains = 0, .keys = ZS_KEYS,
    .defaults = zs_defaults, .cost = zs_cost, .cost_factor = 1.4,
    .ops = {zs_build, zs_set_classes, zs_forward_backward, zs_logits, zs_destroy},
};
