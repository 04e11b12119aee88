/* runner/run_key.c — computing the run keys of a sweep's cells (runner/run_key.h): the weights'
 * and vocabulary's digests, the digests of the item lists of every distinct (setting, dataset,
 * shots, seed) from run_prepare, and the digest of each cell's key document. */
#include "runner/run_key.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/train/train.h"
#include "base/util.h"
#include "runner/digest.h"

static int run_keys_compute_(Sweep *s, const char *out_dir, int no_data);

int run_key_trains(const SweepCell *c) { return method_at(c->method)->trains; }

/* a file name relative to the dataset's folder (the key must not depend on data.root) */
static const char *rel_(const Dataset *d, const char *path) {
    size_t n = d->dir ? strlen(d->dir) : 0;
    if (n && !strncmp(path, d->dir, n)) {
        path += n;
        while (*path == '/') path++;
    }
    return path;
}

static void add_classes_(Digest *g, const Dataset *d) {
    char line[64];
    snprintf(line, sizeof line, "classes %d", d->n_classes);
    digest_add_str(g, line);
    for (int i = 0; i < d->n_classes; i++) digest_add_str(g, d->classnames[i]);
}

static void add_split_(Digest *g, const Dataset *d, const DataSplit *sp) {
    char line[64];
    snprintf(line, sizeof line, "items %d", sp->n);
    digest_add_str(g, line);
    for (int i = 0; i < sp->n; i++) {
        const char *r = rel_(d, sp->items[i].path);
        snprintf(line, sizeof line, "\t%d", sp->items[i].label);
        digest_add(g, r, strlen(r));
        digest_add_str(g, line);
    }
}

/* the item digests of one (setting, dataset, shots, seed) */
typedef struct {
    char setting[32], dataset[32];
    int shots, seed;
    char train[65], eval[65];
    int n_train, short_classes;
} DataDigest;

static int short_classes_(const Dataset *d, int shots) {
    if (shots <= 0) return 0;
    int *count = cg_calloc((size_t)d->n_classes + 1, sizeof(int)), n = 0;
    for (int i = 0; i < d->train.n; i++)
        if (d->train.items[i].label >= 0 && d->train.items[i].label < d->n_classes)
            count[d->train.items[i].label]++;
    for (int k = 0; k < d->n_classes; k++) n += count[k] < shots;
    free(count);
    return n;
}

/* the items the run will use: the same preparation as run_cell's (Dassl caches of
 * data.fewshot_dir, the sweep's extra transfer targets) */
static int data_digest_(DataDigest *dd, const Sweep *s) {
    RunData rd;
    if (run_prepare_with(&rd, dd->setting, dd->dataset, s->data_root, dd->shots, dd->seed,
                         s->fewshot_dir, s->extra_targets))
        return -1;
    Digest *g = digest_new();
    digest_add_str(g, rd.dataset);
    add_classes_(g, &rd.train);
    add_split_(g, &rd.train, &rd.train.train);
    digest_end(g, dd->train);
    dd->n_train = rd.train.train.n;
    dd->short_classes = short_classes_(&rd.train, dd->shots);
    g = digest_new();
    for (int i = 0; i < rd.n_evals; i++) {
        const EvalSet *e = &rd.evals[i];
        char line[96];
        snprintf(line, sizeof line, "eval %s %s mode %d", e->label, e->dataset, (int)e->mode);
        digest_add_str(g, line);
        add_classes_(g, &e->ds);
        add_split_(g, &e->ds, &e->ds.test);
    }
    digest_end(g, dd->eval);
    run_data_free(&rd);
    return 0;
}

static char *doc_(const Sweep *s, const SweepCell *c, int training_only);

char *run_key_document(const Sweep *s, const SweepCell *c) { return doc_(s, c, 0); }

/* training_only: what decides the trained parameters (no setting, no evaluation items) */
static char *doc_(const Sweep *s, const SweepCell *c, int training_only) {
    json_t *o = json_object();
    json_object_set_new(o, "numerics", json_integer(CLIPGRID_NUMERICS_VERSION));
    json_object_set_new(o, "method", json_string(method_name(c->method)));
    char *opt = sweep_cell_options_json(c);
    json_object_set_new(o, "options", json_loads(opt, 0, NULL));
    free(opt);
    if (!training_only) {
        json_object_set_new(o, "setting", json_string(c->setting));
        json_object_set_new(o, "dataset", json_string(c->dataset));
        json_object_set_new(o, "eval_items", json_string(c->eval_digest));
    } else json_object_set_new(o, "training", json_true());
    json_object_set_new(o, "weights", json_string(s->weights_digest));
    json_object_set_new(o, "vocab", json_string(s->vocab_digest));
    if (run_key_trains(c)) {
        char rs[32];
        snprintf(rs, sizeof rs, "%llu", (unsigned long long)c->run_seed);
        json_object_set_new(o, "seed", json_integer(c->seed));
        json_object_set_new(o, "shots", json_integer(c->shots));
        json_object_set_new(o, "run_seed", json_string(rs));
        json_object_set_new(o, "train_items", json_string(c->train_digest));
    }
    char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(o);
    char *out = cg_strdup(txt);
    free(txt);
    return out;
}

static int find_data_(DataDigest *dd, int n, const SweepCell *c) {
    for (int i = 0; i < n; i++)
        if (!strcmp(dd[i].setting, c->setting) && !strcmp(dd[i].dataset, c->dataset) &&
            dd[i].shots == c->shots && dd[i].seed == c->seed)
            return i;
    return -1;
}

int run_keys_compute(Sweep *s, const char *out_dir, int no_data) {
    dataset_set_image_checks(0);  /* the preflight has stat'ed them (or --quick skipped it) */
    int rc = run_keys_compute_(s, out_dir, no_data);
    dataset_set_image_checks(1);
    return rc;
}

static int run_keys_compute_(Sweep *s, const char *out_dir, int no_data) {
    char *cache = out_dir ? cg_path_join(out_dir, "cache") : NULL;
    int rc = digest_file_cached(cache, s->weights, s->weights_digest, NULL);
    if (!rc) rc = digest_file_cached(cache, s->vocab, s->vocab_digest, NULL);
    free(cache);
    if (rc) return -1;
    DataDigest *dd = cg_calloc((size_t)s->n_cells, sizeof *dd);
    int nd = 0;
    for (int i = 0; i < s->n_cells && !rc; i++) {
        SweepCell *c = &s->cells[i];
        int k = find_data_(dd, nd, c);
        if (k < 0) {
            DataDigest *d = &dd[k = nd++];
            snprintf(d->setting, sizeof d->setting, "%s", c->setting);
            snprintf(d->dataset, sizeof d->dataset, "%s", c->dataset);
            d->shots = c->shots, d->seed = c->seed;
            if (no_data) {
                char t[160];
                int xd = !strcmp(d->setting, "cross_dataset") ||
                         !strcmp(d->setting, "domain_generalization");
                snprintf(t, sizeof t, "nodata %s %s %d %d", xd ? "imagenet" : d->dataset,
                         !strcmp(d->setting, "base2new") ? "base" : "all", d->shots, d->seed);
                digest_bytes(t, strlen(t), d->train);
                snprintf(t, sizeof t, "nodata %s %s", d->setting, d->dataset);
                digest_bytes(t, strlen(t), d->eval);
            } else if (data_digest_(d, s)) {
                char msg[1024];
                snprintf(msg, sizeof msg, "%s", cg_error());
                cg_error_set("%s: the data of %s: %s", s->path, c->id, msg);
                rc = -1;
                break;
            }
        }
        memcpy(c->train_digest, dd[k].train, sizeof c->train_digest);
        memcpy(c->eval_digest, dd[k].eval, sizeof c->eval_digest);
        c->n_train = run_key_trains(c) ? dd[k].n_train : 0;
        c->short_classes = run_key_trains(c) ? dd[k].short_classes : 0;
        char *doc = run_key_document(s, c), hex[DIGEST_HEX];
        digest_bytes(doc, strlen(doc), hex);
        free(doc);
        snprintf(c->key, sizeof c->key, "%.*s", RUN_KEY_LEN, hex);
        c->tkey[0] = 0;
        if (run_key_trains(c)) {
            doc = doc_(s, c, 1);
            digest_bytes(doc, strlen(doc), hex);
            free(doc);
            snprintf(c->tkey, sizeof c->tkey, "%.*s", RUN_KEY_LEN, hex);
        }
        c->first = i;
        for (int j = 0; j < i; j++)
            if (!strcmp(s->cells[j].key, c->key)) {
                c->first = j;
                break;
            }
    }
    free(dd);
    return rc;
}
