/* tests/test_registry.c — walks the method registry (core/methods/registry.h): every method is
 * complete (names, trainer, defaults, cost model and factor, every op), names and trainers are
 * unique and found again, every key applies to some method and is settable from text, the
 * defaults of every setting are usable (positive batch and epochs for methods that train, a
 * known optimiser and precision), and option text is checked (unknown key, a key of another
 * method, bad values). A method that forgets a piece fails here, not silently in a sweep. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "core/methods/registry.h"
#include "kernels/ops.h"
#include "tests/testlib.h"

static const char *const SETTINGS[] = {"base2new", "fewshot", "cross_dataset",
                                       "domain_generalization"};

static void test_complete(void) {
    CHECK(method_registry_check() == 0, "registry: %s", cg_error());
    CHECK(METHOD_COUNT >= 7, "%d methods registered", METHOD_COUNT);
    for (int k = 0; k < METHOD_COUNT; k++) {
        const MethodDesc *d = method_at(k);
        CHECK(method_kind_from_name(d->name) == k, "%s: not found by its name", d->name);
        CHECK(method_find_trainer(d->trainer) == d, "%s: not found by its trainer %s", d->name,
              d->trainer);
        if (d->trainer_alias)
            CHECK(method_find_trainer(d->trainer_alias) == d, "%s: alias %s", d->name,
                  d->trainer_alias);
        CHECK(d->cost_factor > 0.2 && d->cost_factor < 5, "%s: cost factor %g", d->name,
              d->cost_factor);
    }
    CHECK(method_at(METHOD_COUNT) == NULL && method_at(-1) == NULL, "out-of-range kinds");
    CHECK(method_find("no_such_method") == NULL, "an unknown name is found");
    CHECK(method_find("CoOp") == method_find("coop"), "names are case-insensitive");
}

static void test_defaults(void) {
    for (int k = 0; k < METHOD_COUNT; k++) {
        const MethodDesc *d = method_at(k);
        for (int s = 0; s < 4; s++) {
            MethodConfig c;
            method_config_defaults(&c, k, SETTINGS[s], "caltech101");
            const TrainConfig *t = &c.train;
            CHECK(c.kind == k, "%s %s: kind %d", d->name, SETTINGS[s], c.kind);
            CHECK(!d->trains || (t->epochs > 0 && t->batch > 0 && t->lr > 0),
                  "%s %s: epochs %d, batch %d, lr %g", d->name, SETTINGS[s], t->epochs, t->batch,
                  t->lr);
            CHECK(!strcmp(t->optim, "sgd") || !strcmp(t->optim, "adamw"), "%s: optimiser %s",
                  d->name, t->optim);
            CHECK(k_set_matmul_precision(t->precision) == 0, "%s: precision %s", d->name,
                  t->precision);
            MethodCost mc = d->cost(&c);
            CHECK(mc.extra_image_tokens >= 0 && mc.extra_text_tokens >= 0 &&
                      mc.extra_text_tokens < 77,
                  "%s %s: cost model tokens %d / %d", d->name, SETTINGS[s],
                  mc.extra_image_tokens, mc.extra_text_tokens);
        }
    }
    (void)k_set_matmul_precision("fp32");
}

/* a value of the key's type, as a sweep file would write it */
static const char *sample_value(const MethodKey *k) {
    switch (k->type) {
    case KEY_INT: return "3";
    case KEY_DOUBLE: return "0.25";
    case KEY_BOOL: return "true";
    case KEY_STRING: return "end";
    case KEY_INT_LIST: return "[1, 2]";
    }
    return "";
}

static void test_keys(void) {
    const MethodKey *keys = method_keys();
    int n = method_key_count();
    CHECK(n > 20 && keys[n].key == NULL, "%d keys", n);
    for (int i = 0; i < n; i++) {
        CHECK(keys[i].methods != 0, "key %s applies to no method", keys[i].key);
        CHECK(keys[i].help && keys[i].help[0], "key %s has no help text", keys[i].key);
        for (int k = 0; k < METHOD_COUNT; k++) {
            if (!(keys[i].methods & (1u << k))) continue;
            MethodConfig c;
            method_config_defaults(&c, k, "base2new", "");
            CHECK(method_option_set(&c, keys[i].key, sample_value(&keys[i])) == 0, "%s %s: %s",
                  method_name(k), keys[i].key, cg_error());
        }
    }
    int coop = method_kind_from_name("coop"), kg = method_kind_from_name("kgcoop");
    MethodConfig c;
    method_config_defaults(&c, coop, "base2new", "");
    CHECK(method_option_set(&c, "n_ctx", "16") == 0 && c.n_ctx == 16, "coop n_ctx 16");
    CHECK(method_option_set(&c, "lr", "0.5") == 0 && c.train.lr == 0.5, "coop lr 0.5");
    CHECK(method_option_set(&c, "n_ctx", "four") != 0 && strstr(cg_error(), "n_ctx"),
          "a bad integer is accepted (%s)", cg_error());
    CHECK(method_option_set(&c, "alpha", "0.5") != 0 && strstr(cg_error(), "coop"),
          "MMRL's alpha is accepted for CoOp (%s)", cg_error());
    CHECK(method_option_set(&c, "no_such_key", "1") != 0, "an unknown key is accepted");
    method_config_defaults(&c, kg, "base2new", "");
    CHECK(method_option_set(&c, "w", "2.5") == 0, "kgcoop w: %s", cg_error());
    CHECK(method_option_set(&c, "class_token_position", "front") != 0,
          "KgCoOp takes a class token position its official code ignores");
    int zs = method_kind_from_name("zsclip");
    method_config_defaults(&c, zs, "base2new", "");
    CHECK(method_option_set(&c, "lr", "0.1") != 0, "zero-shot CLIP takes a learning rate");
    CHECK(method_option_set(&c, "precision", "bf16") == 0, "zero-shot CLIP precision");
}

int main(void) {
    k_init_cpu(1);
    test_complete();
    test_defaults();
    test_keys();
    return test_finish("test_registry");
}
