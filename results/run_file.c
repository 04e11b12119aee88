/* results/run_file.c — one run's HDF5 file: its name, the atomic write (temporary name, fsync,
 * rename) and the "is this run finished" test the runner's resume relies on. Layout: SCHEMA.md. */
#include "results/run_file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "results/h5read.h"
#include "results/h5write.h"

char *run_file_name(const char *id) {
    size_t n = strlen(id);
    char *s = cg_malloc(n + 4);
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-' || c == '+' || c == '=';
        s[i] = ok ? c : '_';
    }
    if (n && s[0] == '.') s[0] = '_';
    memcpy(s + n, ".h5", 4);
    return s;
}

/* OUT/runs/<name> (name may carry a prefix/suffix); caller frees */
static char *runs_path(const char *out_dir, const char *prefix, const char *name, const char *suffix) {
    size_t n = strlen(out_dir) + strlen(prefix) + strlen(name) + strlen(suffix) + 8;
    char *p = cg_malloc(n);
    snprintf(p, n, "%s/runs/%s%s%s", out_dir, prefix, name, suffix);
    return p;
}

static int make_dir(const char *path) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    cg_error_set("%s: cannot create directory (%s)", path, strerror(errno));
    return -1;
}

/* flush a file's or directory's content to disk; 0 or −1 */
static int sync_path(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static const char *status_name(TrainStatus s) {
    return s == TRAIN_DONE ? "done" : s == TRAIN_FAILED ? "failed" : "stopped";
}

static int write_meta(hid_t f, const RunMeta *m, const TrainResult *r) {
    int rc = 0;
    rc |= h5w_attr_i32(f, "schema_version", RESULTS_SCHEMA_VERSION);
    rc |= h5w_attr_str(f, "id", m->id);
    rc |= h5w_attr_str(f, "sweep", m->sweep);
    rc |= h5w_attr_str(f, "setting", m->setting);
    rc |= h5w_attr_str(f, "dataset", m->dataset);
    rc |= h5w_attr_str(f, "method", m->method);
    rc |= h5w_attr_str(f, "variant", m->variant);
    rc |= h5w_attr_i32(f, "seed", m->seed);
    rc |= h5w_attr_i32(f, "shots", m->shots);
    rc |= h5w_attr_str(f, "fewshot_source", m->fewshot_source[0] ? m->fewshot_source : "sampled");
    rc |= h5w_attr_str(f, "fewshot_sha256", m->fewshot_sha256);
    rc |= h5w_attr_str(f, "status", status_name(r->status));
    rc |= h5w_attr_str(f, "error", r->status == TRAIN_FAILED ? r->error : "");
    rc |= h5w_attr_str(f, "host", m->host);
    rc |= h5w_attr_i32(f, "ranks", m->ranks);
    rc |= h5w_attr_str(f, "device", m->device);
    rc |= h5w_attr_str(f, "config", m->config_json ? m->config_json : "{}");
    rc |= h5w_attr_f64(f, "start_time", m->start_time);
    rc |= h5w_attr_f64(f, "end_time", m->end_time);
    rc |= h5w_attr_f64(f, "wall_seconds", m->end_time - m->start_time + m->prior_wall);
    rc |= h5w_attr_f64(f, "train_seconds", r->train_seconds + m->prior_train);
    rc |= h5w_attr_f64(f, "eval_seconds", r->eval_seconds);
    rc |= h5w_attr_f64(f, "cost_estimate", m->cost_estimate);
    rc |= h5w_attr_i64(f, "n_params", (int64_t)r->n_params);
    rc |= h5w_attr_i64(f, "steps", (int64_t)r->steps);
    rc |= h5w_attr_i32(f, "epochs", r->epochs);
    rc |= h5w_attr_str(f, "key", m->key);
    rc |= h5w_attr_str(f, "key_document", m->key_document ? m->key_document : "");
    rc |= h5w_attr_str(f, "weights_sha256", m->weights_sha256);
    rc |= h5w_attr_str(f, "vocab_sha256", m->vocab_sha256);
    rc |= h5w_attr_str(f, "train_items_sha256", m->train_items);
    rc |= h5w_attr_str(f, "eval_items_sha256", m->eval_items);
    rc |= h5w_attr_str(f, "program_version", m->version);
    rc |= h5w_attr_i32(f, "numerics_version", m->numerics);
    rc |= h5w_attr_i64(f, "n_train_images", (int64_t)m->n_train);
    rc |= h5w_attr_i32(f, "short_classes", m->short_classes);
    rc |= h5w_attr_f64(f, "segments_wall_seconds", m->prior_wall);
    rc |= h5w_attr_str(f, "training_key", m->tkey);
    rc |= h5w_attr_str(f, "params_file", m->params);
    rc |= h5w_attr_i32(f, "evaluated_from_saved_params", m->from_saved);
    return rc ? -1 : 0;
}

static int write_curves(hid_t f, const TrainResult *r) {
    hid_t g = H5Gcreate2(f, "curves", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return -1;
    size_t n = r->epochs > 0 ? (size_t)r->epochs : 0;
    const char *names[4] = {"loss", "accuracy", "lr", "time"};
    const double *curves[4] = {r->loss_curve, r->acc_curve, r->lr_curve, r->time_curve};
    double *nans = cg_malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) nans[i] = NAN;
    int rc = 0;
    for (int c = 0; c < 4; c++) rc |= h5w_dataset_f64(g, names[c], curves[c] ? curves[c] : nans, n);
    free(nans);
    H5Gclose(g);
    return rc ? -1 : 0;
}

/* an HDF5 link name from an evaluation label ('/' and '.'-only names are not allowed) */
static void eval_group_name(char *dst, size_t cap, const char *label, int index) {
    h5w_copy_utf8(dst, cap, label);
    for (char *p = dst; *p; p++)
        if (*p == '/') *p = '_';
    if (!dst[0] || !strcmp(dst, ".")) snprintf(dst, cap, "eval%d", index);
}

static int write_evals(hid_t f, const TrainResult *r) {
    hid_t g = H5Gcreate2(f, "evals", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return -1;
    int rc = 0;
    const char *order[CG_MAX_EVALS];
    char names[CG_MAX_EVALS][40];
    for (int i = 0; i < r->n_evals && i < CG_MAX_EVALS; i++) {
        const EvalResult *e = &r->evals[i];
        eval_group_name(names[i], sizeof names[i], e->label, i);
        for (int j = 0; j < i; j++) /* two sets with one label: keep both */
            if (!strcmp(names[i], names[j])) snprintf(names[i], sizeof names[i], "eval%d", i);
        order[i] = names[i];
        hid_t eg = H5Gcreate2(g, names[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (eg < 0) { rc = -1; break; }
        rc |= h5w_attr_str(eg, "label", e->label);
        rc |= h5w_attr_str(eg, "dataset", e->dataset);
        rc |= h5w_attr_i32(eg, "order", i);
        rc |= h5w_attr_f64(eg, "accuracy", e->accuracy);
        rc |= h5w_attr_i64(eg, "correct", e->correct);
        rc |= h5w_attr_i64(eg, "total", e->total);
        rc |= h5w_attr_f64(eg, "macro_f1", e->macro_f1);
        rc |= h5w_attr_i32(eg, "n_classes", e->n_classes);
        size_t nc = e->n_classes > 0 && e->per_class ? (size_t)e->n_classes : 0;
        rc |= h5w_dataset_f64(eg, "per_class", e->per_class, nc);
        if (e->class_names && e->n_classes > 0)
            rc |= h5w_attr_strs(eg, "class_names", (const char *const *)e->class_names, e->n_classes);
        H5Gclose(eg);
    }
    if (!rc) rc = h5w_attr_strs(g, "order", order, r->n_evals < CG_MAX_EVALS ? r->n_evals : CG_MAX_EVALS);
    H5Gclose(g);
    return rc ? -1 : 0;
}

static int write_file(const char *path, const RunMeta *m, const TrainResult *r) {
    errno = 0; /* the system's reason for a failed write below (ENOSPC, EIO, …) */
    hid_t f = h5w_create_mem(path);
    if (f < 0) return -1;
    int rc = write_meta(f, m, r);
    if (!rc) rc = write_curves(f, r);
    if (!rc) rc = write_evals(f, r);
    if (h5w_close(f, path) != 0) rc = -1;
    if (rc) cg_error_set("%s: cannot write the run file (%s)", path,
                         errno ? strerror(errno) : cg_error());
    return rc;
}

int run_file_write(const char *out_dir, const RunMeta *meta, const TrainResult *res) {
    if (res->status != TRAIN_DONE && res->status != TRAIN_FAILED) {
        cg_error_set("run %s: only a finished run (done or failed) gets a run file", meta->id);
        return -1;
    }
    if (res->n_evals > CG_MAX_EVALS || res->n_evals < 0) {
        cg_error_set("run %s: %d evaluation sets (at most %d)", meta->id, res->n_evals, CG_MAX_EVALS);
        return -1;
    }
    char *runs = runs_path(out_dir, "", "", "");
    if (make_dir(out_dir) || make_dir(runs)) { free(runs); return -1; }
    char *name = run_file_name(meta->key[0] ? meta->key : meta->id);  /* runs/<key>.h5 */
    char *tmp = runs_path(out_dir, ".", name, ".tmp");
    char *final = runs_path(out_dir, "", name, "");
    int rc = write_file(tmp, meta, res);
    if (!rc && sync_path(tmp) != 0) {
        cg_error_set("%s: fsync failed (%s)", tmp, strerror(errno));
        rc = -1;
    }
    if (!rc && rename(tmp, final) != 0) {
        cg_error_set("cannot rename %s to %s (%s)", tmp, final, strerror(errno));
        rc = -1;
    }
    if (!rc) sync_path(runs); /* the rename itself reaches the disk */
    if (rc) unlink(tmp);
    free(runs), free(name), free(tmp), free(final);
    return rc;
}

int run_file_exists(const char *out_dir, const char *id, int *failed) {
    if (failed) *failed = 0;
    char *name = run_file_name(id);
    char *path = runs_path(out_dir, "", name, "");
    free(name);
    struct stat st;
    if (stat(path, &st) != 0) {
        int rc = errno == ENOENT || errno == ENOTDIR ? 0 : -1;
        if (rc) cg_error_set("%s: cannot inspect (%s)", path, strerror(errno));
        free(path);
        return rc;
    }
    hid_t f = h5w_open_ro(path);
    char *status = f >= 0 ? h5r_attr_string(f, "/", "status") : NULL;
    if (f >= 0) H5Fclose(f);
    int known = status && (!strcmp(status, "done") || !strcmp(status, "failed"));
    if (!known) {
        /* not ours or damaged (cannot happen through run_file_write): set aside, redo the run */
        size_t n = strlen(path) + 8;
        char *bad = cg_malloc(n);
        snprintf(bad, n, "%s.bad", path);
        rename(path, bad);
        fprintf(stderr, "clipgrid: %s is not a readable run file; moved to %s, the run is redone\n",
                path, bad);
        free(bad);
    } else if (failed) {
        *failed = !strcmp(status, "failed");
    }
    free(status);
    free(path);
    return known;
}
