/* tests/test_results.c — run files, the aggregate, running markers and the tables, from
 * hand-made TrainResults with known values:
 *   - a run file read back through the HDF5 API (attributes, curves, per-class NaN, error text);
 *     run_file_exists for done / failed / absent / damaged files;
 *   - atomic writes: a writer rewriting a run file while a reader polls the final name (every
 *     file seen there is complete), a stale temporary file, an unwritable temporary name;
 *   - results_aggregate: /index and /evals rows, /runs groups equal to the run files, two
 *     concurrent rebuilds, no temporary files left;
 *   - grid.json and running markers (stale = dead pid on this host);
 *   - tables (md, csv, tex) of the four settings: mean ± population std over seeds, HM of the
 *     seed means (not the mean of per-seed HMs), average rows, failed runs excluded.
 *   - status: counts, stale markers (dead pid; dead sweep process), time left from estimates
 *     rescaled by the finished runs' measured times.
 * `test_results --write DIR` only writes the sweep of known values into DIR (DIR/results.h5,
 * grid.json, a live-then-dead and a dead marker), for tests/cli_table.sh. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "results/h5read.h"
#include "results/h5write.h"
#include "results/run_file.h"
#include "results/claim.h"
#include "results/run_state.h"
#include "results/status.h"
#include "results/table.h"
#include "testlib.h"

/* ---- hand-made runs ---------------------------------------------------------------------------- */

typedef struct {
    const char *label;
    double acc;
} Acc;

/* a TrainResult with the given accuracies (per-class: acc, NaN, acc/2), 3-epoch curves */
static void make_result(TrainResult *r, const Acc *acc, int n, int failed, const char *error) {
    memset(r, 0, sizeof *r);
    r->status = failed ? TRAIN_FAILED : TRAIN_DONE;
    if (error) snprintf(r->error, sizeof r->error, "%s", error);
    r->epochs = 3;
    r->loss_curve = cg_malloc(3 * sizeof(double));
    r->acc_curve = cg_malloc(3 * sizeof(double));
    r->lr_curve = cg_malloc(3 * sizeof(double));
    r->time_curve = cg_malloc(3 * sizeof(double));
    for (int e = 0; e < 3; e++) {
        r->loss_curve[e] = 2.0 / (e + 1), r->acc_curve[e] = 30.0 + 10 * e;
        r->lr_curve[e] = 0.002 * (3 - e), r->time_curve[e] = 1.5 + e;
    }
    r->n_evals = failed ? 0 : n;
    for (int i = 0; i < r->n_evals; i++) {
        EvalResult *e = &r->evals[i];
        snprintf(e->label, sizeof e->label, "%s", acc[i].label);
        snprintf(e->dataset, sizeof e->dataset, "%s", acc[i].label);
        e->accuracy = acc[i].acc;
        e->total = 200, e->correct = (long)llround(acc[i].acc * 2);
        e->macro_f1 = acc[i].acc - 1;
        e->n_classes = 3;
        e->per_class = cg_malloc(3 * sizeof(double));
        e->per_class[0] = acc[i].acc, e->per_class[1] = NAN, e->per_class[2] = acc[i].acc / 2;
        static char *names[3] = {"tabby cat", "dog", "bird"}; /* not freed: static */
        e->class_names = names;
    }
    r->n_params = 2048, r->train_seconds = 12.5, r->eval_seconds = 2.25, r->steps = 30;
}

static void free_result(TrainResult *r) {
    free(r->loss_curve), free(r->acc_curve), free(r->lr_curve), free(r->time_curve);
    for (int i = 0; i < r->n_evals; i++) free(r->evals[i].per_class);
}

static void make_meta(RunMeta *m, const char *setting, const char *dataset, const char *method,
                      int seed, int shots) {
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s/%s/%s/shots%d/seed%d", setting, method, dataset, shots, seed);
    snprintf(m->sweep, sizeof m->sweep, "test");
    snprintf(m->setting, sizeof m->setting, "%s", setting);
    snprintf(m->dataset, sizeof m->dataset, "%s", dataset);
    snprintf(m->method, sizeof m->method, "%s", method);
    m->seed = seed, m->shots = shots, m->ranks = 2;
    snprintf(m->host, sizeof m->host, "node07");
    snprintf(m->device, sizeof m->device, "cpu (4 threads)");
    m->config_json = "{\"n_ctx\": 4, \"ctx_init\": \"a photo of a\"}";
    m->start_time = 1700000000.0 + seed, m->end_time = m->start_time + 20;
    m->cost_estimate = 15;
}

static int write_run(const char *out, const char *setting, const char *dataset, const char *method,
                     int seed, int shots, const Acc *acc, int n) {
    RunMeta m;
    TrainResult r;
    make_meta(&m, setting, dataset, method, seed, shots);
    make_result(&r, acc, n, 0, NULL);
    int rc = run_file_write(out, &m, &r);
    if (rc) fprintf(stderr, "run_file_write: %s\n", cg_error());
    free_result(&r);
    return rc;
}

static int write_failed(const char *out, const char *setting, const char *dataset,
                        const char *method, int seed, int shots, const char *error) {
    RunMeta m;
    TrainResult r;
    make_meta(&m, setting, dataset, method, seed, shots);
    make_result(&r, NULL, 0, 1, error);
    int rc = run_file_write(out, &m, &r);
    free_result(&r);
    return rc;
}

/* the sweep of known values the table checks use (see the expected numbers in test_tables) */
static int write_known_sweep(const char *out) {
    int rc = 0;
    /* base2new: CoOp 3 seeds on caltech101 and dtd, zero-shot CLIP 1 seed; one failed run */
    const double cb[3] = {90, 92, 94}, cn[3] = {60, 71, 85}, db[3] = {80, 80, 80}, dn[3] = {50, 52, 54};
    for (int s = 0; s < 3; s++) {
        Acc a[2] = {{"base", cb[s]}, {"new", cn[s]}}, b[2] = {{"base", db[s]}, {"new", dn[s]}};
        rc |= write_run(out, "base2new", "caltech101", "coop", s + 1, 16, a, 2);
        rc |= write_run(out, "base2new", "dtd", "coop", s + 1, 16, b, 2);
    }
    Acc z1[2] = {{"base", 96.84}, {"new", 94.00}}, z2[2] = {{"base", 53.24}, {"new", 59.90}};
    rc |= write_run(out, "base2new", "caltech101", "zsclip", 1, 16, z1, 2);
    rc |= write_run(out, "base2new", "dtd", "zsclip", 1, 16, z2, 2);
    rc |= write_failed(out, "base2new", "dtd", "coop", 4, 16, "NaN loss at epoch 3 (step 17)");
    /* fewshot: CoOp, 2 seeds, 1 and 16 shots on eurosat and dtd */
    const double few[2][2][2] = {{{50, 60}, {80, 84}}, {{40, 44}, {60, 70}}};
    const char *fds[2] = {"eurosat", "dtd"};
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 2; k++)
            for (int s = 0; s < 2; s++) {
                Acc a[1] = {{"test", few[d][k][s]}};
                rc |= write_run(out, "fewshot", fds[d], "coop", s + 1, k ? 16 : 1, a, 1);
            }
    /* cross_dataset: CoOp 2 seeds, MaPLe 1 seed */
    for (int s = 0; s < 2; s++) {
        Acc a[4] = {{"imagenet", s ? 72 : 70}, {"caltech101", s ? 95 : 93}, {"dtd", s ? 46 : 40},
                    {"eurosat", s ? 47 : 45}};
        rc |= write_run(out, "cross_dataset", "imagenet", "coop", s + 1, 16, a, 4);
    }
    Acc mp[4] = {{"imagenet", 70.72}, {"caltech101", 93.53}, {"dtd", 46.49}, {"eurosat", 48.06}};
    rc |= write_run(out, "cross_dataset", "imagenet", "maple", 1, 16, mp, 4);
    /* domain_generalization: CoOp 2 seeds */
    for (int s = 0; s < 2; s++) {
        Acc a[5] = {{"imagenet", 71}, {"imagenetv2", s ? 65 : 64}, {"imagenet_sketch", s ? 49 : 47},
                    {"imagenet_a", s ? 51 : 49}, {"imagenet_r", s ? 76 : 75}};
        rc |= write_run(out, "domain_generalization", "imagenet", "coop", s + 1, 16, a, 5);
    }
    if (!rc) rc = results_aggregate(out);
    return rc;
}

/* grid.json for the known sweep plus two pending cells and two markers: one live (this process,
 * epoch 5 of 10, 2 ranks) and one whose process is gone (stale) */
static int write_status_scenario(const char *out, ResultsIndex *ix) {
    GridCell *cells = cg_calloc((size_t)ix->n_runs + 4, sizeof(GridCell));
    int n = 0;
    for (int i = 0; i < ix->n_runs; i++, n++) {
        const RunIndexRow *r = &ix->runs[i];
        snprintf(cells[n].id, sizeof cells[n].id, "%s", r->id);
        snprintf(cells[n].setting, sizeof cells[n].setting, "%s", r->setting);
        snprintf(cells[n].dataset, sizeof cells[n].dataset, "%s", r->dataset);
        snprintf(cells[n].method, sizeof cells[n].method, "%s", r->method);
        cells[n].seed = r->seed, cells[n].shots = r->shots, cells[n].ranks = 1;
        cells[n].cost_estimate = r->cost_estimate;
    }
    const char *extra[4] = {"base2new/coop/eurosat/shots16/seed1", "base2new/coop/ucf101/shots16/seed1",
                            "base2new/coop/imagenet/shots16/seed1", "base2new/coop/sun397/shots16/seed1"};
    const double cost[4] = {100, 50, 40, 30};
    for (int k = 0; k < 4; k++, n++) {
        snprintf(cells[n].id, sizeof cells[n].id, "%s", extra[k]);
        snprintf(cells[n].setting, sizeof cells[n].setting, "base2new");
        snprintf(cells[n].dataset, sizeof cells[n].dataset, "x");
        snprintf(cells[n].method, sizeof cells[n].method, "coop");
        cells[n].seed = 1, cells[n].shots = 16, cells[n].ranks = k == 2 ? 2 : 1;
        cells[n].cost_estimate = cost[k];
    }
    int rc = grid_file_write(out, "known", cells, n);
    free(cells);
    RunningMarker live = {0}, dead = {0};
    snprintf(live.id, sizeof live.id, "%s", extra[2]);
    live.ranks = 2, live.epoch = 5, live.epochs = 10;      /* cost from grid.json: 40 */
    pid_t child = (fflush(NULL), fork());
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    snprintf(dead.id, sizeof dead.id, "%s", extra[3]);
    dead.pid = child, dead.epoch = 1, dead.epochs = 10;
    rc |= run_state_write(out, &live);
    rc |= run_state_write(out, &dead);
    return rc;
}

/* ---- helpers ------------------------------------------------------------------------------------ */

static char *tmp_dir(void) {
    char tmpl[] = "/tmp/test_results_XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) cg_fatal("mkdtemp failed");
    return cg_strdup(d);
}

static void rm_rf(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static int file_exists(const char *dir, const char *name) {
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* number of entries of dir whose name starts with prefix */
static int count_prefix(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    if (d) closedir(d);
    return n;
}

static char *render_table(const char *h5, const char *format, const char *setting, int *rc) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *rc = results_table_print(f, h5, format, setting);
    fclose(f);
    return buf;
}

/* the first line of text containing every one of the NULL-terminated needles (static buffer) */
static const char *line_with(const char *text, const char *a, const char *b) {
    static char line[2048];
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        if (strstr(line, a) && (!b || strstr(line, b))) return line;
        p = nl ? nl + 1 : NULL;
    }
    return "";
}

/* offset of the first line containing a and b, −1 if none */
static long row_pos(const char *text, const char *a, const char *b) {
    const char *l = line_with(text, a, b);
    if (!*l) return -1;
    const char *p = strstr(text, l);
    return p ? (long)(p - text) : -1;
}

/* the needles appear in the line in this order */
static int in_order(const char *line, const char *const *needles) {
    const char *p = line;
    for (int i = 0; needles[i]; i++) {
        const char *q = strstr(p, needles[i]);
        if (!q) return 0;
        p = q + strlen(needles[i]);
    }
    return 1;
}

#define CHECK_ROW(text, a, b, ...)                                                          \
    do {                                                                                    \
        const char *needles_[] = {__VA_ARGS__, NULL};                                       \
        const char *l_ = line_with((text), (a), (b));                                       \
        CHECK(in_order(l_, needles_), "row [%s%s%s] expected %s … in order, got '%s'", (a), \
              (b) ? " / " : "", (b) ? (const char *)(b) : "", needles_[0], l_);             \
    } while (0)

/* ---- 1. one run file ------------------------------------------------------------------------ */

static void test_run_file(void) {
    printf("-- run file: write, read back through HDF5, exists\n");
    char *out = tmp_dir();
    RunMeta m;
    TrainResult r;
    Acc a[2] = {{"base", 81.25}, {"new", 64.5}};
    make_meta(&m, "base2new", "oxford_pets", "coop", 2, 16);
    snprintf(m.variant, sizeof m.variant, "ctx4");
    make_result(&r, a, 2, 0, NULL);
    CHECK(run_file_write(out, &m, &r) == 0, "run_file_write: %s", cg_error());
    char *name = run_file_name(m.id);
    CHECK(!strcmp(name, "base2new_coop_oxford_pets_shots16_seed2.h5"), "run_file_name gave %s", name);
    char runs[1024], path[1200];
    snprintf(runs, sizeof runs, "%s/runs", out);
    snprintf(path, sizeof path, "%s/%s", runs, name);
    CHECK(count_prefix(runs, ".") == 0, "a temporary file is left in %s", runs);
    int failed = -1;
    CHECK(run_file_exists(out, m.id, &failed) == 1 && failed == 0, "exists: done run (failed=%d)", failed);
    CHECK(run_file_exists(out, "base2new/coop/oxford_pets/shots16/seed9", &failed) == 0, "exists: absent run");

    hid_t f = h5r_open(path);
    CHECK(f >= 0, "h5r_open %s: %s", path, cg_error());
    char *s = h5r_attr_string(f, "/", "id");
    CHECK(s && !strcmp(s, m.id), "attr id = %s", s ? s : "(null)");
    free(s);
    s = h5r_attr_string(f, "/", "config");
    CHECK(s && !strcmp(s, m.config_json), "attr config = %s", s ? s : "(null)");
    free(s);
    s = h5r_attr_string(f, "/", "variant");
    CHECK(s && !strcmp(s, "ctx4"), "attr variant = %s", s ? s : "(null)");
    free(s);
    s = h5r_attr_string(f, "/", "status");
    CHECK(s && !strcmp(s, "done"), "attr status = %s", s ? s : "(null)");
    free(s);
    double v = 0;
    CHECK(h5r_attr_double(f, "/", "seed", &v) == 0 && v == 2, "attr seed = %g", v);
    CHECK(h5r_attr_double(f, "/", "ranks", &v) == 0 && v == 2, "attr ranks = %g", v);
    CHECK(h5r_attr_double(f, "/", "wall_seconds", &v) == 0 && v == 20, "attr wall_seconds = %g", v);
    CHECK(h5r_attr_double(f, "/", "n_params", &v) == 0 && v == 2048, "attr n_params = %g", v);
    CHECK(h5r_attr_double(f, "/evals/new", "accuracy", &v) == 0 && v == 64.5, "new accuracy = %g", v);
    CHECK(h5r_attr_double(f, "/evals/new", "correct", &v) == 0 && v == 129, "new correct = %g", v);
    H5Shape sh;
    float *loss = h5r_read_f32(f, "/curves/loss", &sh);
    CHECK(loss && sh.n == 3 && loss[0] == 2.0f && loss[1] == 1.0f && fabsf(loss[2] - 2.0f / 3) < 1e-7f,
          "curves/loss");
    free(loss);
    float *pc = h5r_read_f32(f, "/evals/base/per_class", &sh);
    CHECK(pc && sh.n == 3 && pc[0] == 81.25f && isnan(pc[1]) && pc[2] == 40.625f, "per_class with NaN");
    free(pc);
    int n = 0;
    char **order = h5r_attr_strings(f, "/evals", "order", &n);
    CHECK(order && n == 2 && !strcmp(order[0], "base") && !strcmp(order[1], "new"), "evals order");
    h5r_free_strings(order, n);
    h5r_close(f);

    RunIndexRow row;
    RunEvalRow *ev;
    int ne;
    CHECK(run_file_read(path, &row, &ev, &ne) == 0, "run_file_read: %s", cg_error());
    CHECK(ne == 2 && row.base == 81.25 && row.new_acc == 64.5 &&
          fabs(row.hm - 2 * 81.25 * 64.5 / (81.25 + 64.5)) < 1e-12 && isnan(row.accuracy),
          "index row base/new/hm: %g %g %g", row.base, row.new_acc, row.hm);
    CHECK(!strcmp(row.group, "/runs/base2new_coop_oxford_pets_shots16_seed2"), "group %s", row.group);
    free(ev);
    free_result(&r);

    /* a failed run keeps its reason */
    const char *why = "oxford_pets/images/Abyssinian_34.jpg: corrupt JPEG (premature end of data)";
    CHECK(write_failed(out, "base2new", "oxford_pets", "coop", 3, 16, why) == 0, "write failed run");
    CHECK(run_file_exists(out, "base2new/coop/oxford_pets/shots16/seed3", &failed) == 1 && failed == 1,
          "exists: failed run (failed=%d)", failed);
    snprintf(path, sizeof path, "%s/base2new_coop_oxford_pets_shots16_seed3.h5", runs);
    f = h5r_open(path);
    s = h5r_attr_string(f, "/", "error");
    CHECK(s && !strcmp(s, why), "error text = %s", s ? s : "(null)");
    free(s);
    h5r_close(f);

    /* a stopped run gets no file */
    make_meta(&m, "base2new", "oxford_pets", "coop", 5, 16);
    make_result(&r, a, 2, 0, NULL);
    r.status = TRAIN_STOPPED;
    CHECK(run_file_write(out, &m, &r) == -1, "a stopped run must not get a run file");
    CHECK(run_file_exists(out, m.id, NULL) == 0, "stopped run: no file");

    /* a stale temporary file of a killed writer is replaced */
    make_meta(&m, "base2new", "oxford_pets", "coop", 6, 16);
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s/.base2new_coop_oxford_pets_shots16_seed6.h5.tmp", runs);
    FILE *g = fopen(tmp, "w");
    fputs("half a file", g);
    fclose(g);
    r.status = TRAIN_DONE;
    CHECK(run_file_write(out, &m, &r) == 0 && access(tmp, F_OK) != 0 && run_file_exists(out, m.id, NULL) == 1,
          "stale temporary file replaced");

    /* the temporary name cannot be created: −1, nothing under the final name */
    make_meta(&m, "base2new", "oxford_pets", "coop", 7, 16);
    snprintf(tmp, sizeof tmp, "%s/.base2new_coop_oxford_pets_shots16_seed7.h5.tmp", runs);
    mkdir(tmp, 0777);
    CHECK(run_file_write(out, &m, &r) == -1, "write through an occupied temporary name must fail");
    printf("  expected failure: %s\n", cg_error());
    CHECK(run_file_exists(out, m.id, NULL) == 0, "no run file after a failed write");
    rmdir(tmp);
    free_result(&r);

    /* a damaged file under the final name: not finished, set aside as .bad */
    snprintf(path, sizeof path, "%s/base2new_coop_oxford_pets_shots16_seed8.h5", runs);
    g = fopen(path, "w");
    fputs("not hdf5", g);
    fclose(g);
    CHECK(run_file_exists(out, "base2new/coop/oxford_pets/shots16/seed8", NULL) == 0, "damaged file = not finished");
    CHECK(file_exists(runs, "base2new_coop_oxford_pets_shots16_seed8.h5.bad"), "damaged file renamed .bad");
    free(name);
    rm_rf(out);
    free(out);
}

/* ---- 2. atomic visibility under a concurrent writer ---------------------------------------------- */

static void test_atomic(void) {
    printf("-- atomic write: a reader polling the final names sees only complete files\n");
    char *out = tmp_dir();
    enum { N_FILES = 12, N_CLASSES = 200000 };
    char paths[N_FILES][1200];
    RunMeta m;
    for (int k = 0; k < N_FILES; k++) {
        make_meta(&m, "fewshot", "sun397", "coop", k + 1, 16);
        char *name = run_file_name(m.id);
        snprintf(paths[k], sizeof paths[k], "%s/runs/%s", out, name);
        free(name);
    }
    pid_t child = (fflush(NULL), fork());
    if (child == 0) { /* the writer: 12 runs of 1.6 MB each, one after the other */
        for (int k = 0; k < N_FILES; k++) {
            TrainResult r;
            Acc a[1] = {{"test", 50 + k}};
            make_meta(&m, "fewshot", "sun397", "coop", k + 1, 16);
            make_result(&r, a, 1, 0, NULL);
            free(r.evals[0].per_class);
            r.evals[0].per_class = cg_malloc((size_t)N_CLASSES * sizeof(double));
            for (int i = 0; i < N_CLASSES; i++) r.evals[0].per_class[i] = i % 100;
            r.evals[0].n_classes = N_CLASSES;
            r.evals[0].class_names = NULL; /* the 3 static names do not cover N_CLASSES */
            if (run_file_write(out, &m, &r) != 0) _exit(2);
            free_result(&r);
        }
        _exit(0);
    }
    /* the reader: every file that appears under its final name must read completely at once
     * (a writer that wrote in place would be caught mid-file) */
    int checked[N_FILES] = {0}, n_checked = 0, bad = 0, status = 0, done = 0;
    while (n_checked < N_FILES && !done) {
        done = waitpid(child, &status, WNOHANG) != 0; /* one last pass after the writer ends */
        for (int k = 0; k < N_FILES; k++) {
            if (checked[k] || access(paths[k], F_OK) != 0) continue;
            RunIndexRow row;
            RunEvalRow *ev = NULL;
            int ne = 0;
            int ok = run_file_read(paths[k], &row, &ev, &ne) == 0 && ne == 1 &&
                     ev[0].n_classes == N_CLASSES && ev[0].accuracy == 50 + k;
            if (!ok) bad++, fprintf(stderr, "  incomplete: %s\n", cg_error());
            free(ev);
            checked[k] = 1, n_checked++;
        }
    }
    if (!done) waitpid(child, &status, 0);
    printf("  %d files read as soon as they appeared, %d incomplete\n", n_checked, bad);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer child failed");
    CHECK(n_checked == N_FILES && bad == 0, "%d of %d files checked, %d incomplete", n_checked, N_FILES, bad);
    rm_rf(out);
    free(out);
}

/* ---- 3. aggregate --------------------------------------------------------------------------- */

static void test_aggregate(void) {
    printf("-- aggregate: /index, /evals, /runs; concurrent rebuilds\n");
    char *out = tmp_dir();
    CHECK(results_aggregate(out) == 0, "aggregate of an empty OUT: %s", cg_error());
    ResultsIndex ix;
    char h5[1024];
    snprintf(h5, sizeof h5, "%s/results.h5", out);
    CHECK(results_index_read(h5, &ix) == 0 && ix.n_runs == 0 && ix.n_evals == 0, "empty index");
    results_index_free(&ix);

    CHECK(write_known_sweep(out) == 0, "write_known_sweep: %s", cg_error());
    /* two more rebuilds at once, from two processes */
    pid_t kids[2];
    for (int k = 0; k < 2; k++)
        if ((kids[k] = (fflush(NULL), fork())) == 0) _exit(results_aggregate(out) == 0 ? 0 : 1);
    int ok = 1;
    for (int k = 0; k < 2; k++) {
        int st = 0;
        waitpid(kids[k], &st, 0);
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    CHECK(ok, "concurrent results_aggregate failed");
    CHECK(count_prefix(out, ".results.h5.tmp") == 0, "temporary aggregate files left in %s", out);

    CHECK(results_index_read(h5, &ix) == 0, "results_index_read: %s", cg_error());
    /* 6 + 2 zsclip + 1 failed base2new, 8 fewshot, 3 cross, 2 dg */
    CHECK(ix.n_runs == 22, "n_runs %d (expected 22)", ix.n_runs);
    CHECK(ix.n_evals == 8 * 2 + 8 + 3 * 4 + 2 * 5, "n_evals %d (expected 46)", ix.n_evals);
    int sorted = 1, failed = 0;
    for (int i = 1; i < ix.n_runs; i++) sorted &= strcmp(ix.runs[i - 1].group, ix.runs[i].group) < 0;
    for (int i = 0; i < ix.n_runs; i++)
        if (!strcmp(ix.runs[i].status, "failed")) {
            failed++;
            CHECK(!strcmp(ix.runs[i].error, "NaN loss at epoch 3 (step 17)") && ix.runs[i].n_evals == 0,
                  "failed row: error '%s'", ix.runs[i].error);
        }
    CHECK(sorted, "/index rows not in file-name order");
    CHECK(failed == 1, "failed rows %d", failed);
    int evals_ok = 1;
    for (int i = 0; i < ix.n_evals; i++) {
        const RunEvalRow *e = &ix.evals[i];
        evals_ok &= e->run >= 0 && e->run < ix.n_runs && !strcmp(e->id, ix.runs[e->run].id) &&
                    e->seed == ix.runs[e->run].seed && e->total == 200;
    }
    CHECK(evals_ok, "/evals rows point at their /index rows");
    /* one known row */
    const RunIndexRow *r = NULL;
    for (int i = 0; i < ix.n_runs; i++)
        if (!strcmp(ix.runs[i].id, "base2new/coop/caltech101/shots16/seed3")) r = &ix.runs[i];
    CHECK(r && r->base == 94 && r->new_acc == 85 && fabs(r->hm - 2 * 94.0 * 85 / 179) < 1e-12 &&
          !strcmp(r->host, "node07") && r->ranks == 2 && r->epochs == 3 && r->steps == 30 &&
          r->train_seconds == 12.5 && !strcmp(r->device, "cpu (4 threads)"),
          "row base2new/coop/caltech101/shots16/seed3");
    for (int i = 0; i < ix.n_runs; i++)
        if (!strcmp(ix.runs[i].id, "fewshot/coop/eurosat/shots16/seed2"))
            CHECK(ix.runs[i].accuracy == 84 && isnan(ix.runs[i].base), "fewshot row accuracy %g",
                  ix.runs[i].accuracy);
    results_index_free(&ix);

    /* the /runs groups are the run files' content */
    hid_t f = h5r_open(h5);
    double v = 0;
    CHECK(h5r_attr_double(f, "/", "n_runs", &v) == 0 && v == 22, "attr n_runs %g", v);
    CHECK(h5r_attr_double(f, "/", "n_failed", &v) == 0 && v == 1, "attr n_failed %g", v);
    CHECK(h5r_attr_double(f, "/runs/cross_dataset_maple_imagenet_shots16_seed1/evals/dtd", "accuracy", &v) == 0 &&
          v == 46.49, "copied eval accuracy %g", v);
    H5Shape sh;
    float *lr = h5r_read_f32(f, "/runs/fewshot_coop_dtd_shots1_seed2/curves/lr", &sh);
    CHECK(lr && sh.n == 3 && fabsf(lr[0] - 0.006f) < 1e-9f, "copied curve");
    free(lr);
    char *s = h5r_attr_string(f, "/runs/base2new_coop_dtd_shots16_seed4", "error");
    CHECK(s && !strcmp(s, "NaN loss at epoch 3 (step 17)"), "copied error text");
    free(s);
    h5r_close(f);

    /* a foreign file in runs/ is skipped, not fatal */
    char junk[1200];
    snprintf(junk, sizeof junk, "%s/runs/zz_junk.h5", out);
    FILE *g = fopen(junk, "w");
    fputs("junk", g);
    fclose(g);
    CHECK(results_aggregate(out) == 0, "aggregate with a junk file: %s", cg_error());
    f = h5r_open(h5);
    CHECK(h5r_attr_double(f, "/", "n_unreadable", &v) == 0 && v == 1, "n_unreadable %g", v);
    CHECK(h5r_attr_double(f, "/", "n_runs", &v) == 0 && v == 22, "n_runs with junk %g", v);
    h5r_close(f);
    rm_rf(out);
    free(out);
}

/* ---- 4. grid.json and running markers ------------------------------------------------------- */

static void test_state(void) {
    printf("-- grid.json and running markers\n");
    char *out = tmp_dir();
    GridFile g;
    CHECK(grid_file_read(out, &g) == 1, "no grid.json → 1");
    GridCell cells[2] = {{"base2new/coop/dtd/shots16/seed1", "base2new", "dtd", "coop", "", 1, 16, 1, 812.5, "", ""},
                         {"base2new/coop/imagenet/shots16/seed1", "base2new", "imagenet", "coop", "ctx4", 1, 16, 4, 9000, "", ""}};
    CHECK(grid_file_write(out, "b2n", cells, 2) == 0, "grid_file_write: %s", cg_error());
    CHECK(grid_file_read(out, &g) == 0 && g.n == 2 && !strcmp(g.sweep, "b2n") &&
          !strcmp(g.cells[1].id, cells[1].id) && g.cells[1].ranks == 4 && g.cells[1].cost_estimate == 9000 &&
          !strcmp(g.cells[1].variant, "ctx4") && g.cells[0].seed == 1 && g.cells[0].shots == 16,
          "grid.json round trip");
    grid_file_free(&g);
    char p[1024];
    snprintf(p, sizeof p, "%s/grid.json", out);
    FILE *f = fopen(p, "w");
    fputs("{\"cells\": [ {\"id\": 3} ]}", f);
    fclose(f);
    CHECK(grid_file_read(out, &g) == -1 && strstr(cg_error(), "grid.json"), "bad grid.json: %s", cg_error());
    printf("  expected failure: %s\n", cg_error());

    RunningMarker a = {0}, b = {0}, c = {0};
    snprintf(a.id, sizeof a.id, "base2new/coop/dtd/shots16/seed1");
    a.epochs = 10, a.epoch = 3, a.cost_estimate = 100;
    CHECK(run_state_write(out, &a) == 0 && a.pid == getpid() && a.start_time > 0, "marker write");
    pid_t dead = (fflush(NULL), fork());
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    snprintf(b.id, sizeof b.id, "base2new/coop/eurosat/shots16/seed1");
    b.pid = dead;
    CHECK(run_state_write(out, &b) == 0, "marker write (dead pid)");
    snprintf(c.id, sizeof c.id, "base2new/coop/ucf101/shots16/seed1");
    snprintf(c.host, sizeof c.host, "some-other-host-xyz");
    c.pid = dead;
    CHECK(run_state_write(out, &c) == 0, "marker write (other host)");
    a.epoch = 4;
    CHECK(run_state_write(out, &a) == 0, "marker update");
    RunningMarker *ms;
    int n;
    CHECK(run_state_list(out, &ms, &n) == 0 && n == 3, "3 markers (got %d)", n);
    if (n == 3) {
        CHECK(!strcmp(ms[0].id, a.id) && ms[0].epoch == 4 && ms[0].epochs == 10 && !ms[0].stale,
              "live marker: epoch %d stale %d", ms[0].epoch, ms[0].stale);
        CHECK(!strcmp(ms[1].id, b.id) && ms[1].stale == 1, "dead pid on this host → stale");
        CHECK(!strcmp(ms[2].id, c.id) && ms[2].stale == 0, "other host → not stale");
    }
    free(ms);
    CHECK(run_state_clear(out, a.id) == 0 && run_state_clear(out, a.id) == 0, "clear twice");
    CHECK(run_state_list(out, &ms, &n) == 0 && n == 2, "2 markers after clear (got %d)", n);
    free(ms);
    /* markers with a key are judged by their run's claim (results/claim.h) */
    char cdir[1100];
    snprintf(cdir, sizeof cdir, "%s/claims", out);
    mkdir(cdir, 0755);
    RunningMarker d = {0}, e = {0}, u = {0};
    snprintf(d.id, sizeof d.id, "x/live"), snprintf(d.key, sizeof d.key, "k_live");
    snprintf(e.id, sizeof e.id, "x/ghost"), snprintf(e.key, sizeof e.key, "k_ghost");
    snprintf(u.id, sizeof u.id, "x/noclaim"), snprintf(u.key, sizeof u.key, "k_none");
    char *pl = run_claim_path(out, "k_live"), *pg = run_claim_path(out, "k_ghost");
    char took[512];
    CHECK(claim_try(pl, NULL, took, sizeof took) == CLAIM_TAKEN && !took[0] && claim_held(pl),
          "a free claim is taken: %s", cg_error());
    ClaimInfo hi;
    CHECK(claim_try(pl, &hi, NULL, 0) == CLAIM_BUSY && hi.pid == (long)getpid() && !hi.stale,
          "a live claim (this process) is busy for another try");
    f = fopen(pg, "w");
    fprintf(f, "host ghost-node pid 4242 job 999_3 start 1.000\n");
    fclose(f);
    struct timeval old[2];
    gettimeofday(&old[0], NULL);
    old[0].tv_sec -= 3600, old[1] = old[0];
    utimes(pg, old);  /* heartbeat an hour old */
    CHECK(run_state_write(out, &d) == 0 && run_state_write(out, &e) == 0 && run_state_write(out, &u) == 0,
          "keyed markers");
    CHECK(run_state_list(out, &ms, &n) == 0 && n == 5, "5 markers (got %d)", n);
    for (int i = 0; i < n; i++) {
        if (!strcmp(ms[i].id, d.id))
            CHECK(!ms[i].stale && ms[i].heartbeat_age >= 0 && ms[i].heartbeat_age < 60 &&
                  !strcmp(ms[i].job, "-"), "claimed marker is live (age %g job %s)",
                  ms[i].heartbeat_age, ms[i].job);
        if (!strcmp(ms[i].id, e.id))
            CHECK(ms[i].stale && !ms[i].dead && ms[i].heartbeat_age > 3500 &&
                  !strcmp(ms[i].job, "999_3"), "another host's claim with an hour-old heartbeat "
                  "is stale (age %g job %s)", ms[i].heartbeat_age, ms[i].job);
        if (!strcmp(ms[i].id, u.id)) CHECK(ms[i].stale, "a keyed marker without a claim is stale");
    }
    free(ms);
    /* prune: the stale ones go (dead pid b, ghost e, unclaimed u); c (other host, no key) and d stay */
    CHECK(run_state_prune(out) == 0 && run_state_list(out, &ms, &n) == 0 && n == 3 &&
          !strcmp(ms[0].id, c.id) && !strcmp(ms[1].id, "k_ghost") && !strcmp(ms[2].id, d.id),
          "prune keeps live markers; the ghost's claim stays listed without its marker (%d)", n);
    if (n == 3)
        CHECK(ms[1].stale && !strcmp(ms[1].host, "ghost-node") && !strcmp(ms[1].job, "999_3") &&
              ms[1].pid == 4242, "a claim without a marker: listed, stale, with its holder");
    free(ms);
    /* the stale claim is taken over, naming its holder and why */
    CHECK(claim_try(pg, NULL, took, sizeof took) == CLAIM_TAKEN && strstr(took, "ghost-node") &&
          strstr(took, "job 999_3") && strstr(took, "heartbeat"), "stale claim taken over: %s", took);
    ClaimInfo mine;
    CHECK(claim_read(pg, &mine) == 0 && mine.pid == (long)getpid() && !mine.stale, "now ours");
    claim_release(pg), claim_release(pl);
    CHECK(access(pg, F_OK) != 0 && access(pl, F_OK) != 0 && !claim_held(pl), "released claims are gone");
    /* a fresh claim of another host (heartbeat now) is live */
    f = fopen(pg, "w");
    fprintf(f, "host ghost-node pid 4242 job - start 1.000\n");
    fclose(f);
    CHECK(claim_read(pg, &mine) == 0 && !mine.stale && !mine.dead && !strcmp(mine.host, "ghost-node"),
          "another host's fresh claim is live");
    CHECK(claim_try(pg, NULL, NULL, 0) == CLAIM_BUSY, "and busy");
    /* a fresh claim of an earlier start of this process's own Slurm job (requeued since) is stale;
     * another job's is not */
    claim_configure("777_2", 1, 600);
    f = fopen(pg, "w");
    fprintf(f, "host ghost-node pid 4242 job 777_2 start 1.000 restart 0\n");
    fclose(f);
    CHECK(claim_read(pg, &mine) == 0 && mine.stale && mine.requeued && mine.restart == 0,
          "an earlier start of this Slurm job is stale at once");
    char why[300];
    claim_describe(&mine, why, sizeof why);
    CHECK(strstr(why, "earlier start of this Slurm job") != NULL, "described: %s", why);
    f = fopen(pg, "w");
    fprintf(f, "host ghost-node pid 4242 job 778_2 start 1.000 restart 0\n");
    fclose(f);
    CHECK(claim_read(pg, &mine) == 0 && !mine.stale, "another Slurm job's fresh claim is live");
    claim_configure("-", 0, 600);
    free(pl), free(pg);
    rm_rf(out);
    free(out);
}

/* ---- 5. tables -------------------------------------------------------------------------------- */

static void test_tables(void) {
    printf("-- tables of known values\n");
    char *out = tmp_dir();
    CHECK(write_known_sweep(out) == 0, "write_known_sweep: %s", cg_error());
    char h5[1024];
    snprintf(h5, sizeof h5, "%s/results.h5", out);
    int rc;

    /* base2new, Markdown: CoOp caltech101 base 90/92/94 → 92.00 ± 1.63 (population std),
     * new 60/71/85 → 72.00 ± 10.23; HM of the means 80.78 (the mean of per-seed HMs would be
     * 80.47); dtd: 80.00 ± 0.00, 52.00 ± 1.63, HM 63.03; CLIP one seed: no ±;
     * average: B 86.00, N 62.00, HM(86, 62) = 72.05 (mean of HMs would be 71.91) */
    char *md = render_table(h5, "md", "base2new", &rc);
    CHECK(rc == 0, "table md base2new: %s", cg_error());
    printf("%s", md);
    CHECK_ROW(md, "| Caltech101", "CoOp", "| 3 ", "92.00 ± 1.63", "72.00 ± 10.23", "80.78 |");
    CHECK_ROW(md, "| DTD", "CoOp", "| 3 ", "80.00 ± 0.00", "52.00 ± 1.63", "63.03 |");
    CHECK_ROW(md, "| Caltech101", "CLIP", "| 1 ", " 96.84 |", " 94.00 |", " 95.40 |");
    CHECK_ROW(md, "| DTD", "CLIP", "53.24", "59.90", "56.37");
    CHECK_ROW(md, "Average (2)", "CoOp", " 86.00 |", " 62.00 |", " 72.05 |");
    CHECK_ROW(md, "Average (2)", "CLIP", " 75.04 |", " 76.95 |", " 75.98 |");
    CHECK_ROW(md, "### Base-to-new", "16 shots", "mean ± population std (ddof 0)");
    CHECK_ROW(md, "1 failed run", NULL, "not included");
    CHECK(!strstr(md, "80.47") && !strstr(md, "71.91"), "HM must come from the seed means");
    /* order: CLIP before CoOp within a dataset, Caltech101 before DTD, averages last */
    long p1 = row_pos(md, "| Caltech101 ", "| CLIP "), p2 = row_pos(md, "| Caltech101 ", "| CoOp "),
         p3 = row_pos(md, "| DTD ", "| CLIP "), p4 = row_pos(md, "| Average (2) ", "| CLIP ");
    CHECK(p1 >= 0 && p1 < p2 && p2 < p3 && p3 < p4, "row order %ld %ld %ld %ld", p1, p2, p3, p4);
    free(md);

    char *csv = render_table(h5, "csv", "base2new", &rc);
    CHECK(rc == 0, "table csv: %s", cg_error());
    printf("%s", csv);
    CHECK_ROW(csv, "setting,dataset,method,seeds,base_mean,base_std,new_mean,new_std,hm_mean,hm_std", NULL,
              "setting");
    CHECK(strstr(csv, "base2new,Caltech101,CoOp,3,92.0000,1.6330,72.0000,10.2307,80.7805,\n") != NULL,
          "csv caltech101 CoOp row");
    CHECK(strstr(csv, "base2new,Average (2),CoOp,,86.0000,,62.0000,,72.0541,\n") != NULL, "csv average row");
    CHECK(strstr(csv, "base2new,Caltech101,CLIP,1,96.8400,0.0000,94.0000,0.0000,95.3989,\n") != NULL,
          "csv CLIP row");
    free(csv);

    char *tex = render_table(h5, "tex", "base2new", &rc);
    CHECK(rc == 0, "table tex: %s", cg_error());
    printf("%s", tex);
    CHECK(strstr(tex, "\\begin{tabular}{lllrrr}") && strstr(tex, "\\toprule") && strstr(tex, "\\bottomrule"),
          "tex frame");
    CHECK(strstr(tex, "Caltech101 & CLIP & 1 & 96.84 & 94.00 & 95.40 \\\\\n & CoOp & 3 & $92.00 \\pm 1.63$ & "
                      "$72.00 \\pm 10.23$ & 80.78 \\\\\n\\midrule\nDTD & CLIP") != NULL,
          "tex caltech101 block (repeated dataset blank, midrule between datasets)");
    CHECK(strstr(tex, " & CoOp & -- & 86.00 & 62.00 & 72.05 \\\\\n\\bottomrule") != NULL, "tex average row");
    free(tex);

    /* fewshot: eurosat 1 shot 50/60 → 55.00 ± 5.00, 16 shots 80/84 → 82.00 ± 2.00; dtd 42.00 ± 2.00,
     * 65.00 ± 5.00; average 48.50, 73.50 */
    md = render_table(h5, "md", "fewshot", &rc);
    CHECK(rc == 0, "table md fewshot: %s", cg_error());
    printf("%s", md);
    CHECK_ROW(md, "| 1 shot", "| 16 shots", "Dataset", "Method", "Seeds", "1 shot", "16 shots");
    CHECK_ROW(md, "| DTD", "CoOp", "| 2 ", "42.00 ± 2.00", "65.00 ± 5.00");
    CHECK_ROW(md, "| EuroSAT", "CoOp", "| 2 ", "55.00 ± 5.00", "82.00 ± 2.00");
    CHECK_ROW(md, "Average (2)", "CoOp", " 48.50 |", " 73.50 |");
    CHECK(strstr(md, "failed") == NULL, "fewshot has no failed run");
    free(md);

    /* cross-dataset: CoOp source 70/72 → 71.00 ± 1.00; caltech 94.00 ± 1.00, dtd 43.00 ± 3.00,
     * eurosat 46.00 ± 1.00, target avg 61.00; MaPLe (1 seed) 70.72 … avg 62.69 */
    md = render_table(h5, "md", "cross_dataset", &rc);
    CHECK(rc == 0, "table md cross_dataset: %s", cg_error());
    printf("%s", md);
    CHECK_ROW(md, "| Method", "Target avg", "ImageNet", "Caltech101", "DTD", "EuroSAT", "Target avg");
    CHECK_ROW(md, "| CoOp", NULL, "| 2 ", "71.00 ± 1.00", "94.00 ± 1.00", "43.00 ± 3.00", "46.00 ± 1.00",
              " 61.00 |");
    CHECK_ROW(md, "| MaPLe", NULL, "| 1 ", " 70.72 |", " 93.53 |", " 46.49 |", " 48.06 |", " 62.69 |");
    CHECK_ROW(md, "### Cross-dataset transfer from ImageNet", NULL, "ImageNet");
    free(md);
    csv = render_table(h5, "csv", "cross_dataset", &rc);
    CHECK(strstr(csv, "setting,method,seeds,imagenet_mean,imagenet_std,caltech101_mean,caltech101_std,"
                      "dtd_mean,dtd_std,eurosat_mean,eurosat_std,target_avg_mean,target_avg_std\n") != NULL,
          "csv cross header");
    CHECK(strstr(csv, "cross_dataset,CoOp,2,71.0000,1.0000,94.0000,1.0000,43.0000,3.0000,46.0000,1.0000,61.0000,\n"),
          "csv cross CoOp row");
    free(csv);

    /* domain generalisation: 71.00 ± 0.00, 64.50 ± 0.50, 48.00 ± 1.00, 50.00 ± 1.00, 75.50 ± 0.50, 59.50 */
    md = render_table(h5, "md", "domain_generalization", &rc);
    CHECK(rc == 0, "table md dg: %s", cg_error());
    printf("%s", md);
    CHECK_ROW(md, "| Method", "Target avg", "ImageNet", "ImageNet-V2", "ImageNet-Sketch", "ImageNet-A",
              "ImageNet-R", "Target avg");
    CHECK_ROW(md, "| CoOp", NULL, "71.00 ± 0.00", "64.50 ± 0.50", "48.00 ± 1.00", "50.00 ± 1.00",
              "75.50 ± 0.50", " 59.50 |");
    free(md);
    tex = render_table(h5, "tex", "domain_generalization", &rc);
    CHECK(strstr(tex, "CoOp & 2 & $71.00 \\pm 0.00$ & $64.50 \\pm 0.50$ & $48.00 \\pm 1.00$ & "
                      "$50.00 \\pm 1.00$ & $75.50 \\pm 0.50$ & 59.50 \\\\") != NULL, "tex dg row");
    free(tex);

    /* --ci95: ± 1.96·std/√n: base 1.96·1.6330/√3 = 1.85, new 1.96·10.2307/√3 = 11.58 */
    {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        TableOptions o = {"md", "base2new", 0, 1, {0}, NULL, 0};
        rc = results_table_print_opts(f, h5, &o);
        fclose(f);
        CHECK(rc == 0, "ci95: %s", cg_error());
        CHECK_ROW(buf, "| Caltech101", "CoOp", "92.00 ± 1.85", "72.00 ± 11.58", "80.78 |");
        CHECK_ROW(buf, "### Base-to-new", NULL, "95% CI");
        free(buf);
        buf = NULL, f = open_memstream(&buf, &len);
        TableOptions oc = {"csv", "base2new", 0, 1, {0}, NULL, 0};
        results_table_print_opts(f, h5, &oc);
        fclose(f);
        CHECK(strstr(buf, "base_mean,base_ci95,new_mean,new_ci95") != NULL, "csv ci95 header");
        free(buf);
        buf = NULL, f = open_memstream(&buf, &len);
        TableOptions om = {"md", "base2new", 1, 0, {0}, NULL, 0};
        results_table_print_opts(f, h5, &om);
        fclose(f);
        CHECK(!strstr(buf, "±") && strstr(buf, " 92.00 |"), "mean only");
        free(buf);
        /* --mean-only drops the std columns of the CSV too */
        buf = NULL, f = open_memstream(&buf, &len);
        TableOptions omc = {"csv", "base2new", 1, 0, {0}, NULL, 0};
        results_table_print_opts(f, h5, &omc);
        fclose(f);
        CHECK(!strncmp(buf, "setting,dataset,method,seeds,base_mean,new_mean,hm_mean\n", 55) &&
              strstr(buf, "base2new,Caltech101,CoOp,3,92.0000,72.0000,80.7805\n"), "csv mean only: %.120s", buf);
        free(buf);
        /* --std sample: base {90, 92, 94} → 2.00, new {60, 71, 85} → √157 = 12.53 */
        buf = NULL, f = open_memstream(&buf, &len);
        TableOptions os = {"md", "base2new", 0, 0, {STD_SAMPLE, CI_NONE, 0}, NULL, 0};
        rc = results_table_print_opts(f, h5, &os);
        fclose(f);
        CHECK(rc == 0, "sample std: %s", cg_error());
        CHECK_ROW(buf, "| Caltech101", "CoOp", "92.00 ± 2.00", "72.00 ± 12.53");
        CHECK_ROW(buf, "### Base-to-new", NULL, "mean ± sample std (ddof 1)");
        free(buf);
        /* --ci t: t(0.975, 2)·s/√3 = 4.97 and 31.13; tex too */
        buf = NULL, f = open_memstream(&buf, &len);
        TableOptions ot = {"tex", "base2new", 0, 0, {0, CI_T, 0}, NULL, 0};
        rc = results_table_print_opts(f, h5, &ot);
        fclose(f);
        CHECK(rc == 0 && strstr(buf, "$92.00 \\pm 4.97$") && strstr(buf, "$72.00 \\pm 31.13$") &&
              strstr(buf, "t(0.975, n−1)"), "tex --ci t: %s", buf);
        free(buf);
        /* contradictions */
        TableOptions bad1 = {"md", "base2new", 1, 0, {STD_SAMPLE, CI_NONE, 0}, NULL, 0};
        TableOptions bad2 = {"md", "base2new", 0, 1, {0, CI_T, 0}, NULL, 0};
        TableOptions bad3 = {"md", "base2new", 0, 0, {STD_POPULATION, CI_T, 0}, NULL, 0};
        buf = NULL, f = open_memstream(&buf, &len);
        int r1 = results_table_print_opts(f, h5, &bad1), r2 = results_table_print_opts(f, h5, &bad2),
            r3 = results_table_print_opts(f, h5, &bad3);
        fclose(f);
        CHECK(r1 == -1 && r2 == -1 && r3 == -1 && len == 0, "contradictory options are errors, nothing printed");
        free(buf);
    }

    /* every setting at once, in the order base2new, fewshot, cross, dg */
    md = render_table(h5, "md", NULL, &rc);
    const char *a = strstr(md, "### Base-to-new"), *b = strstr(md, "### Few-shot"),
               *c = strstr(md, "### Cross-dataset"), *d = strstr(md, "### Domain");
    CHECK(rc == 0 && a && b && c && d && a < b && b < c && c < d, "all settings in order");
    free(md);

    /* errors */
    md = render_table(h5, "xml", NULL, &rc);
    CHECK(rc == -1 && strstr(cg_error(), "xml"), "unknown format: %s", cg_error());
    free(md);
    md = render_table(h5, "md", "zeroshot", &rc);
    CHECK(rc == -1 && strstr(cg_error(), "zeroshot"), "unknown setting: %s", cg_error());
    free(md);
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/nope.h5", out);
    md = render_table(missing, "md", NULL, &rc);
    CHECK(rc == -1 && strstr(cg_error(), missing), "missing file: %s", cg_error());
    free(md);
    rm_rf(out);
    free(out);
}

/* status counts the jobs holding live claims: one per Slurm job, else per host and pid (pids
 * 123 and 12 of one host are two jobs, listed in that order; two runs of Slurm job 7 are one) */
static void test_status_jobs(void) {
    printf("-- status: jobs holding live claims\n");
    char *out = tmp_dir();
    GridCell cells[4] = {0};
    static const char *const KEY[4] = {"k_a", "k_b", "k_c", "k_d"};
    static const char *const HOLDER[4] = {"host h pid 123 job -", "host h pid 12 job -",
                                          "host h pid 5 job 7", "host g pid 6 job 7"};
    char p[1100];
    snprintf(p, sizeof p, "%s/claims", out);
    mkdir(out, 0755), mkdir(p, 0755);
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(cells[i].id, sizeof cells[i].id, "base2new/coop/x/shots16/seed%d", i + 1);
        snprintf(cells[i].setting, sizeof cells[i].setting, "base2new");
        snprintf(cells[i].dataset, sizeof cells[i].dataset, "x");
        snprintf(cells[i].method, sizeof cells[i].method, "coop");
        snprintf(cells[i].key, sizeof cells[i].key, "%s", KEY[i]);
        cells[i].seed = i + 1, cells[i].shots = 16, cells[i].ranks = 1;
        char *c = run_claim_path(out, KEY[i]);
        FILE *f = fopen(c, "w");
        fprintf(f, "%s start 1.000\n", HOLDER[i]);
        fclose(f);
        free(c);
        RunningMarker m = {0};
        snprintf(m.id, sizeof m.id, "%.150s", cells[i].id);
        snprintf(m.key, sizeof m.key, "%s", KEY[i]);
        snprintf(m.host, sizeof m.host, "%s", i == 3 ? "g" : "h");
        m.pid = i == 0 ? 123 : i == 1 ? 12 : 5 + (i == 3);
        rc |= run_state_write(out, &m);
    }
    rc |= grid_file_write(out, "jobs", cells, 4);
    SweepStatus st;
    CHECK(rc == 0 && sweep_status_collect(out, NULL, 0, &st) == 0, "collect: %s", cg_error());
    CHECK(st.n_running == 4 && st.n_jobs == 3 && strstr(st.jobs, "h pid 12") &&
          strstr(st.jobs, "h pid 123") && strstr(st.jobs, "h (job 7)") && !strstr(st.jobs, "g (job 7)"),
          "4 running, 3 jobs (%d, %d: %s)", st.n_running, st.n_jobs, st.jobs);
    sweep_status_free(&st);
    rm_rf(out);
    free(out);
}

/* ---- 6. status ----------------------------------------------------------------------------- */

static void test_status(void) {
    printf("-- status: done, running, failed, pending, time left\n");
    char *out = tmp_dir();
    CHECK(write_known_sweep(out) == 0, "write_known_sweep: %s", cg_error());
    char h5[1024];
    snprintf(h5, sizeof h5, "%s/results.h5", out);
    ResultsIndex ix;
    CHECK(results_index_read(h5, &ix) == 0, "index: %s", cg_error());
    CHECK(write_status_scenario(out, &ix) == 0, "status scenario: %s", cg_error());
    results_index_free(&ix);
    SweepStatus st;
    CHECK(sweep_status_collect(h5, NULL, 0, &st) == 0, "collect: %s", cg_error());
    /* 21 done (wall 20 s, estimate 15 s each: scale 4/3), 1 failed, 1 running (epoch 5/10 of
     * 40 s, 2 ranks), 3 pending (100 + 50 + the stale 30): left = 180·4/3 + 20·4/3 = 266.67 */
    CHECK(st.have_grid && st.n_grid == 26, "grid cells %d", st.n_grid);
    CHECK(st.n_done == 21 && st.n_failed == 1 && st.n_running == 1 && st.n_stale == 1 && st.n_pending == 3,
          "done %d failed %d running %d stale %d pending %d", st.n_done, st.n_failed, st.n_running,
          st.n_stale, st.n_pending);
    CHECK(fabs(st.scale - 4.0 / 3) < 1e-12, "scale %g", st.scale);
    CHECK(fabs(st.left_rank_seconds - 800.0 / 3) < 1e-9, "left %g (expected 266.67)", st.left_rank_seconds);
    CHECK(st.busy_ranks == 2, "busy ranks %d", st.busy_ranks);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sweep_status_print(f, &st, 0);
    fclose(f);
    printf("%s", buf);
    CHECK(strstr(buf, "done 21   running 1   failed 1   pending 3   total 26") != NULL, "status counts line");
    CHECK(strstr(buf, "about 4m26s of rank time; about 2m13s on the 2 busy ranks") != NULL, "time left line");
    CHECK(strstr(buf, "base2new/coop/dtd/shots16/seed4: NaN loss at epoch 3 (step 17)") != NULL, "failed line");
    CHECK_ROW(buf, "base2new/coop/imagenet/shots16/seed1", NULL, "rank 0", "(+1 ranks)", "epoch 5/10");
    CHECK_ROW(buf, "base2new/coop/sun397/shots16/seed1", NULL, "STALE");
    free(buf);
    sweep_status_free(&st);

    char p[1100];
    snprintf(p, sizeof p, "%s/no/such/results.h5", out);
    CHECK(sweep_status_collect(p, NULL, 0, &st) == -1, "missing OUT must fail");
    rm_rf(out);
    free(out);
}

static void test_utf8(void) {
    printf("-- UTF-8-safe truncation into fixed fields\n");
    char buf[4];
    h5w_copy_utf8(buf, sizeof buf, "ééé"); /* 6 bytes into 3: one é, never half of one */
    CHECK(!strcmp(buf, "é"), "got '%s' (%zu bytes)", buf, strlen(buf));
    h5w_copy_utf8(buf, sizeof buf, "abcdef");
    CHECK(!strcmp(buf, "abc"), "ascii cut '%s'", buf);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write")) {
        ResultsIndex ix;
        char h5[4096];
        snprintf(h5, sizeof h5, "%s/results.h5", argv[2]);
        if (write_known_sweep(argv[2]) != 0 || results_index_read(h5, &ix) != 0 ||
            write_status_scenario(argv[2], &ix) != 0) {
            fprintf(stderr, "test_results --write: %s\n", cg_error());
            return 1;
        }
        return 0;
    }
    test_utf8();
    test_run_file();
    test_atomic();
    test_aggregate();
    test_state();
    test_tables();
    test_status();
    test_status_jobs();
    return test_finish("test_results");
}
