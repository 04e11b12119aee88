/* core/methods/method.h — the one interface every prompt-learning method implements (zero-shot CLIP,
 * CoOp, CoCoOp, MaPLe, MuDPT, MMRL), each in its own file core/method_<name>.c, all on the
 * shared encoder (core/model/clip_tower.h) through prompt plans. A method owns:
 *   - its learnable tensors, declared by name (the official module paths, e.g.
 *     "prompt_learner.ctx", so fixtures and checkpoints address them) in one contiguous
 *     ParamBlock with its gradient block beside it (one all-reduce covers everything);
 *   - its class prompts (set_classes: training classes, then base/new/target classes);
 *   - forward + loss + backward (forward_backward accumulates into params.grad);
 *   - its inference rule (logits, with an evaluation mode for MMRL's decoupled heads).
 * MethodConfig holds every option of every method plus the Dassl training options; the
 * defaults are the published ones (method_config_defaults); METHOD_KEYS lists them for the
 * sweep parser. */
#ifndef CLIPGRID_CORE_METHOD_H
#define CLIPGRID_CORE_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "core/model/clip_config.h"
#include "core/base/comm.h"

struct Tokenizer;

typedef enum {
    METHOD_ZSCLIP = 0, METHOD_COOP, METHOD_COCOOP, METHOD_MAPLE, METHOD_MUDPT, METHOD_MMRL,
    METHOD_COUNT
} MethodKind;

typedef struct {
    MethodKind kind;
    /* CoOp, CoCoOp, MaPLe, MuDPT */
    int n_ctx;
    char ctx_init[128];         /* "" = random N(0, 0.02²) */
    int csc;                    /* CoOp class-specific context */
    char class_token_position[8]; /* end | middle | front */
    int prompt_depth;           /* MaPLe PROMPT_DEPTH, MuDPT DEEP_PROMPT_DEPTH */
    /* MMRL */
    double alpha, reg_weight;
    int rep_layers[16], n_rep_layers; /* 1-based */
    int rep_dim, n_rep_tokens;
    /* zero-shot CLIP and MMRL: "" = the dataset's template */
    char template_str[256];
    /* training (Dassl OPTIM / DATALOADER / INPUT) */
    int epochs, batch, test_batch;
    char optim[8];              /* sgd | adamw */
    double lr, momentum, weight_decay, beta1, beta2, eps;
    int warmup_epochs;          /* constant warm-up epochs at warmup_lr */
    double warmup_lr;
    double rrc_scale_lo, rrc_scale_hi;
    /* arithmetic of the matrix products (kernels/ops.h k_set_matmul_precision): fp32 | tf32 |
     * bf16 | fp16 */
    char precision[8];
} MethodConfig;

typedef enum { KEY_INT, KEY_DOUBLE, KEY_BOOL, KEY_STRING, KEY_INT_LIST } MethodKeyType;
typedef struct {
    const char *key;            /* sweep key, e.g. "n_ctx" */
    MethodKeyType type;
    size_t offset, size;        /* in MethodConfig (KEY_INT_LIST: the array; count follows) */
    unsigned methods;           /* bit mask of MethodKind the key applies to */
    const char *help;
} MethodKey;
extern const MethodKey METHOD_KEYS[]; /* terminated by key == NULL */

const char *method_name(MethodKind k);     /* "zsclip", "coop", … */
int method_kind_from_name(const char *s);  /* −1 when unknown */
/* the published defaults of a method for a setting (base2new | fewshot | cross_dataset |
 * domain_generalization) and a training dataset (per-dataset tables such as MMRL's) */
void method_config_defaults(MethodConfig *c, MethodKind k, const char *setting,
                            const char *dataset);

/* ---- the learnable block ---------------------------------------------------------------- */

#define CG_MAX_PARAMS 256
typedef struct {
    char name[96];
    int ndim, shape[4];
    size_t offset, numel;
} ParamTensor;

typedef struct {
    float *data, *grad;  /* device, n floats each, allocated by param_alloc */
    size_t n;
    int count;
    ParamTensor t[CG_MAX_PARAMS];
} ParamBlock;

/* declare a tensor (before param_alloc); returns its index */
int param_declare(ParamBlock *pb, const char *name, int ndim, const int *shape);
void param_alloc(ParamBlock *pb);
void param_free(ParamBlock *pb);
int param_find(const ParamBlock *pb, const char *name);          /* −1 when absent */
float *param_data(ParamBlock *pb, const char *name);             /* fatal when absent */
float *param_grad(ParamBlock *pb, const char *name);

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
    const char *name;
    /* declare, allocate and initialise the learnable tensors */
    int (*build)(Method *m);
    /* tokenise / embed the class prompts of `dataset`'s classes; −1 with cg_error */
    int (*set_classes)(Method *m, const char *const *classnames, int C, const char *dataset);
    /* images: this rank's b images [b,3,R,R] (device) of a global batch of b_global, labels
     * host [b]. Accumulates (+=) the gradient of the global mean loss into params.grad and
     * returns this rank's share of that loss (Σ over its images / b_global). b may be 0 (a
     * rank with no image of a small batch): the method must still make every collective call
     * of env.comm that the other ranks make (e.g. the class split of the text tower). */
    double (*forward_backward)(Method *m, const float *images, const int *labels, int b,
                               int b_global);
    /* logits host [b, C] for the current classes; b may be 0 as above (collectives) */
    void (*logits)(Method *m, const float *images, int b, EvalMode mode, float *logits);
    void (*destroy)(Method *m);
} MethodOps;

#define CG_MAX_RECORDS 48
typedef struct {
    char name[64];
    int ndim, shape[4];
    float *host;
} MethodRecord;

struct Method {
    const MethodOps *ops;
    MethodEnv env;
    ParamBlock params;
    long params_version;  /* bumped by whoever changes params (optimizer, loading): caches */
    int C;                /* current number of classes */
    void *state;          /* the method's own */
    /* when `record` is set, the method stores named intermediates of its last forward (the
     * fixture names of README §5.4: image_features, text_features_raw, meta_net_out, …) */
    int record;
    const char *record_only; /* when set, only the record of that name is kept (e.g. "logits") */
    int n_records;
    MethodRecord records[CG_MAX_RECORDS];
};

Method *method_create(const MethodEnv *env);    /* NULL with cg_error */
void method_free(Method *m);
/* copy a device tensor into the record table (no-op unless m->record) */
void method_record(Method *m, const char *name, const float *dev, int ndim, const int *shape);
/* the token ids [C, context] of the class prompts as record "tokenized_prompts" (golden
 * compares them with /inputs/tokenized_prompts) */
void method_record_token_ids(Method *m, const int *ids, int C, int context);
const MethodRecord *method_recorded(const Method *m, const char *name);

#endif
