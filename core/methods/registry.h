/* core/methods/registry.h — the list of methods. Adding a method is one file
 * (core/methods/method_<name>.c, defining `const MethodDesc <name>_method`) and one line here;
 * nothing else in the program names a method. The order is the order of the tables. */
#ifndef CLIPGRID_CORE_REGISTRY_H
#define CLIPGRID_CORE_REGISTRY_H

#include "core/methods/method.h"

#define CG_METHODS(X) \
    X(zsclip)         \
    X(coop)           \
    X(cocoop)         \
    X(kgcoop)         \
    X(maple)          \
    X(mudpt)          \
    X(mmrl)

#define CG_METHOD_ONE_(name) +1
enum { METHOD_COUNT = 0 CG_METHODS(CG_METHOD_ONE_) };

const MethodDesc *method_at(MethodKind k);          /* NULL when out of range */
const MethodDesc *method_find(const char *name);    /* by name (case-insensitive); NULL */
/* by the official TRAINER.NAME (or the method's own name); NULL */
const MethodDesc *method_find_trainer(const char *trainer);
const char *method_name(MethodKind k);              /* "coop"; "unknown" out of range */
int method_kind_from_name(const char *s);           /* −1 when unknown */

/* every option key of every method, each once, with the mask of the methods it applies to (bit
 * k: method_at(k)); the training keys apply to every method that trains, test_batch and
 * precision to all. Ends with key == NULL. Built on first use; a key declared twice with
 * different types or places is fatal (tests/test_registry.c walks it). */
const MethodKey *method_keys(void);
int method_key_count(void);

/* Dassl's training defaults, then the method's published options for the setting and dataset */
void method_config_defaults(MethodConfig *c, MethodKind k, const char *setting,
                            const char *dataset);
/* set one option from text ("4", "0.002", "true", "a photo of a", "[2, 3]"), as a sweep file or
 * a fixture's /config gives it; 0, or −1 with cg_error naming the key (unknown, not an option
 * of this method, or a bad value) */
int method_option_set(MethodConfig *c, const char *key, const char *value);

/* 0 when every descriptor is complete (name, display, trainer, defaults, cost, a positive cost
 * factor, every op) and the keys agree; −1 with cg_error naming the method and what is missing */
int method_registry_check(void);

#endif
