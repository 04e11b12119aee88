/* results/export.c — rows of runs (or of per-class accuracies) as CSV or JSON lines, built as
 * jansson objects (keys in order) and printed; see export.h. */
#include "results/select.h"
#include "results/export.h"

#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/h5read.h"
#include "results/run_file.h"

static json_t *num(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *run_object(const RunIndexRow *r) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "group", json_string(r->group));
    json_object_set_new(o, "sweep", json_string(r->sweep));
    json_object_set_new(o, "setting", json_string(r->setting));
    json_object_set_new(o, "dataset", json_string(r->dataset));
    json_object_set_new(o, "method", json_string(r->method));
    json_object_set_new(o, "variant", json_string(r->variant));
    json_object_set_new(o, "seed", json_integer(r->seed));
    json_object_set_new(o, "shots", json_integer(r->shots));
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "error", json_string(r->error));
    json_object_set_new(o, "host", json_string(r->host));
    json_object_set_new(o, "ranks", json_integer(r->ranks));
    json_object_set_new(o, "device", json_string(r->device));
    json_object_set_new(o, "start_time", num(r->start_time));
    json_object_set_new(o, "end_time", num(r->end_time));
    json_object_set_new(o, "wall_seconds", num(r->wall_seconds));
    json_object_set_new(o, "train_seconds", num(r->train_seconds));
    json_object_set_new(o, "eval_seconds", num(r->eval_seconds));
    json_object_set_new(o, "cost_estimate", num(r->cost_estimate));
    json_object_set_new(o, "n_params", json_integer(r->n_params));
    json_object_set_new(o, "steps", json_integer(r->steps));
    json_object_set_new(o, "epochs", json_integer(r->epochs));
    json_object_set_new(o, "n_evals", json_integer(r->n_evals));
    json_object_set_new(o, "base", num(r->base));
    json_object_set_new(o, "new", num(r->new_acc));
    json_object_set_new(o, "hm", num(r->hm));
    json_object_set_new(o, "accuracy", num(r->accuracy));
    return o;
}

/* cfg_<key> for the scalar top-level values of the run's config JSON */
static void add_config(json_t *o, hid_t f, const char *group) {
    char *text = h5r_attr_string(f, group, "config");
    if (!text) return;
    json_t *cfg = json_loads(text, 0, NULL);
    free(text);
    const char *key;
    json_t *v;
    json_object_foreach(cfg, key, v) {
        char name[160];
        snprintf(name, sizeof name, "cfg_%s", key);
        if (json_is_object(v)) continue;
        if (json_is_array(v)) { /* e.g. rep_layers: as compact JSON text */
            char *s = json_dumps(v, JSON_COMPACT);
            json_object_set_new(o, name, json_string(s ? s : ""));
            free(s);
        } else {
            json_object_set(o, name, v);
        }
    }
    json_decref(cfg);
}

static void csv_text(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_value(FILE *f, const json_t *v) {
    if (!v || json_is_null(v)) return;
    if (json_is_string(v)) csv_text(f, json_string_value(v));
    else if (json_is_integer(v)) fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v)) fprintf(f, "%.17g", json_real_value(v));
    else if (json_is_true(v)) fputs("true", f);
    else if (json_is_false(v)) fputs("false", f);
}

/* rows (an array of objects) as CSV: the union of the keys, in first-seen order */
static void print_csv(FILE *out, json_t *rows) {
    json_t *keys = json_array(), *seen = json_object(), *row;
    size_t i;
    json_array_foreach(rows, i, row) {
        const char *k;
        json_t *v;
        json_object_foreach(row, k, v)
            if (!json_object_get(seen, k)) json_object_set_new(seen, k, json_true()), json_array_append_new(keys, json_string(k));
    }
    for (size_t k = 0; k < json_array_size(keys); k++) {
        if (k) fputc(',', out);
        csv_text(out, json_string_value(json_array_get(keys, k)));
    }
    fputc('\n', out);
    json_array_foreach(rows, i, row) {
        for (size_t k = 0; k < json_array_size(keys); k++) {
            if (k) fputc(',', out);
            csv_value(out, json_object_get(row, json_string_value(json_array_get(keys, k))));
        }
        fputc('\n', out);
    }
    json_decref(keys), json_decref(seen);
}

static void print_jsonl(FILE *out, json_t *rows) {
    json_t *row;
    size_t i;
    json_array_foreach(rows, i, row) {
        char *s = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fprintf(out, "%s\n", s ? s : "{}");
        free(s);
    }
}

/* one row per class of each evaluation set of run r */
static void class_rows(json_t *rows, hid_t f, const RunIndexRow *r) {
    char obj[256];
    snprintf(obj, sizeof obj, "%s/evals", r->group);
    int nl = 0;
    char **labels = h5r_attr_strings(f, obj, "order", &nl);
    for (int l = 0; l < nl; l++) {
        char grp[448];
        snprintf(grp, sizeof grp, "%.250s/evals/%.150s", r->group, labels[l]);
        char path[480];
        snprintf(path, sizeof path, "%s/per_class", grp);
        hid_t d = h5r_exists(f, path) ? H5Dopen2(f, path, H5P_DEFAULT) : -1;
        if (d < 0) continue;
        hid_t sp = H5Dget_space(d);
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        double *v = cg_malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
        int ok = n > 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
        H5Sclose(sp), H5Dclose(d);
        int nn = 0;
        char **names = ok ? h5r_attr_strings(f, grp, "class_names", &nn) : NULL;
        for (hssize_t k = 0; ok && k < n; k++) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_string(r->id));
            json_object_set_new(o, "setting", json_string(r->setting));
            json_object_set_new(o, "dataset", json_string(r->dataset));
            json_object_set_new(o, "method", json_string(r->method));
            json_object_set_new(o, "variant", json_string(r->variant));
            json_object_set_new(o, "seed", json_integer(r->seed));
            json_object_set_new(o, "shots", json_integer(r->shots));
            json_object_set_new(o, "label", json_string(labels[l]));
            json_object_set_new(o, "class_index", json_integer(k));
            json_object_set_new(o, "class_name", json_string(names && k < nn ? names[k] : ""));
            json_object_set_new(o, "accuracy", num(v[k]));
            json_array_append_new(rows, o);
        }
        h5r_free_strings(names, nn);
        free(v);
    }
    h5r_free_strings(labels, nl);
}

int results_export(FILE *out, const char *results_h5, const char *format, int per_class,
                   const char *sweep, int all) {
    int csv = !strcmp(format, "csv");
    if (!csv && strcmp(format, "jsonl"))
        return cg_error_set("unknown export format '%s' (csv or jsonl)", format), -1;
    ResultsIndex ix;
    if (results_index_read_sweep(results_h5, sweep, all, &ix) != 0) return -1;
    hid_t f = h5r_open(results_h5);
    if (f < 0) return results_index_free(&ix), -1;
    json_t *rows = json_array();
    for (int i = 0; i < ix.n_runs; i++) {
        const RunIndexRow *r = &ix.runs[i];
        if (per_class) {
            if (!strcmp(r->status, "done")) class_rows(rows, f, r);
            continue;
        }
        json_t *o = run_object(r);
        for (int e = 0; e < ix.n_evals; e++) {
            if (ix.evals[e].run != i) continue;
            char key[64];
            snprintf(key, sizeof key, "acc_%s", ix.evals[e].label);
            json_object_set_new(o, key, num(ix.evals[e].accuracy));
            snprintf(key, sizeof key, "f1_%s", ix.evals[e].label);
            json_object_set_new(o, key, num(ix.evals[e].macro_f1));
        }
        add_config(o, f, r->group);
        json_array_append_new(rows, o);
    }
    if (csv) print_csv(out, rows);
    else print_jsonl(out, rows);
    json_decref(rows);
    h5r_close(f);
    results_index_free(&ix);
    return 0;
}
