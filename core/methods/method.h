/* core/methods/method.h — the one interface every prompt-learning method implements (zero-shot
 * CLIP, CoOp, CoCoOp, KgCoOp, MaPLe, MuDPT, MMRL), each in one file core/methods/method_<name>.c
 * that exports one descriptor (MethodDesc), listed once in core/methods/registry.h; all run on the
 * shared encoder (core/model/clip_tower.h) through prompt plans. A method owns:
 *   - its learnable tensors, declared by name in one ParamBlock (core/optim/param_block.h);
 *   - its class prompts (set_classes: training classes, then base/new/target classes);
 *   - forward + loss + backward (forward_backward accumulates into params.grad and returns the
 *     logits it computed, from which the training accuracy is counted);
 *   - its inference rule (logits, with an evaluation mode for MMRL's decoupled heads);
 *   - its options (MethodKey tables), their published defaults and its cost model.
 * MethodConfig = the training options (TrainConfig) + the prompt family's options + the
 * method's own options (a struct of its file's, stored in `own`). */
#ifndef CLIPGRID_CORE_METHOD_H
#define CLIPGRID_CORE_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/comm.h"
#include "core/model/clip_config.h"
#include "core/optim/param_block.h"
#include "core/optim/train_config.h"

struct Tokenizer;

typedef int MethodKind; /* index of the method in the registry (core/methods/registry.h) */

#define CG_METHOD_OWN_BYTES 256
typedef struct {
    MethodKind kind;
    TrainConfig train;
    /* the prompt family's options (CoOp, CoCoOp, KgCoOp, MaPLe, MuDPT; template also zero-shot
     * CLIP and MMRL) */
    int n_ctx;
    char ctx_init[128];         /* "" = random N(0, 0.02²) */
    int csc;                    /* CoOp class-specific context */
    char class_token_position[8]; /* end | middle | front */
    int prompt_depth;           /* MaPLe PROMPT_DEPTH, MuDPT DEEP_PROMPT_DEPTH */
    char template_str[256];     /* "" = the dataset's template */
    /* the method's own options: a struct its file defines (METHOD_OWN), at most
     * CG_METHOD_OWN_BYTES (checked at compile time by METHOD_OWN_FITS) */
    _Alignas(16) unsigned char own[CG_METHOD_OWN_BYTES];
} MethodConfig;

#define METHOD_OWN(cfg, Type) ((Type *)(void *)(cfg)->own)
#define METHOD_OWN_FITS(Type) \
    _Static_assert(sizeof(Type) <= CG_METHOD_OWN_BYTES, #Type " exceeds CG_METHOD_OWN_BYTES")

typedef enum { KEY_INT, KEY_DOUBLE, KEY_BOOL, KEY_STRING, KEY_INT_LIST } MethodKeyType;
typedef struct {
    const char *key;            /* sweep key, e.g. "n_ctx" */
    MethodKeyType type;
    size_t offset, size;        /* in MethodConfig (KEY_INT_LIST: the array; an int count follows) */
    unsigned methods;           /* in method_keys(): bit mask of the methods it applies to */
    const char *help;
} MethodKey;

/* ---- methods ------------------------------------------------------------------------------ */

typedef enum { EVAL_DEFAULT = 0, EVAL_BASE = 1, EVAL_NOVEL = 2 } EvalMode;

typedef struct {
    const ClipModel *clip;
    const struct Tokenizer *tok;
    MethodConfig cfg;
    char dataset[32];    /* the training dataset (templates, per-dataset options) */
    uint64_t seed;       /* the run's seed: initial values come from core/base/rng.h streams */
    CgComm *comm;        /* the run's rank group (comm_self() when alone) */
} MethodEnv;

typedef struct Method Method;

typedef struct {
    /* declare, allocate and initialise the learnable tensors */
    int (*build)(Method *m);
    /* tokenise / embed the class prompts of `dataset`'s classes; −1 with cg_error */
    int (*set_classes)(Method *m, const char *const *classnames, int C, const char *dataset);
    /* images: this rank's b images [b,3,R,R] (device) of a global batch of b_global, labels
     * host [b]. Accumulates (+=) the gradient of the global mean loss into params.grad and
     * returns this rank's share of that loss (Σ over its images / b_global); writes ('=', when logits is
     * not NULL) the
     * logits [b, C] (device) the loss was computed from (the training accuracy is counted from
     * them). b may be 0 (a rank with no image of a small batch): the method must still make
     * every collective call of env.comm that the other ranks make (e.g. the class split of the
     * text tower). */
    double (*forward_backward)(Method *m, const float *images, const int *labels, int b,
                               int b_global, float *logits);
    /* logits host [b, C] for the current classes; b may be 0 as above (collectives) */
    void (*logits)(Method *m, const float *images, int b, EvalMode mode, float *logits);
    void (*destroy)(Method *m);
} MethodOps;

/* What the runner's cost model needs of a method (runner/grid.c): FLOPs of one image and one
 * class prompt through the towers, and how a training step uses them. */
typedef struct {
    int extra_image_tokens;  /* prompt or representation tokens added to the image sequence */
    int extra_text_tokens;   /* learnable context tokens added to a plain class prompt */
    int text_per_image;      /* the text tower runs for every image (CoCoOp's meta-net) */
    int image_backward;      /* training back-propagates through the image tower */
} MethodCost;

/* A method: everything the rest of the program knows of it. Each method file defines one
 * (`const MethodDesc <name>_method`), core/methods/registry.h lists them; a test walks the
 * registry and fails on any missing piece (tests/test_registry.c). */
typedef struct {
    const char *name;        /* sweep and results name: "coop" */
    const char *display;     /* table name: "CoOp" */
    const char *trainer;     /* the official TRAINER.NAME: "CoOp" */
    const char *trainer_alias; /* another official trainer name it answers to, or NULL */
    int trains;              /* 0: evaluates only (no learnable tensors, no training keys) */
    /* 1: its image features are the frozen tower's (image_features), so the evaluation may
     * serve them from the frozen-feature cache (core/train/train.c) */
    int frozen_image_features;
    const MethodKey *keys;   /* its own options (besides the training ones), key == NULL ends */
    /* the published options for a setting (base2new | fewshot | cross_dataset |
     * domain_generalization) and training dataset; c arrives with Dassl's defaults */
    void (*defaults)(MethodConfig *c, const char *setting, const char *dataset);
    MethodCost (*cost)(const MethodConfig *c);
    /* optional: whether the options fit the model (e.g. a prompt depth within its layers); 0,
     * or −1 with why (cap bytes) and *key, the sweep key at fault. Runs in the preflight. */
    int (*check)(const MethodConfig *c, const ClipConfig *model, char *why, size_t cap,
                 const char **key);
    /* measured seconds per estimated second, relative to CoOp (runner/grid.c says how) */
    double cost_factor;
    MethodOps ops;
} MethodDesc;

#define CG_MAX_RECORDS 48
typedef struct {
    char name[64];
    int ndim, shape[4];
    float *host;
} MethodRecord;

struct Method {
    const MethodDesc *desc;
    const MethodOps *ops;    /* &desc->ops */
    MethodEnv env;
    ParamBlock params;
    long params_version;  /* bumped by whoever changes params (optimizer, loading): caches */
    int C;                /* current number of classes */
    void *state;          /* the method's own */
    /* when `record` is set, the method stores named intermediates of its last forward (the
     * fixture names of README §5.4: image_features, text_features_raw, meta_net_out, …) */
    int record;
    int n_records;
    MethodRecord records[CG_MAX_RECORDS];
};

Method *method_create(const MethodEnv *env);    /* NULL with cg_error */
void method_free(Method *m);
/* the ops with the run's arithmetic: the matrix products at env.cfg.train.precision for the
 * call (the previous setting is restored after it); method_create runs build the same way and
 * fails naming an unknown precision. Callers use these, never m->ops directly. */
int method_set_classes(Method *m, const char *const *classnames, int C, const char *dataset);
double method_forward_backward(Method *m, const float *images, const int *labels, int b,
                               int b_global, float *logits);
void method_logits(Method *m, const float *images, int b, EvalMode mode, float *logits);
/* copy a device tensor into the record table (no-op unless m->record) */
void method_record(Method *m, const char *name, const float *dev, int ndim, const int *shape);
/* the token ids [C, context] of the class prompts as record "tokenized_prompts" (golden
 * compares them with /inputs/tokenized_prompts) */
void method_record_token_ids(Method *m, const int *ids, int C, int context);
const MethodRecord *method_recorded(const Method *m, const char *name);

#endif
