/* runner/sweep.c — reading a sweep file: the top-level keys, model and data, the grid axes
 * (settings, shots, seeds, datasets), the methods with their keys, the overrides, and the
 * checks that need the file system. */
#include "runner/sweep.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/dataset.h"
#include "runner/cli.h"
#include "runner/sweep_yaml.h"

const char *const SWEEP_SETTINGS[] = {"base2new", "fewshot", "cross_dataset",
                                      "domain_generalization", NULL};

static const char *const TOP_KEYS[] = {
    "name", "model", "data", "output", "setting", "shots", "seeds", "datasets", "methods",
    "overrides", "ranks", "threads", "loader_threads", "sweep_seed", "precision", NULL};

static const char *method_names_(char *buf, size_t len) {
    buf[0] = 0;
    for (int k = 0; k < METHOD_COUNT; k++) {
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s", k ? ", " : "", method_name((MethodKind)k));
    }
    return buf;
}

static int name_ok_(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.", *s)) return 0;
    return 1;
}

/* ---- the grid axes ---------------------------------------------------------------------------- */

static int setting_(SweepDoc *d, yaml_node_t *v, char out[32]) {
    char b[96];
    if (ystring(d, v, "setting", out, 32)) return -1;
    for (int i = 0; SWEEP_SETTINGS[i]; i++)
        if (!strcmp(out, SWEEP_SETTINGS[i])) return 0;
    return yerr(d, v, "setting: unknown setting '%s'%s; known: base2new, fewshot, cross_dataset, "
                "domain_generalization", out, ysuggest(out, SWEEP_SETTINGS, b, sizeof b));
}

static int dataset_(SweepDoc *d, yaml_node_t *v, const char *what, char out[32]) {
    char b[96], list[1024] = "";
    if (ystring(d, v, what, out, 32)) return -1;
    if (dataset_known(out)) return 0;
    for (int i = 0; DATASET_NAMES[i]; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", DATASET_NAMES[i]);
    }
    return yerr(d, v, "%s: unknown dataset '%s'%s; known: %s", what, out,
                ysuggest(out, (const char *const *)DATASET_NAMES, b, sizeof b), list);
}

/* a method name, or with variant != NULL also "method@variant" */
static int method_(SweepDoc *d, yaml_node_t *v, const char *what, MethodKind *out, char *variant) {
    char b[96], list[256], name[80];
    if (ystring(d, v, what, name, sizeof name)) return -1;
    char *at = variant ? strchr(name, '@') : NULL;
    if (at) {
        *at = 0;
        if (!name_ok_(at + 1) || strlen(at + 1) >= 48)
            return yerr(d, v, "%s: variant '%s' must be 1 to 47 letters, digits, '-', '_' or '.'",
                        what, at + 1);
        strcpy(variant, at + 1);
    }
    int k = method_kind_from_name(name);
    if (k >= 0) return *out = (MethodKind)k, 0;
    const char *names[METHOD_COUNT + 1];
    for (int i = 0; i < METHOD_COUNT; i++) names[i] = method_name((MethodKind)i);
    names[METHOD_COUNT] = NULL;
    return yerr(d, v, "%s: unknown method '%s'%s; known: %s", what, name,
                ysuggest(name, names, b, sizeof b), method_names_(list, sizeof list));
}

/* a value-or-list axis; dup checks against earlier items */
static int int_axis_(SweepDoc *d, yaml_node_t *v, const char *what, long lo, int *vals, int *n) {
    yaml_node_t *items[SWEEP_MAX_ITEMS];
    if (yitems(d, v, what, SWEEP_MAX_ITEMS, items, n)) return -1;
    for (int i = 0; i < *n; i++) {
        if (yint(d, items[i], what, lo, INT_MAX, &vals[i])) return -1;
        for (int j = 0; j < i; j++)
            if (vals[j] == vals[i])
                return yerr(d, items[i], "%s: %d is listed twice", what, vals[i]);
    }
    return 0;
}

static int datasets_(SweepDoc *d, yaml_node_t *v, Sweep *s) {
    yaml_node_t *items[SWEEP_MAX_ITEMS];
    s->datasets_pos = ypos(v);
    if (yitems(d, v, "datasets", SWEEP_MAX_ITEMS, items, &s->n_datasets)) return -1;
    for (int i = 0; i < s->n_datasets; i++) {
        if (dataset_(d, items[i], "datasets", s->datasets[i])) return -1;
        s->dataset_pos[i] = ypos(items[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(s->datasets[j], s->datasets[i]))
                return yerr(d, items[i], "datasets: '%s' is listed twice", s->datasets[i]);
    }
    return 0;
}

static int settings_(SweepDoc *d, yaml_node_t *v, Sweep *s) {
    yaml_node_t *items[4];
    if (yitems(d, v, "setting", 4, items, &s->n_settings)) return -1;
    for (int i = 0; i < s->n_settings; i++)
        if (setting_(d, items[i], s->settings[i])) return -1;
    return 0;
}

/* ---- model, data, methods, overrides --------------------------------------------------------- */

/* model.activation / heads / text_heads / head_width: the architecture the shapes cannot tell */
static int model_arch_(SweepDoc *d, yaml_node_t *k, yaml_node_t *x, Sweep *s) {
    ClipArchHints *h = &s->arch_hints;
    const char *key = ykey(k);
    if (!strcmp(key, "activation")) {
        char *a = NULL;
        if (ystrdup(d, x, "model.activation", &a)) return -1;
        h->act = clip_act_parse(a);
        free(a);
        if (h->act < 0) return yerr(d, x, "model.activation: expected quick_gelu or gelu");
        return 0;
    }
    if (!strcmp(key, "heads")) return yint(d, x, "model.heads", 1, 4096, &h->heads);
    if (!strcmp(key, "text_heads")) return yint(d, x, "model.text_heads", 1, 4096, &h->text_heads);
    return yint(d, x, "model.head_width", 1, 4096, &h->head_width);
}

static int model_(SweepDoc *d, yaml_node_t *v, Sweep *s) {
    static const char *const KEYS[] = {"weights",    "vocab",      "activation", "heads",
                                       "text_heads", "head_width", NULL};
    char b[96];
    if (ymap(d, v, "model", 0)) return -1;
    s->model_pos = ypos(v);
    for (int i = 0; i < ymap_len(v); i++) {
        yaml_node_t *k = ymap_key(d, v, i), *x = ymap_val(d, v, i);
        if (!strcmp(ykey(k), "weights")) {
            if (ystrdup(d, x, "model.weights", &s->weights)) return -1;
            s->weights_pos = ypos(x);
        } else if (!strcmp(ykey(k), "vocab")) {
            if (ystrdup(d, x, "model.vocab", &s->vocab)) return -1;
            s->vocab_pos = ypos(x);
        } else if (strcmp(ykey(k), "activation") == 0 || strcmp(ykey(k), "heads") == 0 ||
                   strcmp(ykey(k), "text_heads") == 0 || strcmp(ykey(k), "head_width") == 0) {
            if (model_arch_(d, k, x, s)) return -1;
        } else
            return yerr(d, k, "model: unknown key '%s'%s; known keys: weights, vocab, activation, "
                        "heads, text_heads, head_width", ykey(k),
                        ysuggest(ykey(k), KEYS, b, sizeof b));
    }
    if (!s->weights) return yerr(d, v, "model: missing key 'weights' (the weights file)");
    snprintf(s->arch_hints.src, sizeof s->arch_hints.src, "%s:%d model keys", s->path,
             s->model_pos.line);
    return 0;
}

/* data.folders: {NAME: {path: DIR, template: "… {} …"}}: users' own datasets of kind folder
 * (core/dataset.h); DIR is relative to data.root unless absolute */
static int folder_(SweepDoc *d, yaml_node_t *k, yaml_node_t *v) {
    static const char *const KEYS[] = {"path", "template", NULL};
    char b[96], *path = NULL, *tmpl = NULL;
    int rc = ymap(d, v, "data.folders entry", 0);
    for (int i = 0; !rc && i < ymap_len(v); i++) {
        yaml_node_t *kk = ymap_key(d, v, i), *x = ymap_val(d, v, i);
        if (!strcmp(ykey(kk), "path")) rc = ystrdup(d, x, "data.folders path", &path);
        else if (!strcmp(ykey(kk), "template")) rc = ystrdup(d, x, "data.folders template", &tmpl);
        else rc = yerr(d, kk, "data.folders.%s: unknown key '%s'%s; known keys: path, template",
                       ykey(k), ykey(kk), ysuggest(ykey(kk), KEYS, b, sizeof b));
    }
    if (!rc && !path) rc = yerr(d, v, "data.folders.%s: missing key 'path'", ykey(k));
    if (!rc && dataset_folder_register(ykey(k), path, tmpl)) rc = yerr(d, k, "%s", cg_error());
    free(path), free(tmpl);
    return rc;
}

static int folders_(SweepDoc *d, yaml_node_t *v) {
    if (ymap(d, v, "data.folders", 0)) return -1;
    for (int i = 0; i < ymap_len(v); i++)
        if (folder_(d, ymap_key(d, v, i), ymap_val(d, v, i))) return -1;
    return 0;
}

static int data_(SweepDoc *d, yaml_node_t *v, Sweep *s) {
    static const char *const KEYS[] = {"root", "fewshot_dir", "folders", NULL};
    char b[96];
    if (ymap(d, v, "data", 0)) return -1;
    for (int i = 0; i < ymap_len(v); i++) {
        yaml_node_t *k = ymap_key(d, v, i), *x = ymap_val(d, v, i);
        if (!strcmp(ykey(k), "fewshot_dir")) {
            if (ystrdup(d, x, "data.fewshot_dir", &s->fewshot_dir)) return -1;
            continue;
        }
        if (!strcmp(ykey(k), "folders")) {
            if (folders_(d, x)) return -1;
            continue;
        }
        if (strcmp(ykey(k), "root"))
            return yerr(d, k, "data: unknown key '%s'%s; known keys: root, fewshot_dir, folders",
                        ykey(k),
                        ysuggest(ykey(k), KEYS, b, sizeof b));
        if (ystrdup(d, x, "data.root", &s->data_root)) return -1;
        s->data_pos = ypos(x);
    }
    if (!s->data_root) return yerr(d, v, "data: missing key 'root' (the datasets' folder)");
    return 0;
}

static int methods_(SweepDoc *d, yaml_node_t *v, Sweep *s) {
    s->methods_pos = ypos(v);
    if (ymap(d, v, "methods", 0)) return -1;
    for (int i = 0; i < ymap_len(v); i++) {
        yaml_node_t *k = ymap_key(d, v, i), *x = ymap_val(d, v, i);
        if (s->n_methods == SWEEP_MAX_METHODS)
            return yerr(d, k, "methods: too many entries (at most %d)", SWEEP_MAX_METHODS);
        SweepMethod *m = &s->methods[s->n_methods];
        memset(m, 0, sizeof *m);
        if (method_(d, k, "methods", &m->kind, m->variant)) return -1;
        m->pos = ypos(k);
        char what[96];
        snprintf(what, sizeof what, "methods.%s", ykey(k));
        if (sweep_keys_read(d, x, what, 1u << m->kind, &m->keys)) return -1;
        s->n_methods++;
    }
    return 0;
}

static int when_(SweepDoc *d, yaml_node_t *v, SweepOverride *o) {
    static const char *const KEYS[] = {"setting", "dataset", "method", "seed", "shots", NULL};
    char b[96];
    if (ymap(d, v, "overrides.when", 0)) return -1;
    for (int i = 0; i < ymap_len(v); i++) {
        yaml_node_t *k = ymap_key(d, v, i), *x = ymap_val(d, v, i), *items[SWEEP_MAX_ITEMS];
        const char *key = ykey(k);
        int n = 0, rc = 0;
        if (!strcmp(key, "seed")) rc = int_axis_(d, x, "when.seed", 0, o->seeds, &o->n_seeds);
        else if (!strcmp(key, "shots"))
            rc = int_axis_(d, x, "when.shots", 0, o->shots, &o->n_shots);
        else if (!strcmp(key, "setting")) {
            rc = yitems(d, x, "when.setting", 4, items, &n);
            for (int j = 0; !rc && j < n; j++) rc = setting_(d, items[j], o->settings[j]);
            o->n_settings = n;
        } else if (!strcmp(key, "dataset")) {
            rc = yitems(d, x, "when.dataset", SWEEP_MAX_ITEMS, items, &n);
            for (int j = 0; !rc && j < n; j++)
                rc = dataset_(d, items[j], "when.dataset", o->datasets[j]);
            o->n_datasets = n;
        } else if (!strcmp(key, "method")) {
            rc = yitems(d, x, "when.method", METHOD_COUNT, items, &n);
            for (int j = 0; !rc && j < n; j++)
                rc = method_(d, items[j], "when.method", &o->methods[j], NULL);
            o->n_methods = n;
        } else
            return yerr(d, k, "overrides.when: unknown key '%s'%s; known keys: setting, dataset, "
                        "method, seed, shots", key, ysuggest(key, KEYS, b, sizeof b));
        if (rc) return -1;
    }
    return 0;
}

/* the methods an override can touch: those of its `when`, else every method of the sweep */
static unsigned override_mask_(const Sweep *s, const SweepOverride *o) {
    unsigned mask = 0;
    for (int i = 0; i < o->n_methods; i++) mask |= 1u << o->methods[i];
    if (!mask)
        for (int i = 0; i < s->n_methods; i++) mask |= 1u << s->methods[i].kind;
    return mask;
}

static int override_(SweepDoc *d, yaml_node_t *v, Sweep *s, SweepOverride *o) {
    static const char *const KEYS[] = {"when", "set", NULL};
    char b[96];
    yaml_node_t *when = NULL, *set = NULL;
    memset(o, 0, sizeof *o);
    o->pos = ypos(v);
    if (ymap(d, v, "overrides", 0)) return -1;
    for (int i = 0; i < ymap_len(v); i++) {
        yaml_node_t *k = ymap_key(d, v, i);
        if (!strcmp(ykey(k), "when")) when = ymap_val(d, v, i);
        else if (!strcmp(ykey(k), "set")) set = ymap_val(d, v, i);
        else
            return yerr(d, k, "overrides: unknown key '%s'%s; an override is {when: {…}, set: {…}}",
                        ykey(k), ysuggest(ykey(k), KEYS, b, sizeof b));
    }
    if (!set) return yerr(d, v, "overrides: missing key 'set' (what the override changes)");
    if (when && when_(d, when, o)) return -1;
    for (int i = 0; i < o->n_methods; i++) {
        int found = 0;
        for (int j = 0; j < s->n_methods; j++) found |= s->methods[j].kind == o->methods[i];
        if (!found)
            return yerr(d, when, "overrides.when: method '%s' is not among this sweep's methods",
                        method_name(o->methods[i]));
    }
    if (ymap(d, set, "overrides.set", 0)) return -1;
    if (!ymap_len(set)) return yerr(d, set, "overrides.set: empty (nothing to change)");
    return sweep_keys_read(d, set, "overrides.set", override_mask_(s, o), &o->set);
}

static int overrides_(SweepDoc *d, yaml_node_t *v, Sweep *s) {
    char b[96];
    if (v->type != YAML_SEQUENCE_NODE)
        return yerr(d, v, "overrides: expected a list of {when: …, set: …}, found %s",
                    ydescribe(v, b, sizeof b));
    int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    s->overrides = cg_calloc((size_t)n + 1, sizeof *s->overrides);
    for (int i = 0; i < n; i++) {
        if (override_(d, ynode(d, v->data.sequence.items.start[i]), s, &s->overrides[i])) return -1;
        s->n_overrides++;
    }
    return 0;
}

/* ---- the top level ------------------------------------------------------------------------ */

static int top_key_(SweepDoc *d, yaml_node_t *k, yaml_node_t *v, Sweep *s) {
    const char *key = ykey(k);
    char b[96];
    if (!strcmp(key, "name")) {
        if (ystring(d, v, "name", s->name, sizeof s->name)) return -1;
        if (!name_ok_(s->name))
            return yerr(d, v, "name: '%s' may hold only letters, digits, '-', '_' and '.'", s->name);
        return 0;
    }
    if (!strcmp(key, "model")) return model_(d, v, s);
    if (!strcmp(key, "data")) return data_(d, v, s);
    if (!strcmp(key, "output")) return ystrdup(d, v, "output", &s->output);
    if (!strcmp(key, "setting")) return settings_(d, v, s);
    if (!strcmp(key, "shots")) {
        s->shots_pos = ypos(v);
        return int_axis_(d, v, "shots", 0, s->shots, &s->n_shots);
    }
    if (!strcmp(key, "seeds")) {
        s->seeds_pos = ypos(v);
        return int_axis_(d, v, "seeds", 0, s->seeds, &s->n_seeds);
    }
    if (!strcmp(key, "datasets")) return datasets_(d, v, s);
    if (!strcmp(key, "methods")) return methods_(d, v, s);
    if (!strcmp(key, "overrides")) return 0;  /* read after the methods */
    if (!strcmp(key, "ranks")) return yint(d, v, "ranks", 1, 65536, &s->ranks);
    if (!strcmp(key, "threads")) return yint(d, v, "threads", 0, 4096, &s->threads);
    if (!strcmp(key, "loader_threads"))
        return yint(d, v, "loader_threads", 1, 256, &s->loader_threads);
    if (!strcmp(key, "sweep_seed")) return yu64(d, v, "sweep_seed", &s->sweep_seed);
    if (!strcmp(key, "precision"))
        return ystring(d, v, "precision", s->precision, sizeof s->precision) ||
               sweep_key_one_of(d, v, "precision", s->precision) ? -1 : 0;
    return yerr(d, k, "unknown key '%s'%s; known keys: name, model, data, output, setting, shots, "
                "seeds, datasets, methods, overrides, ranks, threads, loader_threads, sweep_seed, "
                "precision",
                key, ysuggest(key, TOP_KEYS, b, sizeof b));
}

static int required_(SweepDoc *d, yaml_node_t *root, const Sweep *s) {
    const char *miss = !s->name[0] ? "name" : !s->weights ? "model" : !s->data_root ? "data"
                     : !s->n_settings ? "setting" : !s->datasets_pos.line ? "datasets"
                     : !s->methods_pos.line ? "methods" : NULL;
    if (miss) return yerr(d, root, "missing key '%s'", miss);
    return 0;
}

static int parse_(SweepDoc *d, Sweep *s) {
    yaml_node_t *root = ydoc_root(d), *ov = NULL;
    if (ymap(d, root, "sweep file", 0)) return -1;
    /* data first: its folder datasets are names the datasets list may use */
    for (int i = 0; i < ymap_len(root); i++)
        if (!strcmp(ykey(ymap_key(d, root, i)), "data") &&
            top_key_(d, ymap_key(d, root, i), ymap_val(d, root, i), s))
            return -1;
    for (int i = 0; i < ymap_len(root); i++) {
        yaml_node_t *k = ymap_key(d, root, i);
        if (!strcmp(ykey(k), "data")) continue;
        if (!strcmp(ykey(k), "overrides")) ov = ymap_val(d, root, i);
        if (top_key_(d, k, ymap_val(d, root, i), s)) return -1;
    }
    if (required_(d, root, s)) return -1;
    if (ov && overrides_(d, ov, s)) return -1;
    return 0;
}

static void defaults_(Sweep *s) {
    s->ranks = 1;
    s->loader_threads = 2;
    s->n_shots = 1;
    s->shots[0] = 16;
    s->n_seeds = 3;
    for (int i = 0; i < 3; i++) s->seeds[i] = i + 1;
}

int sweep_load(Sweep *s, const char *path) {
    memset(s, 0, sizeof *s);
    clip_arch_hints_clear(&s->arch_hints);
    if (sweep_key_count() > SWEEP_MAX_KEYS)
        cg_fatal("method_keys() has %d entries; runner/sweep.h SWEEP_MAX_KEYS is %d",
                 sweep_key_count(), SWEEP_MAX_KEYS);
    defaults_(s);
    s->path = cg_strdup(path);
    SweepDoc d;
    int rc = ydoc_load(&d, path);
    if (!rc) rc = parse_(&d, s);
    if (!rc && !s->output) {
        s->output = cg_malloc(strlen(s->name) + 8);
        sprintf(s->output, "out/%s", s->name);
    }
    if (!rc && !s->vocab) s->vocab = cg_strdup(cli_default_vocab());
    if (!rc) rc = sweep_expand(s);
    if (!rc) clip_arch_hints_set(&s->arch_hints);  /* one model per sweep: every weights open */
    ydoc_free(&d);
    return rc;
}

void sweep_free(Sweep *s) {
    free(s->path);
    free(s->weights);
    free(s->vocab);
    free(s->data_root);
    free(s->fewshot_dir);
    free(s->output);
    free(s->overrides);
    free(s->cells);
    memset(s, 0, sizeof *s);
}

/* ---- checks that need the file system ----------------------------------------------------- */

static int file_err_(const Sweep *s, SweepPos p, const char *what, const char *file) {
    cg_error_set("%s:%d:%d: %s: cannot read '%s': %s", s->path, p.line, p.col, what, file,
                 strerror(errno));
    return -1;
}

int sweep_check_files(const Sweep *s) {
    struct stat st;
    if (access(s->weights, R_OK) || stat(s->weights, &st))
        return file_err_(s, s->weights_pos, "model.weights", s->weights);
    if (S_ISDIR(st.st_mode)) {
        cg_error_set("%s:%d:%d: model.weights: '%s' is a folder, expected a .safetensors file",
                     s->path, s->weights_pos.line, s->weights_pos.col, s->weights);
        return -1;
    }
    if (s->vocab_pos.line && access(s->vocab, R_OK))
        return file_err_(s, s->vocab_pos, "model.vocab", s->vocab);
    if (access(s->vocab, R_OK)) {
        cg_error_set("%s:%d:%d: model: the default CLIP vocabulary '%s' is not readable (%s); "
                     "give model.vocab or set CLIPGRID_VOCAB", s->path, s->model_pos.line,
                     s->model_pos.col, s->vocab, strerror(errno));
        return -1;
    }
    return 0;
}

int sweep_check_data(const Sweep *s) {
    struct stat st;
    if (stat(s->data_root, &st) || !S_ISDIR(st.st_mode)) {
        if (!errno) errno = ENOTDIR;
        return file_err_(s, s->data_pos, "data.root", s->data_root);
    }
    for (int i = 0; i < s->n_datasets; i++) {
        char *dir = cg_path_join(s->data_root, dataset_dirname(s->datasets[i]));
        int bad = stat(dir, &st) || !S_ISDIR(st.st_mode);
        if (bad) {
            cg_error_set("%s:%d:%d: datasets: no folder '%s' for dataset %s under data.root",
                         s->path, s->dataset_pos[i].line, s->dataset_pos[i].col, dir,
                         s->datasets[i]);
            free(dir);
            return -1;
        }
        free(dir);
    }
    return 0;
}
