/* core/methods/method_config.c — the options of every method (METHOD_KEYS, for sweep files), method
 * names, and the published defaults: Dassl's common training options here, each method's own
 * in its file (<m>_config_defaults, core/methods/method_impl.h). */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "core/methods/method.h"
#include "core/methods/method_impl.h"

#define M_ALL ((1u << METHOD_COUNT) - 1)
#define M_(k) (1u << (k))
#define M_CTX (M_(METHOD_COOP) | M_(METHOD_COCOOP) | M_(METHOD_MAPLE) | M_(METHOD_MUDPT))
#define M_TRAIN (M_ALL & ~M_(METHOD_ZSCLIP))
#define FIELD(f) offsetof(MethodConfig, f), sizeof(((MethodConfig *)0)->f)

const MethodKey METHOD_KEYS[] = {
    {"n_ctx", KEY_INT, FIELD(n_ctx), M_CTX, "number of learnable context vectors (N_CTX)"},
    {"ctx_init", KEY_STRING, FIELD(ctx_init), M_CTX,
     "initial context phrase, e.g. \"a photo of a\"; empty: random N(0, 0.02^2)"},
    {"csc", KEY_BOOL, FIELD(csc), M_(METHOD_COOP), "CoOp class-specific context (CSC)"},
    {"class_token_position", KEY_STRING, FIELD(class_token_position), M_(METHOD_COOP),
     "CoOp class token position: end | middle | front"},
    {"depth", KEY_INT, FIELD(prompt_depth), M_(METHOD_MAPLE) | M_(METHOD_MUDPT),
     "prompt depth (MaPLe PROMPT_DEPTH, MuDPT DEEP_PROMPT_DEPTH)"},
    {"prompt_depth", KEY_INT, FIELD(prompt_depth), M_(METHOD_MAPLE) | M_(METHOD_MUDPT),
     "the same as depth"},
    {"alpha", KEY_DOUBLE, FIELD(alpha), M_(METHOD_MMRL),
     "MMRL weight of the class-token head (ALPHA)"},
    {"reg_weight", KEY_DOUBLE, FIELD(reg_weight), M_(METHOD_MMRL),
     "MMRL regularisation weight lambda (REG_WEIGHT)"},
    {"rep_layers", KEY_INT_LIST, FIELD(rep_layers), M_(METHOD_MMRL),
     "MMRL layers (1-based) that receive representation tokens (REP_LAYERS)"},
    {"rep_dim", KEY_INT, FIELD(rep_dim), M_(METHOD_MMRL), "MMRL representation width (REP_DIM)"},
    {"n_rep_tokens", KEY_INT, FIELD(n_rep_tokens), M_(METHOD_MMRL),
     "MMRL number of representation tokens (N_REP_TOKENS)"},
    {"template", KEY_STRING, FIELD(template_str), M_(METHOD_ZSCLIP) | M_(METHOD_MMRL),
     "class prompt template with {}; empty: the dataset's"},
    {"epochs", KEY_INT, FIELD(epochs), M_TRAIN, "training epochs (OPTIM.MAX_EPOCH)"},
    {"batch", KEY_INT, FIELD(batch), M_TRAIN, "training batch (DATALOADER.TRAIN_X.BATCH_SIZE)"},
    {"test_batch", KEY_INT, FIELD(test_batch), M_ALL, "evaluation batch (DATALOADER.TEST.BATCH_SIZE)"},
    {"optim", KEY_STRING, FIELD(optim), M_TRAIN, "optimiser: sgd | adamw (OPTIM.NAME)"},
    {"lr", KEY_DOUBLE, FIELD(lr), M_TRAIN, "base learning rate (OPTIM.LR)"},
    {"momentum", KEY_DOUBLE, FIELD(momentum), M_TRAIN, "SGD momentum (OPTIM.MOMENTUM)"},
    {"weight_decay", KEY_DOUBLE, FIELD(weight_decay), M_TRAIN, "weight decay (OPTIM.WEIGHT_DECAY)"},
    {"beta1", KEY_DOUBLE, FIELD(beta1), M_TRAIN, "AdamW beta1 (OPTIM.ADAM_BETA1)"},
    {"beta2", KEY_DOUBLE, FIELD(beta2), M_TRAIN, "AdamW beta2 (OPTIM.ADAM_BETA2)"},
    {"eps", KEY_DOUBLE, FIELD(eps), M_TRAIN, "AdamW epsilon"},
    {"warmup_epochs", KEY_INT, FIELD(warmup_epochs), M_TRAIN,
     "constant warm-up epochs (OPTIM.WARMUP_EPOCH)"},
    {"warmup_lr", KEY_DOUBLE, FIELD(warmup_lr), M_TRAIN, "warm-up learning rate (OPTIM.WARMUP_CONS_LR)"},
    {"rrc_scale_lo", KEY_DOUBLE, FIELD(rrc_scale_lo), M_TRAIN,
     "RandomResizedCrop smallest area fraction (INPUT.RRCROP_SCALE[0])"},
    {"rrc_scale_hi", KEY_DOUBLE, FIELD(rrc_scale_hi), M_TRAIN,
     "RandomResizedCrop largest area fraction (INPUT.RRCROP_SCALE[1])"},
    {"precision", KEY_STRING, FIELD(precision), M_ALL,
     "matrix products: fp32 | tf32 | bf16 | fp16 (operands rounded, fp32 sums; attention, "
     "LayerNorm, softmax, loss and optimiser stay fp32)"},
    {NULL, 0, 0, 0, 0, NULL},
};

static const char *const NAMES[METHOD_COUNT] = {"zsclip", "coop", "cocoop", "maple", "mudpt", "mmrl"};

const char *method_name(MethodKind k) {
    return k >= 0 && k < METHOD_COUNT ? NAMES[k] : "unknown";
}

int method_kind_from_name(const char *s) {
    for (int k = 0; s && k < METHOD_COUNT; k++)
        if (!strcasecmp(s, NAMES[k])) return k;
    return -1;
}

/* Dassl's defaults as the CoOp-family configs leave them */
static void dassl_defaults(MethodConfig *c) {
    c->epochs = 10, c->batch = 32, c->test_batch = 100;
    strcpy(c->optim, "sgd");
    c->lr = 0.002, c->momentum = 0.9, c->weight_decay = 5e-4;
    c->beta1 = 0.9, c->beta2 = 0.999, c->eps = 1e-8;
    c->warmup_epochs = 1, c->warmup_lr = 1e-5;
    c->rrc_scale_lo = 0.08, c->rrc_scale_hi = 1.0;
    strcpy(c->class_token_position, "end");
    strcpy(c->precision, "fp32");
}

typedef void (*DefaultsFn)(MethodConfig *, const char *, const char *);

void method_config_defaults(MethodConfig *c, MethodKind k, const char *setting,
                            const char *dataset) {
    static const DefaultsFn FN[METHOD_COUNT] = {
        zsclip_config_defaults, coop_config_defaults,  cocoop_config_defaults,
        maple_config_defaults,  mudpt_config_defaults, mmrl_config_defaults};
    memset(c, 0, sizeof *c);
    dassl_defaults(c);
    c->kind = k;
    if (k >= 0 && k < METHOD_COUNT && FN[k]) FN[k](c, setting ? setting : "", dataset ? dataset : "");
}
