/* results/plot_runs.c — the figures read from the run groups of results.h5 (/runs/<stem>):
 * learning curves (loss, training accuracy, learning rate per epoch; one line per seed),
 * per-class accuracy with the class names (sorted, mean over seeds or one run), and the compute
 * spent (wall and device hours per dataset and method). Only `done` runs enter curves and
 * per-class figures; the cost counts every run, failed ones included. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/h5read.h"
#include "results/plot_internal.h"

/* a float64 dataset as doubles; NULL (and *n = 0) when absent or empty */
static double *read_f64(hid_t f, const char *path, int *n) {
    *n = 0;
    if (!h5r_exists(f, path)) return NULL;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) return NULL;
    hid_t sp = H5Dget_space(d);
    hssize_t k = H5Sget_simple_extent_npoints(sp);
    double *v = NULL;
    if (k > 0) {
        v = cg_malloc((size_t)k * sizeof(double));
        if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) free(v), v = NULL;
        else *n = (int)k;
    }
    H5Sclose(sp), H5Dclose(d);
    return v;
}

static int same_cell(const RunIndexRow *a, const RunIndexRow *b) {
    return !strcmp(a->setting, b->setting) && !strcmp(a->dataset, b->dataset) &&
           !strcmp(a->method, b->method) && !strcmp(a->variant, b->variant) && a->shots == b->shots;
}

static int selected(const PlotCtx *c, const RunIndexRow *r) {
    if (strcmp(r->status, "done")) return 0;
    if (c->o->setting && c->o->setting[0] && strcmp(c->o->setting, r->setting)) return 0;
    return !c->o->run || !c->o->run[0] || !strcmp(c->o->run, r->id);
}

/* "base2new_dtd_coop_s16" */
static void cell_stem(char *dst, size_t cap, const char *prefix, const RunIndexRow *r, const char *extra) {
    char raw[320], slug[320];
    snprintf(raw, sizeof raw, "%s_%s_%s%s%s_s%d%s%s", r->setting, r->dataset, r->method,
             r->variant[0] ? "-" : "", r->variant, r->shots, extra ? "_" : "", extra ? extra : "");
    plot_slug(slug, sizeof slug, raw);
    snprintf(dst, cap, "%s_%.140s", prefix, slug);
}

static void cell_title(char *dst, size_t cap, const char *what, const RunIndexRow *r) {
    TableMethod mk = {{0}, {0}, r->shots};
    snprintf(mk.method, sizeof mk.method, "%s", r->method);
    snprintf(mk.variant, sizeof mk.variant, "%s", r->variant);
    char name[128];
    method_display(&mk, 1, name, sizeof name);
    snprintf(dst, cap, "%s: %s, %s (%s)", what, dataset_display(r->dataset), name, r->setting);
}

/* ---- learning curves ----------------------------------------------------------------------- */

void plot_curves(PlotCtx *c) {
    hid_t f = h5r_open(c->h5);
    if (f < 0) return;
    const RunIndexRow *R = c->ix->runs;
    int n = c->ix->n_runs;
    char *done = cg_calloc((size_t)(n ? n : 1), 1);
    static const char *const CURVE[3] = {"loss", "accuracy", "lr"};
    static const char *const YLAB[3] = {"training loss", "training accuracy (%)", "learning rate"};
    for (int i = 0; i < n; i++) {
        if (done[i] || !selected(c, &R[i])) continue;
        char stem[160], title[256], path[320], name[64];
        cell_stem(stem, sizeof stem, "curves", &R[i], NULL);
        cell_title(title, sizeof title, "Learning curves", &R[i]);
        Figure fig;
        figure_init(&fig, stem, title);
        for (int k = 0; k < 3; k++) figure_panel(&fig, PANEL_LINES, "", k == 2 ? "epoch" : "", YLAB[k]);
        int lines = 0;
        for (int j = i; j < n; j++) {
            if (done[j] || !selected(c, &R[j]) || !same_cell(&R[i], &R[j])) continue;
            done[j] = 1;
            snprintf(name, sizeof name, "seed %d", R[j].seed);
            for (int k = 0; k < 3; k++) {
                int m;
                snprintf(path, sizeof path, "%s/curves/%s", R[j].group, CURVE[k]);
                double *v = read_f64(f, path, &m);
                if (!m) continue;
                FigPanel *p = &fig.p[k];
                FigSeries *s = panel_series(p, name, m);
                for (int e = 0; e < m; e++) s->x[e] = e + 1, s->y[e] = v[e];
                lines += k == 0;
                free(v);
            }
        }
        if (!lines) {
            plot_missing(c, "%s: no training curves (0 epochs: zero-shot)", title);
            figure_free(&fig);
            continue;
        }
        figure_caption(&fig, "One line per seed; per epoch: mean training loss, training accuracy, "
                       "learning rate. A curve the method does not produce is empty.");
        plot_emit(c, &fig, "curves");
    }
    free(done);
    h5r_close(f);
}

/* ---- per-class accuracy -------------------------------------------------------------------- */

typedef struct {
    int n;              /* classes */
    char **names;
    double *sum, *sq;   /* per class over seeds (NaN classes skipped) */
    int *cnt;
    double **vals;      /* [class][seed] for the spread */
    int seeds;
} ClassAcc;

static int cmp_desc(const void *a, const void *b, void *ctx) {
    const double *m = ctx;
    int x = *(const int *)a, y = *(const int *)b;
    double u = isfinite(m[x]) ? m[x] : -1, v = isfinite(m[y]) ? m[y] : -1;
    return u < v ? 1 : u > v ? -1 : x - y;
}

static void perclass_figure(PlotCtx *c, const RunIndexRow *r, const char *label, ClassAcc *a) {
    char stem[160], title[256], t2[300];
    cell_stem(stem, sizeof stem, "perclass", r, label);
    cell_title(title, sizeof title, "Per-class accuracy", r);
    snprintf(t2, sizeof t2, "%s, %s set", title, label);
    if (c->o->run && c->o->run[0]) snprintf(t2, sizeof t2, "Per-class accuracy: %s, %s set", r->id, label);
    double *mean = cg_malloc((size_t)a->n * sizeof(double)), *spr = cg_malloc((size_t)a->n * sizeof(double));
    int *order = cg_malloc((size_t)a->n * sizeof(int));
    for (int k = 0; k < a->n; k++) {
        mean[k] = a->cnt[k] ? a->sum[k] / a->cnt[k] : NAN;
        spr[k] = stats_spread(&c->o->stats, a->vals[k], a->cnt[k]);
        order[k] = k;
    }
    qsort_r(order, (size_t)a->n, sizeof(int), cmp_desc, mean);
    Figure fig;
    figure_init(&fig, stem, t2);
    FigPanel *p = &fig.p[figure_panel(&fig, PANEL_BARS, "", "", "accuracy (%)")];
    p->horizontal = 1;
    char **g = cg_calloc((size_t)a->n, sizeof(char *));
    for (int k = 0; k < a->n; k++) g[k] = a->names[order[k]];
    panel_set_groups(p, g, a->n);
    free(g);
    char sname[64];
    snprintf(sname, sizeof sname, a->seeds > 1 ? "mean of %d seeds" : "%d seed", a->seeds);
    FigSeries *s = panel_series(p, sname, a->n);
    int nan = 0;
    for (int k = 0; k < a->n; k++) {
        s->y[k] = mean[order[k]], s->err[k] = a->seeds > 1 ? spr[order[k]] : NAN;
        nan += !isfinite(mean[order[k]]);
    }
    const char *cap = stats_caption(&c->o->stats);
    figure_caption(&fig, "Classes sorted by accuracy; %s%s. ", a->seeds > 1 ? "error bars: " : "one run",
                   a->seeds > 1 ? cap : "");
    if (nan) figure_caption(&fig, "%d class%s without test images (no bar).", nan, nan == 1 ? "" : "es");
    plot_emit(c, &fig, "perclass");
    free(mean), free(spr), free(order);
}

static void class_acc_free(ClassAcc *a) {
    for (int k = 0; k < a->n; k++) free(a->names[k]), free(a->vals[k]);
    free(a->names), free(a->sum), free(a->sq), free(a->cnt), free(a->vals);
    memset(a, 0, sizeof *a);
}

/* add one run's per-class accuracies of set `grp` to a; 0 when absent */
static int class_acc_add(hid_t f, const char *grp, ClassAcc *a, int max_seeds) {
    char path[448];
    snprintf(path, sizeof path, "%.400s/per_class", grp);
    int n;
    double *v = read_f64(f, path, &n);
    if (!n) return 0;
    if (a->n && a->n != n) return free(v), 0;
    if (!a->n) {
        int nn = 0;
        char **names = h5r_attr_strings(f, grp, "class_names", &nn);
        a->n = n;
        a->names = cg_calloc((size_t)n, sizeof(char *));
        for (int k = 0; k < n; k++) {
            char def[32];
            snprintf(def, sizeof def, "class %d", k);
            a->names[k] = cg_strdup(names && k < nn ? names[k] : def);
        }
        h5r_free_strings(names, nn);
        a->sum = cg_calloc((size_t)n, sizeof(double)), a->sq = cg_calloc((size_t)n, sizeof(double));
        a->cnt = cg_calloc((size_t)n, sizeof(int));
        a->vals = cg_calloc((size_t)n, sizeof(double *));
        for (int k = 0; k < n; k++) a->vals[k] = cg_calloc((size_t)max_seeds, sizeof(double));
    }
    for (int k = 0; k < n; k++)
        if (isfinite(v[k])) a->vals[k][a->cnt[k]++] = v[k], a->sum[k] += v[k];
    a->seeds++;
    free(v);
    return 1;
}

void plot_perclass(PlotCtx *c) {
    hid_t f = h5r_open(c->h5);
    if (f < 0) return;
    const RunIndexRow *R = c->ix->runs;
    int n = c->ix->n_runs;
    char *done = cg_calloc((size_t)(n ? n : 1), 1);
    for (int i = 0; i < n; i++) {
        if (done[i] || !selected(c, &R[i])) continue;
        char obj[256];
        snprintf(obj, sizeof obj, "%s/evals", R[i].group);
        int nl = 0;
        char **labels = h5r_attr_strings(f, obj, "order", &nl);
        for (int l = 0; l < nl; l++) {
            ClassAcc a = {0};
            char grp[400];
            for (int j = i; j < n; j++) {
                if (!selected(c, &R[j]) || !same_cell(&R[i], &R[j])) continue;
                snprintf(grp, sizeof grp, "%s/evals/%s", R[j].group, labels[l]);
                class_acc_add(f, grp, &a, n);
            }
            if (a.n) perclass_figure(c, &R[i], labels[l], &a);
            else plot_missing(c, "%s %s %s shots %d, %s: no per-class accuracies stored", R[i].setting,
                              R[i].dataset, R[i].method, R[i].shots, labels[l]);
            class_acc_free(&a);
        }
        h5r_free_strings(labels, nl);
        for (int j = i; j < n; j++) done[j] |= selected(c, &R[j]) && same_cell(&R[i], &R[j]);
    }
    free(done);
    h5r_close(f);
}

/* ---- cost ------------------------------------------------------------------------------------ */

static int index_of(char ***names, int *n, const char *s) {
    for (int i = 0; i < *n; i++)
        if (!strcmp((*names)[i], s)) return i;
    *names = cg_realloc(*names, (size_t)(*n + 1) * sizeof(char *));
    (*names)[*n] = cg_strdup(s);
    return (*n)++;
}

void plot_cost(PlotCtx *c) {
    const RunIndexRow *R = c->ix->runs;
    char **ds = NULL, **ms = NULL;
    int nd = 0, nm = 0;
    for (int i = 0; i < c->ix->n_runs; i++) {
        if (c->o->setting && c->o->setting[0] && strcmp(c->o->setting, R[i].setting)) continue;
        index_of(&ds, &nd, R[i].dataset);
        char key[80];
        snprintf(key, sizeof key, "%s%s%s", R[i].method, R[i].variant[0] ? "\t" : "", R[i].variant);
        index_of(&ms, &nm, key);
    }
    if (!nd) return;
    Figure fig;
    figure_init(&fig, "cost", "Compute spent");
    FigPanel *p[2] = {&fig.p[figure_panel(&fig, PANEL_BARS, "wall time", "", "wall hours")],
                      &fig.p[figure_panel(&fig, PANEL_BARS, "device time (wall × ranks)", "", "device hours")]};
    char **disp = cg_calloc((size_t)nd, sizeof(char *));
    for (int d = 0; d < nd; d++) disp[d] = (char *)dataset_display(ds[d]);
    double total[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        panel_set_groups(p[k], disp, nd);
        for (int m = 0; m < nm; m++) {
            TableMethod mk = {{0}, {0}, -1};
            char *tab = strchr(ms[m], '\t'), name[128];
            snprintf(mk.method, sizeof mk.method, "%.*s", tab ? (int)(tab - ms[m]) : (int)strlen(ms[m]), ms[m]);
            if (tab) snprintf(mk.variant, sizeof mk.variant, "%s", tab + 1);
            method_display(&mk, 0, name, sizeof name);
            FigSeries *s = panel_series(p[k], name, nd);
            for (int i = 0; i < c->ix->n_runs; i++) {
                if (c->o->setting && c->o->setting[0] && strcmp(c->o->setting, R[i].setting)) continue;
                if (strcmp(R[i].method, mk.method) || strcmp(R[i].variant, mk.variant)) continue;
                int d = index_of(&ds, &nd, R[i].dataset);
                double h = (isfinite(R[i].wall_seconds) ? R[i].wall_seconds : 0) / 3600 * (k ? R[i].ranks : 1);
                s->y[d] = isfinite(s->y[d]) ? s->y[d] + h : h;
                total[k] += h;
            }
        }
    }
    free(disp);
    figure_caption(&fig, "Sum over all runs (failed runs included) of wall_seconds; device hours "
                   "multiply by the run's ranks. Total: %.4f wall hours, %.4f device hours.", total[0], total[1]);
    plot_emit(c, &fig, "cost");
    free_names(ds, nd), free_names(ms, nm);
}
