/* results/aggregate.c — OUT/results.h5 from OUT/runs/<name>.h5: one group per run (/runs/<stem>, an
 * exact copy of the run file's root: attributes, curves, evaluations), the /index table (one row
 * per run) and the /evals table (one row per run and evaluation set), rows in file-name order
 * so the file does not depend on which rank ran what. Built under a temporary name and renamed
 * over results.h5; the claim OUT/.aggregate.claim (results/claim.h, no flock needed) orders
 * concurrent rebuilds of any number of jobs, so a later rebuild never loses to an earlier one
 * (SCHEMA.md "Writers"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "results/claim.h"
#include "results/h5write.h"
#include "results/run_file.h"
#include "results/run_index.h"

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* sorted names of the finished run files in dir (*.h5, not hidden); NULL with cg_error */
static char **list_run_files(const char *dir, int *n) {
    *n = 0;
    char **names = cg_calloc(1, sizeof(char *));
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return names; /* no run finished yet */
        cg_error_set("%s: cannot list (%s)", dir, strerror(errno));
        free(names);
        return NULL;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 4 || strcmp(e->d_name + len - 3, ".h5")) continue;
        names = cg_realloc(names, (size_t)(*n + 2) * sizeof(char *));
        names[(*n)++] = cg_strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)*n, sizeof(char *), cmp_str);
    return names;
}

static int write_table(hid_t f, const char *name, hid_t mem_type, const void *rows, int n) {
    hid_t ft = run_table_file_type(mem_type);
    hsize_t dims = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &dims, NULL);
    hid_t d = H5Dcreate2(f, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = d < 0 ? -1 : (n ? H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) : 0);
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp), H5Tclose(ft);
    if (st < 0) cg_error_set("cannot write the %s table", name);
    return st < 0 ? -1 : 0;
}

typedef struct {
    RunIndexRow *runs;
    RunEvalRow *evals;
    int n_runs, n_evals, n_done, n_failed, n_bad;
} Collected;

/* read one run file, copy its root into /runs/<stem>, append its rows */
static void add_run(hid_t dst, const char *runs_dir, const char *name, Collected *c) {
    char *path = cg_path_join(runs_dir, name);
    RunIndexRow row;
    RunEvalRow *ev = NULL;
    int ne = 0;
    if (run_file_read(path, &row, &ev, &ne) != 0) {
        fprintf(stderr, "clipgrid: aggregate: skipping %s\n", cg_error());
        c->n_bad++;
        free(path);
        return;
    }
    hid_t src = h5w_open_ro(path);
    herr_t st = src < 0 ? -1 : H5Ocopy(src, "/", dst, row.group, H5P_DEFAULT, H5P_DEFAULT);
    if (src >= 0) H5Fclose(src);
    if (st < 0) {
        fprintf(stderr, "clipgrid: aggregate: skipping %s: cannot copy its content\n", path);
        c->n_bad++;
    } else {
        c->runs = cg_realloc(c->runs, (size_t)(c->n_runs + 1) * sizeof(RunIndexRow));
        c->evals = cg_realloc(c->evals, (size_t)(c->n_evals + ne + 1) * sizeof(RunEvalRow));
        for (int i = 0; i < ne; i++) ev[i].run = c->n_runs;
        memcpy(c->evals + c->n_evals, ev, (size_t)ne * sizeof(RunEvalRow));
        c->n_evals += ne;
        c->runs[c->n_runs++] = row;
        if (!strcmp(row.status, "done")) c->n_done++;
        else c->n_failed++;
    }
    free(ev);
    free(path);
}

static int build(const char *tmp, const char *runs_dir, char **names, int n) {
    hid_t f = h5w_create_mem(tmp);
    if (f < 0) return -1;
    hid_t g = H5Gcreate2(f, "runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    Collected c = {0};
    for (int i = 0; i < n; i++) add_run(f, runs_dir, names[i], &c);
    hid_t mi = run_index_mem_type(), me = run_eval_mem_type();
    int rc = write_table(f, "index", mi, c.runs, c.n_runs);
    if (!rc) rc = write_table(f, "evals", me, c.evals, c.n_evals);
    H5Tclose(mi), H5Tclose(me);
    rc |= h5w_attr_i32(f, "schema_version", RESULTS_SCHEMA_VERSION);
    rc |= h5w_attr_str(f, "generator", "clipgrid");
    rc |= h5w_attr_f64(f, "created", (double)time(NULL));
    rc |= h5w_attr_i32(f, "n_runs", c.n_runs);
    rc |= h5w_attr_i32(f, "n_done", c.n_done);
    rc |= h5w_attr_i32(f, "n_failed", c.n_failed);
    rc |= h5w_attr_i32(f, "n_unreadable", c.n_bad);
    free(c.runs), free(c.evals);
    if (h5w_close(f, tmp) != 0) rc = -1;
    if (rc) cg_error_set("%s: cannot write (%s)", tmp, cg_error());
    return rc ? -1 : 0;
}

static int fsync_path(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* the claim OUT/.aggregate.claim (results/claim.h), waited for: rebuilds by several jobs on one
 * OUT follow each other, so the last one to start lists every run file written before it. The
 * path, or NULL where no claim can be made (then the rename alone keeps readers safe) */
static char *lock_out(const char *out_dir) {
    char *p = cg_path_join(out_dir, ".aggregate.claim");
    ClaimResult c;
    while ((c = claim_try(p, NULL, NULL, 0)) == CLAIM_BUSY) usleep(50000);
    if (c == CLAIM_TAKEN) return p;
    free(p);
    return NULL;
}

int results_aggregate(const char *out_dir) {
    char *runs_dir = cg_path_join(out_dir, "runs");
    char *final = cg_path_join(out_dir, "results.h5");
    char host[64] = "host", tmpname[160];
    gethostname(host, sizeof host - 1);
    snprintf(tmpname, sizeof tmpname, ".results.h5.tmp.%s.%ld", host, (long)getpid());
    char *tmp = cg_path_join(out_dir, tmpname);
    char *lock = lock_out(out_dir);
    int n = 0, rc = -1;
    char **names = list_run_files(runs_dir, &n);
    if (names) {
        rc = build(tmp, runs_dir, names, n);
        if (!rc && fsync_path(tmp) != 0) {
            cg_error_set("%s: fsync failed (%s)", tmp, strerror(errno));
            rc = -1;
        }
        if (!rc && rename(tmp, final) != 0) {
            cg_error_set("cannot rename %s to %s (%s)", tmp, final, strerror(errno));
            rc = -1;
        }
        if (!rc) fsync_path(out_dir);
        if (rc) unlink(tmp);
        for (int i = 0; i < n; i++) free(names[i]);
        free(names);
    }
    if (lock) claim_release(lock), free(lock);
    free(runs_dir), free(final), free(tmp);
    return rc;
}
