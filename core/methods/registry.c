/* core/methods/registry.c — the table of methods (from CG_METHODS), lookups by name and trainer,
 * the union of every method's option keys, the defaults of a method, and options set from
 * text. */
#include "core/methods/registry.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "core/methods/method_impl.h"

#define CG_METHOD_DECLARE_(name) extern const MethodDesc name##_method;
CG_METHODS(CG_METHOD_DECLARE_)
#define CG_METHOD_ENTRY_(name) &name##_method,
static const MethodDesc *const REGISTRY[METHOD_COUNT] = {CG_METHODS(CG_METHOD_ENTRY_)};

const MethodDesc *method_at(MethodKind k) {
    return k >= 0 && k < METHOD_COUNT ? REGISTRY[k] : NULL;
}

const char *method_name(MethodKind k) {
    return k >= 0 && k < METHOD_COUNT ? REGISTRY[k]->name : "unknown";
}

int method_kind_from_name(const char *s) {
    for (int k = 0; s && k < METHOD_COUNT; k++)
        if (!strcasecmp(s, REGISTRY[k]->name)) return k;
    return -1;
}

const MethodDesc *method_find(const char *name) {
    int k = method_kind_from_name(name);
    return k < 0 ? NULL : REGISTRY[k];
}

const MethodDesc *method_find_trainer(const char *t) {
    for (int k = 0; t && k < METHOD_COUNT; k++) {
        const MethodDesc *d = REGISTRY[k];
        if (!strcmp(t, d->trainer) || (d->trainer_alias && !strcmp(t, d->trainer_alias)))
            return d;
    }
    return method_find(t);
}

/* ---- the keys ----------------------------------------------------------------------------- */

#define TRAINS (1u << 30) /* placeholder mask of TRAIN_KEYS: every method that trains */
#define ALL (1u << 31)    /* every method */
static const MethodKey TRAIN_KEYS[] = {
    {"epochs", KEY_INT, CFG_FIELD(train.epochs), TRAINS, "training epochs (OPTIM.MAX_EPOCH)"},
    {"batch", KEY_INT, CFG_FIELD(train.batch), TRAINS, "training batch (DATALOADER.TRAIN_X.BATCH_SIZE)"},
    {"test_batch", KEY_INT, CFG_FIELD(train.test_batch), ALL, "evaluation batch (DATALOADER.TEST.BATCH_SIZE)"},
    {"optim", KEY_STRING, CFG_FIELD(train.optim), TRAINS, "optimiser: sgd | adamw (OPTIM.NAME)"},
    {"lr", KEY_DOUBLE, CFG_FIELD(train.lr), TRAINS, "base learning rate (OPTIM.LR)"},
    {"momentum", KEY_DOUBLE, CFG_FIELD(train.momentum), TRAINS, "SGD momentum (OPTIM.MOMENTUM)"},
    {"weight_decay", KEY_DOUBLE, CFG_FIELD(train.weight_decay), TRAINS, "weight decay (OPTIM.WEIGHT_DECAY)"},
    {"beta1", KEY_DOUBLE, CFG_FIELD(train.beta1), TRAINS, "AdamW beta1 (OPTIM.ADAM_BETA1)"},
    {"beta2", KEY_DOUBLE, CFG_FIELD(train.beta2), TRAINS, "AdamW beta2 (OPTIM.ADAM_BETA2)"},
    {"eps", KEY_DOUBLE, CFG_FIELD(train.eps), TRAINS, "AdamW epsilon"},
    {"warmup_epochs", KEY_INT, CFG_FIELD(train.warmup_epochs), TRAINS,
     "constant warm-up epochs (OPTIM.WARMUP_EPOCH)"},
    {"warmup_lr", KEY_DOUBLE, CFG_FIELD(train.warmup_lr), TRAINS,
     "warm-up learning rate (OPTIM.WARMUP_CONS_LR)"},
    {"rrc_scale_lo", KEY_DOUBLE, CFG_FIELD(train.rrc_scale_lo), TRAINS,
     "RandomResizedCrop smallest area fraction (INPUT.RRCROP_SCALE[0])"},
    {"rrc_scale_hi", KEY_DOUBLE, CFG_FIELD(train.rrc_scale_hi), TRAINS,
     "RandomResizedCrop largest area fraction (INPUT.RRCROP_SCALE[1])"},
    {"precision", KEY_STRING, CFG_FIELD(train.precision), ALL,
     "matrix products: fp32 | tf32 | bf16 | fp16 (operands rounded, fp32 sums; attention, "
     "LayerNorm, softmax, loss and optimiser stay fp32)"},
    {NULL, 0, 0, 0, 0, NULL},
};

#define MAX_KEYS 128
static MethodKey g_keys[MAX_KEYS + 1];
static int g_n_keys = -1;

static int same_place(const MethodKey *a, const MethodKey *b) {
    return a->type == b->type && a->offset == b->offset && a->size == b->size;
}

/* add key k for the methods of mask; −1 when it contradicts an earlier declaration */
static int add_key(const MethodKey *k, unsigned mask, const char *who) {
    for (int i = 0; i < g_n_keys; i++) {
        if (strcmp(g_keys[i].key, k->key)) continue;
        if (!same_place(&g_keys[i], k))
            return cg_error_set("method %s declares key '%s' with another type or field than "
                                "an earlier method", who, k->key), -1;
        g_keys[i].methods |= mask;
        return 0;
    }
    if (g_n_keys >= MAX_KEYS) return cg_error_set("more than %d method keys", MAX_KEYS), -1;
    g_keys[g_n_keys] = *k;
    g_keys[g_n_keys++].methods = mask;
    return 0;
}

static int build_keys(void) {
    g_n_keys = 0;
    unsigned all = 0, trains = 0;
    for (int m = 0; m < METHOD_COUNT; m++) {
        all |= 1u << m;
        if (REGISTRY[m]->trains) trains |= 1u << m;
    }
    for (const MethodKey *k = TRAIN_KEYS; k->key; k++)
        if (add_key(k, k->methods == ALL ? all : trains, "(training)") != 0) return -1;
    for (int m = 0; m < METHOD_COUNT; m++)
        for (const MethodKey *k = REGISTRY[m]->keys; k && k->key; k++)
            if (add_key(k, 1u << m, REGISTRY[m]->name) != 0) return -1;
    memset(&g_keys[g_n_keys], 0, sizeof g_keys[g_n_keys]);
    return 0;
}

const MethodKey *method_keys(void) {
    if (g_n_keys < 0 && build_keys() != 0) cg_fatal("method registry: %s", cg_error());
    return g_keys;
}

int method_key_count(void) {
    method_keys();
    return g_n_keys;
}

/* ---- defaults and options from text -------------------------------------------------------- */

void method_config_defaults(MethodConfig *c, MethodKind k, const char *setting,
                            const char *dataset) {
    memset(c, 0, sizeof *c);
    train_config_dassl_defaults(&c->train);
    strcpy(c->class_token_position, "end");
    c->kind = k;
    const MethodDesc *d = method_at(k);
    if (d && d->defaults) d->defaults(c, setting ? setting : "", dataset ? dataset : "");
}

static int parse_int(const char *v, long *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    while (*end == ' ') end++;
    if (errno || end == v || *end || x != floor(x) || fabs(x) > 1e9) return -1;
    return *out = (long)x, 0;
}

static int set_int_list(const MethodKey *k, char *dst, const char *v) {
    int *arr = (int *)dst, cap = (int)(k->size / sizeof(int)), n = 0;
    const char *p = v;
    while (*p == ' ' || *p == '[') p++;
    while (*p && *p != ']') {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || n >= cap) return -1;
        arr[n++] = (int)x, p = end;
        while (*p == ' ' || *p == ',') p++;
    }
    memcpy(dst + k->size, &n, sizeof n); /* the count follows the array */
    return 0;
}

static int set_value(const MethodKey *k, char *dst, const char *v) {
    long i;
    switch (k->type) {
    case KEY_INT:
        if (parse_int(v, &i) != 0) return -1;
        return *(int *)dst = (int)i, 0;
    case KEY_BOOL:
        if (!strcasecmp(v, "true") || !strcmp(v, "1")) return *(int *)dst = 1, 0;
        if (!strcasecmp(v, "false") || !strcmp(v, "0")) return *(int *)dst = 0, 0;
        return -1;
    case KEY_DOUBLE: {
        char *end;
        double x = strtod(v, &end);
        if (end == v || *end) return -1;
        return *(double *)dst = x, 0;
    }
    case KEY_STRING:
        if (strlen(v) >= k->size) return -1;
        return strcpy(dst, v), 0;
    case KEY_INT_LIST: return set_int_list(k, dst, v);
    }
    return -1;
}

int method_option_set(MethodConfig *c, const char *key, const char *value) {
    const MethodKey *keys = method_keys();
    for (int i = 0; keys[i].key; i++) {
        if (strcmp(keys[i].key, key)) continue;
        if (!(keys[i].methods & (1u << c->kind)))
            return cg_error_set("'%s' is not an option of %s", key, method_name(c->kind)), -1;
        if (set_value(&keys[i], (char *)c + keys[i].offset, value) != 0)
            return cg_error_set("option %s of %s: bad value '%s'", key, method_name(c->kind),
                                value), -1;
        return 0;
    }
    return cg_error_set("'%s' is not an option of any method", key), -1;
}

/* ---- completeness ------------------------------------------------------------------------- */

int method_registry_check(void) {
    for (int k = 0; k < METHOD_COUNT; k++) {
        const MethodDesc *d = REGISTRY[k];
        const MethodOps *o = &d->ops;
        const char *miss = !d->name ? "name" : !d->display ? "display name" :
                           !d->trainer ? "trainer name" : !d->defaults ? "defaults" :
                           !d->cost ? "cost model" : !(d->cost_factor > 0) ? "cost factor" :
                           !o->build ? "build" : !o->set_classes ? "set_classes" :
                           !o->forward_backward ? "forward_backward" : !o->logits ? "logits" :
                           !o->destroy ? "destroy" : NULL;
        if (miss) return cg_error_set("method %d (%s) has no %s", k, d->name ? d->name : "?", miss), -1;
        for (int j = 0; j < k; j++)
            if (!strcasecmp(d->name, REGISTRY[j]->name))
                return cg_error_set("two methods are named %s", d->name), -1;
    }
    if (METHOD_COUNT > 30) return cg_error_set("more than 30 methods: key masks are 32-bit"), -1;
    g_n_keys = -1;
    return build_keys();
}
