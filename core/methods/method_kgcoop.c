/* core/methods/method_kgcoop.c — KgCoOp (Yao et al., CVPR 2023; htyao89/KgCoOp
 * trainers/kgcoop.py): CoOp's prompt learner (core/methods/method_coop.c) with one more loss term
 * that keeps the learned class text features near the frozen features of the dataset's
 * hand-crafted prompt:
 *   loss = CE + W · (1 − mean_i cos(t̂_i, ĥ_i)),
 * t̂_i the normalised learned features, ĥ_i the hand-crafted features normalised (twice, as the
 * official code does: once at build, once per forward; the second is the identity up to
 * rounding). The cosine's eps (1e-7 on the norms) never binds for unit vectors, so
 * cos = t̂·ĥ and d cos / d t̂ = ĥ (the normalisation's backward removes the radial part).
 * Evaluation is CoOp's. The official forward ignores CLASS_TOKEN_POSITION (always "end"), so
 * that key is not offered. Published base-to-new options (configs/trainers/KgCoOp/
 * vit_b16_ep100_ctxv1.yaml, scripts/run.sh): 4 context tokens from "a photo of a", W = 8.0,
 * SGD lr 0.002, cosine over 100 epochs, batch 128, one constant warm-up epoch at 1e-5. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/methods/method_deep.h"
#include "core/methods/method_impl.h"
#include "core/methods/zeroshot.h"
#include "kernels/ops.h"

typedef struct {
    double w; /* TRAINER.COOP.W */
} KgcoopOptions;
METHOD_OWN_FITS(KgcoopOptions);

typedef struct {
    float *hand_n; /* [C, E] the hand-crafted features, normalised again (rank 0 of the group) */
    int C;
} KgState;

static void kg_defaults(MethodConfig *c, const char *setting, const char *dataset) {
    coop_defaults(c, setting, dataset);
    c->n_ctx = 4, c->csc = 0;
    strcpy(c->ctx_init, "a photo of a");
    strcpy(c->class_token_position, "end");
    c->train.epochs = 100, c->train.batch = 128, c->train.lr = 0.002;
    METHOD_OWN(c, KgcoopOptions)->w = 8.0;
}

/* W·(1 − mean_i t̂_i·ĥ_i) on the raw features txt [C, E]; d_txt += its gradient */
static double kg_text_loss(Method *m, const float *txt, float *d_txt) {
    const KgState *s = coop_extension_state(m);
    int C = m->C, E = m->env.clip->cfg.embed;
    double w = METHOD_OWN(&m->env.cfg, KgcoopOptions)->w;
    if (!s->hand_n || s->C != C) cg_fatal("kgcoop: hand-crafted features for %d classes, %d in use", s->C, C);
    float *t_n = k_alloc((size_t)C * E), *norms = k_alloc((size_t)C);
    float *d_tn = k_alloc((size_t)C * E), *d_t = k_alloc((size_t)C * E);
    op_l2norm(t_n, norms, txt, C, E);
    double cos_mean = deep_dot(t_n, s->hand_n, (size_t)C * E) / C;
    method_record(m, "text_features_old", s->hand_n, 2, (int[]){C, E});
    deep_axpy(d_tn, (float)(-w / C), s->hand_n, (size_t)C * E);
    op_l2norm_backward(d_t, d_tn, t_n, norms, C, E, 0);
    op_add(d_txt, d_t, (size_t)C * E);
    k_free(t_n), k_free(norms), k_free(d_tn), k_free(d_t);
    double score = 1.0 - cos_mean;
    deep_record_scalar(m, "loss_score", score);
    return w * score;
}

static void kg_destroy_state(Method *m, void *state) {
    (void)m;
    KgState *s = state;
    if (s->hand_n) k_free(s->hand_n);
    free(s);
}

static int kg_build(Method *m) {
    if (coop_build(m) != 0) return -1;
    coop_extend(m, (CoopExtension){kg_text_loss, kg_destroy_state, cg_calloc(1, sizeof(KgState))});
    return 0;
}

/* CoOp's class prompts, and on rank 0 the hand-crafted features of the same classes */
static int kg_set_classes(Method *m, const char *const *names, int C, const char *dataset) {
    if (coop_set_classes(m, names, C, dataset) != 0) return -1;
    KgState *s = coop_extension_state(m);
    if (s->hand_n) k_free(s->hand_n), s->hand_n = NULL;
    s->C = C;
    if (m->env.comm->rank != 0) return 0;
    const char *tmpl = m->env.cfg.template_str[0] ? m->env.cfg.template_str : zeroshot_template(dataset);
    ClassPrompts p;
    if (prompts_build(&p, m->env.tok, tmpl, names, C, m->env.clip->cfg.context) != 0) return -1;
    int E = m->env.clip->cfg.embed;
    float *raw = text_features(m->env.clip, &p, 0), *once = k_alloc((size_t)C * E);
    s->hand_n = k_alloc((size_t)C * E);
    op_l2norm(once, NULL, raw, C, E);      /* ori_embedding */
    op_l2norm(s->hand_n, NULL, once, C, E); /* text_features_old */
    k_free(raw), k_free(once);
    prompts_free(&p);
    return 0;
}

/* CoOp's step, with the cross-entropy part recorded apart from the whole loss */
static double kg_forward_backward(Method *m, const float *images, const int *labels, int b,
                                  int b_global, float *logits) {
    double loss = coop_forward_backward(m, images, labels, b, b_global, logits);
    const MethodRecord *score = method_recorded(m, "loss_score");
    if (m->record && score && b == b_global)
        deep_record_scalar(m, "loss_ce", loss - METHOD_OWN(&m->env.cfg, KgcoopOptions)->w * score->host[0]);
    return loss;
}

static const MethodKey KG_KEYS[] = {
    KEY_N_CTX, KEY_CTX_INIT, KEY_CSC, KEY_TEMPLATE,
    {"w", KEY_DOUBLE, OWN_FIELD(KgcoopOptions, w), 0,
     "weight W of the knowledge-guided term (TRAINER.COOP.W)"},
    KEY_END,
};

/* CoOp's cost: the extra term is one pass of C hand-crafted prompts per class set */
const MethodDesc kgcoop_method = {
    .name = "kgcoop", .display = "KgCoOp", .trainer = "KgCoOp", .frozen_image_features = 1, .trains = 1, .keys = KG_KEYS,
    .defaults = kg_defaults, .cost = method_cost_text_context, .cost_factor = 1.0,
    .ops = {kg_build, kg_set_classes, kg_forward_backward, coop_logits, coop_destroy},
};
