/* results/run_read.c — reading runs back: one run file into an /index row and its /evals rows,
 * the compound types of those two tables (memory layout = RunIndexRow / RunEvalRow; file layout
 * packed), and the reader of results.h5's tables. Layout: SCHEMA.md. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/h5read.h"
#include "results/h5write.h"
#include "results/run_file.h"
#include "results/run_index.h"

/* ---- compound types ------------------------------------------------------------------------ */

#define STR(T, field) do { hid_t s_ = h5w_fixed_str(sizeof(((T *)0)->field)); \
        H5Tinsert(t, #field, HOFFSET(T, field), s_); H5Tclose(s_); } while (0)
#define STRN(T, name, field) do { hid_t s_ = h5w_fixed_str(sizeof(((T *)0)->field)); \
        H5Tinsert(t, name, HOFFSET(T, field), s_); H5Tclose(s_); } while (0)
#define NUM(T, field, ht) H5Tinsert(t, #field, HOFFSET(T, field), ht)

hid_t run_index_mem_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(RunIndexRow));
    STR(RunIndexRow, id);
    STR(RunIndexRow, key);
    STR(RunIndexRow, group);
    STR(RunIndexRow, sweep);
    STR(RunIndexRow, setting);
    STR(RunIndexRow, dataset);
    STR(RunIndexRow, method);
    STR(RunIndexRow, variant);
    NUM(RunIndexRow, seed, H5T_NATIVE_INT32);
    NUM(RunIndexRow, shots, H5T_NATIVE_INT32);
    STR(RunIndexRow, status);
    STR(RunIndexRow, error);
    STR(RunIndexRow, host);
    NUM(RunIndexRow, ranks, H5T_NATIVE_INT32);
    STR(RunIndexRow, device);
    NUM(RunIndexRow, start_time, H5T_NATIVE_DOUBLE);
    NUM(RunIndexRow, end_time, H5T_NATIVE_DOUBLE);
    NUM(RunIndexRow, wall_seconds, H5T_NATIVE_DOUBLE);
    NUM(RunIndexRow, train_seconds, H5T_NATIVE_DOUBLE);
    NUM(RunIndexRow, eval_seconds, H5T_NATIVE_DOUBLE);
    NUM(RunIndexRow, cost_estimate, H5T_NATIVE_DOUBLE);
    NUM(RunIndexRow, n_params, H5T_NATIVE_INT64);
    NUM(RunIndexRow, steps, H5T_NATIVE_INT64);
    NUM(RunIndexRow, epochs, H5T_NATIVE_INT32);
    NUM(RunIndexRow, n_evals, H5T_NATIVE_INT32);
    NUM(RunIndexRow, base, H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "new", HOFFSET(RunIndexRow, new_acc), H5T_NATIVE_DOUBLE);
    NUM(RunIndexRow, hm, H5T_NATIVE_DOUBLE);
    NUM(RunIndexRow, accuracy, H5T_NATIVE_DOUBLE);
    return t;
}

hid_t run_eval_mem_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(RunEvalRow));
    NUM(RunEvalRow, run, H5T_NATIVE_INT32);
    STR(RunEvalRow, id);
    STR(RunEvalRow, setting);
    STR(RunEvalRow, dataset);
    STR(RunEvalRow, method);
    STR(RunEvalRow, variant);
    NUM(RunEvalRow, seed, H5T_NATIVE_INT32);
    NUM(RunEvalRow, shots, H5T_NATIVE_INT32);
    STR(RunEvalRow, label);
    STR(RunEvalRow, eval_dataset);
    NUM(RunEvalRow, accuracy, H5T_NATIVE_DOUBLE);
    NUM(RunEvalRow, macro_f1, H5T_NATIVE_DOUBLE);
    NUM(RunEvalRow, correct, H5T_NATIVE_INT64);
    NUM(RunEvalRow, total, H5T_NATIVE_INT64);
    NUM(RunEvalRow, n_classes, H5T_NATIVE_INT32);
    return t;
}

hid_t run_table_file_type(hid_t mem_type) {
    hid_t t = H5Tcopy(mem_type);
    H5Tpack(t);
    return t;
}

/* ---- one run file ---------------------------------------------------------------------------- */

/* string attribute into a fixed field; missing → "" (and −1 when required) */
static int attr_str(hid_t f, const char *obj, const char *name, char *dst, size_t cap, int required) {
    char *s = h5r_attr_string(f, obj, name);
    h5w_copy_utf8(dst, cap, s ? s : "");
    free(s);
    return s || !required ? 0 : -1;
}

static int attr_num(hid_t f, const char *obj, const char *name, double *v, int required) {
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) <= 0) {
        *v = NAN;
        if (required) cg_error_set("no attribute %s of %s", name, obj);
        return required ? -1 : 0;
    }
    return h5r_attr_double(f, obj, name, v);
}

/* a number attribute as an integer field: NaN (absent) gives `absent`, values out of the field's
 * range are clamped (a damaged file must not make the conversion undefined) */
static int64_t to_int(double v, int64_t absent, int64_t lo, int64_t hi) {
    if (isnan(v)) return absent;
    return v <= (double)lo ? lo : v >= (double)hi ? hi : (int64_t)v;
}
#define TO_I32(v, absent) ((int32_t)to_int((v), (absent), INT32_MIN, INT32_MAX))
#define TO_I64(v, absent) to_int((v), (absent), INT64_MIN, INT64_MAX)

static int read_meta(hid_t f, RunIndexRow *r) {
    int rc = 0;
    double v[14];
    rc |= attr_str(f, "/", "id", r->id, sizeof r->id, 1);
    rc |= attr_str(f, "/", "sweep", r->sweep, sizeof r->sweep, 0);
    rc |= attr_str(f, "/", "key", r->key, sizeof r->key, 0);
    rc |= attr_str(f, "/", "setting", r->setting, sizeof r->setting, 1);
    rc |= attr_str(f, "/", "dataset", r->dataset, sizeof r->dataset, 1);
    rc |= attr_str(f, "/", "method", r->method, sizeof r->method, 1);
    rc |= attr_str(f, "/", "variant", r->variant, sizeof r->variant, 0);
    rc |= attr_str(f, "/", "status", r->status, sizeof r->status, 1);
    rc |= attr_str(f, "/", "error", r->error, sizeof r->error, 0);
    rc |= attr_str(f, "/", "host", r->host, sizeof r->host, 0);
    rc |= attr_str(f, "/", "device", r->device, sizeof r->device, 0);
    rc |= attr_num(f, "/", "seed", &v[0], 1);
    rc |= attr_num(f, "/", "shots", &v[1], 1);
    rc |= attr_num(f, "/", "ranks", &v[2], 0);
    rc |= attr_num(f, "/", "start_time", &v[3], 0);
    rc |= attr_num(f, "/", "end_time", &v[4], 0);
    rc |= attr_num(f, "/", "wall_seconds", &v[5], 0);
    rc |= attr_num(f, "/", "train_seconds", &v[6], 0);
    rc |= attr_num(f, "/", "eval_seconds", &v[7], 0);
    rc |= attr_num(f, "/", "cost_estimate", &v[8], 0);
    rc |= attr_num(f, "/", "n_params", &v[9], 0);
    rc |= attr_num(f, "/", "steps", &v[10], 0);
    rc |= attr_num(f, "/", "epochs", &v[11], 0);
    if (rc) return -1;
    r->seed = TO_I32(v[0], 0), r->shots = TO_I32(v[1], 0);
    r->ranks = TO_I32(v[2], 1);
    r->start_time = v[3], r->end_time = v[4], r->wall_seconds = v[5];
    r->train_seconds = v[6], r->eval_seconds = v[7], r->cost_estimate = v[8];
    r->n_params = TO_I64(v[9], 0);
    r->steps = TO_I64(v[10], 0);
    r->epochs = TO_I32(v[11], 0);
    if (strcmp(r->status, "done") && strcmp(r->status, "failed")) {
        cg_error_set("status is '%s' (expected done or failed)", r->status);
        return -1;
    }
    return 0;
}

static int read_eval(hid_t f, const char *group, const RunIndexRow *r, RunEvalRow *e) {
    memset(e, 0, sizeof *e);
    h5w_copy_utf8(e->id, sizeof e->id, r->id);
    h5w_copy_utf8(e->setting, sizeof e->setting, r->setting);
    h5w_copy_utf8(e->dataset, sizeof e->dataset, r->dataset);
    h5w_copy_utf8(e->method, sizeof e->method, r->method);
    h5w_copy_utf8(e->variant, sizeof e->variant, r->variant);
    e->seed = r->seed, e->shots = r->shots;
    double v[5];
    int rc = 0;
    rc |= attr_str(f, group, "label", e->label, sizeof e->label, 1);
    rc |= attr_str(f, group, "dataset", e->eval_dataset, sizeof e->eval_dataset, 0);
    rc |= attr_num(f, group, "accuracy", &v[0], 1);
    rc |= attr_num(f, group, "macro_f1", &v[1], 0);
    rc |= attr_num(f, group, "correct", &v[2], 0);
    rc |= attr_num(f, group, "total", &v[3], 0);
    rc |= attr_num(f, group, "n_classes", &v[4], 0);
    e->accuracy = v[0], e->macro_f1 = v[1];
    e->correct = TO_I64(v[2], 0);
    e->total = TO_I64(v[3], 0);
    e->n_classes = TO_I32(v[4], 0);
    return rc ? -1 : 0;
}

/* the summary columns of /index from the evaluation rows */
static void summarize(RunIndexRow *r, const RunEvalRow *ev, int n) {
    r->base = r->new_acc = r->hm = r->accuracy = NAN;
    for (int i = 0; i < n; i++) {
        if (!strcmp(ev[i].label, "base")) r->base = ev[i].accuracy;
        else if (!strcmp(ev[i].label, "new")) r->new_acc = ev[i].accuracy;
        else if (!strcmp(ev[i].label, "test") || !strcmp(ev[i].label, r->dataset))
            r->accuracy = ev[i].accuracy;
    }
    if (!isnan(r->base) && !isnan(r->new_acc))
        r->hm = r->base + r->new_acc > 0 ? 2 * r->base * r->new_acc / (r->base + r->new_acc) : 0;
}

static void group_of(char *dst, size_t cap, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 3 && !strcmp(base + n - 3, ".h5")) n -= 3;
    snprintf(dst, cap, "/runs/%.*s", (int)n, base);
}

int run_file_read(const char *path, RunIndexRow *row, RunEvalRow **evals, int *n_evals) {
    memset(row, 0, sizeof *row);
    *evals = NULL, *n_evals = 0;
    hid_t f = h5w_open_ro(path);
    if (f < 0) return -1;
    int rc = read_meta(f, row);
    int n = 0;
    char **order = NULL;
    if (!rc) {
        order = h5r_attr_strings(f, "/evals", "order", &n);
        if (!order) rc = -1;
    }
    RunEvalRow *ev = cg_calloc((size_t)(n > 0 ? n : 1), sizeof *ev);
    for (int i = 0; !rc && i < n; i++) {
        char g[96];
        snprintf(g, sizeof g, "/evals/%s", order[i]);
        rc = read_eval(f, g, row, &ev[i]);
    }
    h5r_free_strings(order, n);
    H5Fclose(f);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s: not a valid clipgrid run file: %s", path, cg_error());
        cg_error_set("%s", msg);
        free(ev);
        return -1;
    }
    group_of(row->group, sizeof row->group, path);
    row->n_evals = n;
    summarize(row, ev, n);
    *evals = ev, *n_evals = n;
    return 0;
}

/* ---- results.h5 tables ----------------------------------------------------------------------- */

/* rows of a table: far above any sweep, and a bound on what a damaged dataspace can make the
 * reader allocate */
#define MAX_TABLE_ROWS (1 << 22)

static void *read_table(hid_t f, const char *path, hid_t mt, size_t esz, int *n) {
    *n = 0;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) return NULL;
    hid_t sp = H5Dget_space(d);
    hssize_t cnt = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (cnt < 0 || cnt > MAX_TABLE_ROWS) {
        if (sp >= 0) H5Sclose(sp);
        H5Dclose(d);
        return NULL;
    }
    void *buf = cg_calloc((size_t)(cnt > 0 ? cnt : 1), esz);
    herr_t st = cnt > 0 ? H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : 0;
    H5Sclose(sp), H5Dclose(d);
    if (st < 0) { free(buf); return NULL; }
    *n = (int)cnt;
    return buf;
}

/* HDF5 copies a fixed-length string field as the file holds it when the file's type is the
 * memory type: a damaged file can leave a field without its NUL */
#define TERM(field) ((field)[sizeof(field) - 1] = 0)
static void terminate_index_row(RunIndexRow *r) {
    TERM(r->id), TERM(r->group), TERM(r->sweep), TERM(r->setting), TERM(r->dataset);
    TERM(r->method), TERM(r->variant), TERM(r->status), TERM(r->error), TERM(r->host);
    TERM(r->device);
}
static void terminate_eval_row(RunEvalRow *e) {
    TERM(e->id), TERM(e->setting), TERM(e->dataset), TERM(e->method), TERM(e->variant);
    TERM(e->label), TERM(e->eval_dataset);
}

int results_index_read(const char *results_h5, ResultsIndex *ix) {
    memset(ix, 0, sizeof *ix);
    hid_t f = h5w_open_ro(results_h5);
    if (f < 0) return -1;
    hid_t mi = run_index_mem_type(), me = run_eval_mem_type();
    ix->runs = read_table(f, "/index", mi, sizeof(RunIndexRow), &ix->n_runs);
    if (ix->runs) ix->evals = read_table(f, "/evals", me, sizeof(RunEvalRow), &ix->n_evals);
    for (int i = 0; ix->runs && i < ix->n_runs; i++) terminate_index_row(&ix->runs[i]);
    for (int i = 0; ix->evals && i < ix->n_evals; i++) terminate_eval_row(&ix->evals[i]);
    H5Tclose(mi), H5Tclose(me);
    H5Fclose(f);
    if (!ix->runs || !ix->evals) {
        cg_error_set("%s: no readable /index and /evals tables (not a clipgrid results file?)",
                     results_h5);
        results_index_free(ix);
        return -1;
    }
    return 0;
}

void results_index_free(ResultsIndex *ix) {
    free(ix->runs), free(ix->evals);
    memset(ix, 0, sizeof *ix);
}
