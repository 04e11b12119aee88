/* core/methods/prompted.h — the prompted-CLIP skeleton that MaPLe, MuDPT and MMRL are written on
 * (core/methods/method_maple.c, method_mudpt.c, method_mmrl.c): the class prompts of the current
 * classes and this rank's split of them, the text tower over that slice (with the rows every
 * prompt of the slice shares run once), the evaluation text cache, the cosine logit head, and
 * forward_backward / logits / destroy. A method supplies hooks: its prompt vectors and plans for
 * one pass (begin / end), the backward of its prompt generator, and optionally its own loss, its
 * own inference rule and more inputs of the vision pass.
 *
 * A method's state begins with a Prompted (prompted_create allocates it); its per-pass struct
 * begins with a PromptedStep (the skeleton allocates hooks->step_size bytes, zeroed). */
#ifndef CLIPGRID_CORE_PROMPTED_H
#define CLIPGRID_CORE_PROMPTED_H

#include "core/model/clip_tower.h"
#include "core/methods/method.h"
#include "core/methods/method_deep.h"
#include "core/methods/method_impl.h"
#include "core/methods/zeroshot.h"

/* the class prompts of the current classes */
typedef struct {
    ClassPrompts p;     /* ids, eot */
    int T;              /* rows kept per prompt: last end-of-text + 1 (exact: causal mask) */
    float *embeds;      /* device [C, T, D] token embeddings */
} DeepPrompts;

/* the text tower over this rank's classes */
typedef struct {
    TowerRun *run;      /* NULL when this rank's slice of the classes is empty */
    TowerRun *pre;      /* the shared rows' run (keep_kv), NULL without sharing */
    float *input;       /* [cnt,T−P0,D] the slice's own input rows */
    float *d_input;     /* [cnt,T,D] their gradient (with grad and context, no sharing) */
    float *pre_input, *d_pre_input; /* [P0,D] the shared rows, their gradient */
    float *feat;        /* [C,E] raw features of every class, gathered over the group */
    int T, D, P0;       /* rows per prompt, text width, shared rows (0: none) */
} DeepText;

/* one pass (a training step, the evaluation text, an evaluation batch) */
typedef struct {
    PromptPlan tplan, vplan; /* filled by hooks->begin */
    const float *ctx;        /* [n_ctx, D] replacing rows 1..n_ctx of every class prompt, or NULL */
    float *d_ctx;            /* with gradients: where their gradient accumulates (+=), or NULL */
    int n_ctx, pool_shift;   /* pooled text row = end-of-text row + pool_shift */
    DeepText text;           /* this rank's classes; text.feat: every class's raw features */
} PromptedStep;

typedef struct {
    size_t step_size;        /* the method's per-pass struct, a PromptedStep first */
    /* the prompt vectors of one pass, the plans and ctx; images [b] (NULL and 0 for the text
     * alone); grad: the pass is a training step */
    void (*begin)(Method *m, PromptedStep *p, const float *images, int b, int grad);
    void (*end)(PromptedStep *p); /* frees what begin made (not text) */
    /* after the towers' backward: from the prompt vectors' gradients into the parameters */
    void (*backward)(Method *m, PromptedStep *p);
    /* optional: more of the vision pass's input than images and vplan */
    void (*vision_input)(Method *m, PromptedStep *p, TowerInput *in);
    /* optional: the loss of this rank's b images (of b_global) from the vision run and the text
     * features p->text.feat; back-propagates through vr, writes d_txt [C,E] ('='), the gradient
     * at the raw text features, writes ('=') the logits [b, C] (device) of the loss when logits
     * is not NULL, and returns this rank's share. NULL: cross-entropy of the
     * cosine head (prompted_ce_loss), with `record` called on its forward. */
    double (*loss)(Method *m, PromptedStep *p, TowerRun *vr, const int *labels, int b,
                   int b_global, float *d_txt, float *logits);
    void (*record)(Method *m, PromptedStep *p, TowerRun *vr, const CosHead *h, int b);
    /* optional: logits host [b, C] from the vision run and the raw text features txt [C,E].
     * NULL: the cosine head at exp(logit_scale) */
    void (*infer)(Method *m, PromptedStep *p, TowerRun *vr, const float *txt, int b,
                  EvalMode mode, float *logits);
} PromptedHooks;

typedef struct {
    const PromptedHooks *hooks;
    DeepPrompts prompts;     /* the current classes' prompts */
    int have_classes;
    ClassSplit cs;           /* this rank's classes of the group's split */
    float *txt_cache;        /* eval: raw text features [C,E] */
    long cache_version;
    int prefix_sharing;      /* 1 (default): the slice's shared rows run once */
} Prompted;

/* allocates the method's state (state_size bytes, a Prompted first, zeroed) as m->state */
void *prompted_create(Method *m, size_t state_size, const PromptedHooks *hooks);
/* the class prompts of tmpl ("{}" = class name) for every class; min_T: the fewest rows a
 * prompt must keep (the context rows); −1 with cg_error, the previous classes kept */
int prompted_set_classes(Method *m, const char *tmpl, const char *const *classnames, int C,
                         int min_T);
/* 0 turns the shared-prefix shortcut off (every prompt runs all of its rows): tests */
void prompted_set_prefix_sharing(Method *m, int on);

/* the text tower over this rank's classes with p->ctx and p->tplan (p->text) */
void prompted_text_forward(Method *m, PromptedStep *p, int grad);
/* the vision tower on b images with p->vplan (and hooks->vision_input) */
TowerRun *prompted_vision_forward(Method *m, PromptedStep *p, const float *images, int b, int grad);

/* the MethodOps entries */
double prompted_forward_backward(Method *m, const float *images, const int *labels, int b,
                                 int b_global, float *logits);
void prompted_logits(Method *m, const float *images, int b, EvalMode mode, float *logits);
void prompted_destroy(Method *m);

/* "<prefix> {}.": the class template after a context phrase */
void prompted_prefix_template(char *out, size_t cap, const char *prefix);

#endif
