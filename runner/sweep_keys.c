/* runner/sweep_keys.c — method keys in sweep files (core/methods/registry.h method_keys()): reading a block
 * of keys with their types and ranges, applying it to a MethodConfig, and the resolved
 * configuration of a cell as JSON. */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/rng.h"
#include "kernels/ops.h"  // defines: K_PRECISION_NAMES
#include "runner/sweep_yaml.h"

int sweep_key_count(void) {
    int n = 0;
    while (method_keys()[n].key) n++;
    return n;
}

int sweep_method_key(const char *name) {
    for (int i = 0; method_keys()[i].key; i++)
        if (!strcmp(method_keys()[i].key, name)) return i;
    return -1;
}

/* the methods a key applies to, as "coop, cocoop" */
static const char *key_methods_(unsigned mask, char *buf, size_t len) {
    buf[0] = 0;
    for (int k = 0; k < METHOD_COUNT; k++) {
        if (!(mask & (1u << k))) continue;
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s", l ? ", " : "", method_name((MethodKind)k));
    }
    return buf;
}

/* the keys that apply to the methods of mask, as a list for messages */
static const char *known_keys_(unsigned mask, char *buf, size_t len) {
    snprintf(buf, len, "ranks");
    for (int i = 0; method_keys()[i].key; i++) {
        if (!(method_keys()[i].methods & mask)) continue;
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, ", %s", method_keys()[i].key);
    }
    return buf;
}

int sweep_key_one_of(SweepDoc *d, yaml_node_t *v, const char *key, const char *s) {
    static const char *const OPTIM[] = {"sgd", "adamw", NULL};
    static const char *const POSITION[] = {"end", "middle", "front", NULL};
    static const struct { const char *key; const char *const *values; } ENUMS[] = {
        {"optim", OPTIM},
        {"class_token_position", POSITION},
        {"precision", K_PRECISION_NAMES}, /* kernels/ops.h */
    };
    for (size_t e = 0; e < sizeof ENUMS / sizeof *ENUMS; e++) {
        if (strcmp(ENUMS[e].key, key)) continue;
        char all[96] = "";
        for (int j = 0; ENUMS[e].values[j]; j++) {
            if (!strcmp(s, ENUMS[e].values[j])) return 0;
            size_t l = strlen(all);
            snprintf(all + l, sizeof all - l, "%s%s", j ? ", " : "", ENUMS[e].values[j]);
        }
        char b[64];
        return yerr(d, v, "%s: '%s' is not one of %s%s", key, s, all,
                    ysuggest(s, ENUMS[e].values, b, sizeof b));
    }
    return 0;
}

static int read_list_(SweepDoc *d, yaml_node_t *v, const MethodKey *mk, char *field) {
    char b[96];
    if (v->type != YAML_SEQUENCE_NODE)
        return yerr(d, v, "%s: expected a list of integers such as [6, 7, 8], found %s", mk->key,
                    ydescribe(v, b, sizeof b));
    int max = (int)(mk->size / sizeof(int)), n = 0;
    yaml_node_t *items[64];
    if (yitems(d, v, mk->key, max < 64 ? max : 64, items, &n)) return -1;
    int *arr = (int *)field;
    for (int i = 0; i < n; i++)
        if (yint(d, items[i], mk->key, 0, INT_MAX, &arr[i])) return -1;
    memcpy(field + mk->size, &n, sizeof n);  /* the count follows the array */
    return 0;
}

static int read_value_(SweepDoc *d, yaml_node_t *v, const MethodKey *mk, MethodConfig *mc) {
    char *field = (char *)mc + mk->offset;
    int lo = !strcmp(mk->key, "batch") || !strcmp(mk->key, "test_batch") ? 1 : 0;
    switch (mk->type) {
    case KEY_INT: return yint(d, v, mk->key, lo, INT_MAX, (int *)field);
    case KEY_DOUBLE: return ydouble(d, v, mk->key, (double *)field);
    case KEY_BOOL: return ybool(d, v, mk->key, (int *)field);
    case KEY_STRING:
        if (ystring(d, v, mk->key, field, mk->size)) return -1;
        return sweep_key_one_of(d, v, mk->key, field);
    case KEY_INT_LIST: return read_list_(d, v, mk, field);
    }
    return yerr(d, v, "%s: key of unknown type", mk->key);
}

int sweep_keys_read(SweepDoc *d, yaml_node_t *map, const char *what, unsigned mask,
                    SweepKeys *k) {
    char b[2048], s[96];
    if (ymap(d, map, what, 1)) return -1;
    if (yis_null(map)) return 0;
    for (int i = 0; i < ymap_len(map); i++) {
        yaml_node_t *kn = ymap_key(d, map, i), *v = ymap_val(d, map, i);
        const char *key = ykey(kn);
        if (!strcmp(key, "ranks")) {
            if (yint(d, v, "ranks", 1, 65536, &k->ranks)) return -1;
            continue;
        }
        int idx = sweep_method_key(key);
        if (idx < 0) {
            const char *names[SWEEP_MAX_KEYS + 2];
            int n = 0;
            names[n++] = "ranks";
            for (int j = 0; method_keys()[j].key && n < SWEEP_MAX_KEYS; j++)
                if (method_keys()[j].methods & mask) names[n++] = method_keys()[j].key;
            names[n] = NULL;
            char known[2048];
            return yerr(d, kn, "%s: unknown key '%s'%s; known keys: %s", what, key,
                        ysuggest(key, names, s, sizeof s), known_keys_(mask, known, sizeof known));
        }
        const MethodKey *mk = &method_keys()[idx];
        if (!(mk->methods & mask))
            return yerr(d, kn, "%s: key '%s' does not apply here (it is a key of %s)", what, key,
                        key_methods_(mk->methods, b, sizeof b));
        if (read_value_(d, v, mk, &k->vals)) return -1;
        k->given[idx] = 1;
        k->pos[idx] = ypos(kn);
    }
    return 0;
}

void sweep_keys_apply(const SweepKeys *k, MethodKind kind, MethodConfig *mc, int *ranks) {
    for (int i = 0; method_keys()[i].key; i++) {
        const MethodKey *mk = &method_keys()[i];
        if (!k->given[i] || !(mk->methods & (1u << kind))) continue;
        size_t n = mk->size + (mk->type == KEY_INT_LIST ? sizeof(int) : 0);
        memcpy((char *)mc + mk->offset, (const char *)&k->vals + mk->offset, n);
    }
    if (k->ranks > 0) *ranks = k->ranks;
}

uint64_t sweep_run_seed(uint64_t sweep_seed, int seed) {
    return sweep_seed ? cg_rng_key(sweep_seed, (uint64_t)seed, "run") : (uint64_t)seed;
}

static json_t *key_json_(const MethodKey *mk, const MethodConfig *mc) {
    const char *field = (const char *)mc + mk->offset;
    switch (mk->type) {
    case KEY_INT: return json_integer(*(const int *)field);
    case KEY_DOUBLE: return json_real(*(const double *)field);
    case KEY_BOOL: return json_boolean(*(const int *)field);
    case KEY_STRING: return json_string(field);
    case KEY_INT_LIST: {
        json_t *a = json_array();
        int n;
        memcpy(&n, field + mk->size, sizeof n);
        for (int i = 0; i < n; i++) json_array_append_new(a, json_integer(((const int *)field)[i]));
        return a;
    }
    }
    return json_null();
}

char *sweep_cell_config_json(const Sweep *s, const SweepCell *c) {
    json_t *o = json_object(), *m = json_object();
    json_object_set_new(o, "sweep", json_string(s->name));
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "setting", json_string(c->setting));
    json_object_set_new(o, "dataset", json_string(c->dataset));
    json_object_set_new(o, "method", json_string(method_name(c->method)));
    json_object_set_new(o, "variant", json_string(c->variant));
    json_object_set_new(o, "seed", json_integer(c->seed));
    json_object_set_new(o, "shots", json_integer(c->shots));
    json_object_set_new(o, "ranks", json_integer(c->ranks));
    json_object_set_new(o, "sweep_seed", json_integer((json_int_t)s->sweep_seed));
    char rs[32];
    snprintf(rs, sizeof rs, "%llu", (unsigned long long)c->run_seed);
    json_object_set_new(o, "run_seed", json_string(rs));
    json_object_set_new(o, "weights", json_string(s->weights));
    json_object_set_new(o, "data_root", json_string(s->data_root));
    for (int i = 0; method_keys()[i].key; i++)
        if (method_keys()[i].methods & (1u << c->method))
            json_object_set_new(m, method_keys()[i].key, key_json_(&method_keys()[i], &c->mc));
    json_object_set_new(o, "config", m);
    char *txt = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    char *out = cg_strdup(txt);
    free(txt);
    return out;
}

char *sweep_cell_options_json(const SweepCell *c) {
    json_t *m = json_object();
    for (int i = 0; method_keys()[i].key; i++)
        if (method_keys()[i].methods & (1u << c->method) && strcmp(method_keys()[i].key, "depth"))
            json_object_set_new(m, method_keys()[i].key, key_json_(&method_keys()[i], &c->mc));
    char *txt = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(m);
    char *out = cg_strdup(txt);
    free(txt);
    return out;
}
