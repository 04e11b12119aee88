/* results/plot.c — `clipgrid plot`'s entry: reads the results file, runs the builders of the
 * kinds asked for, records the figures and what is missing (failed runs, seeds a cell lacks). */
#include "results/select.h"
#include "results/plot.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "results/plot_internal.h"

static const char *const KINDS[] = {"b2n", "fewshot", "transfer", "curves", "perclass", "cost", NULL};

void plot_slug(char *dst, size_t cap, const char *s) {
    size_t k = 0;
    for (; *s && k + 1 < cap; s++) {
        char ch = *s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_';
        dst[k++] = ok ? ch : '_';
    }
    dst[k] = 0;
}

void plot_stat(const PlotCtx *c, const Series *s, double *mean, double *spread) {
    *mean = stats_mean(s->v, s->n);
    *spread = s->n > 1 ? stats_spread(&c->o->stats, s->v, s->n) : NAN; /* one seed: no bar */
}

void plot_missing(PlotCtx *c, const char *fmt, ...) {
    if (!c->res) return;
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->res->missing = cg_realloc(c->res->missing, (size_t)(c->res->n_missing + 1) * sizeof(char *));
    c->res->missing[c->res->n_missing++] = cg_strdup(buf);
}

void plot_emit(PlotCtx *c, Figure *f, const char *kind) {
    if (c->rc == 0 && figure_write(f, c->dir, c->o->formats) != 0) c->rc = -1;
    if (c->res) {
        PlotResult *r = c->res;
        r->figs = cg_realloc(r->figs, (size_t)(r->n_figs + 1) * sizeof(PlotFigure));
        PlotFigure *p = &r->figs[r->n_figs++];
        snprintf(p->kind, sizeof p->kind, "%s", kind);
        snprintf(p->stem, sizeof p->stem, "%s", f->stem);
        snprintf(p->title, sizeof p->title, "%s", f->title);
        snprintf(p->caption, sizeof p->caption, "%s", f->caption);
    }
    figure_free(f);
}

void plot_result_free(PlotResult *r) {
    if (!r) return;
    for (int i = 0; i < r->n_missing; i++) free(r->missing[i]);
    free(r->missing), free(r->figs);
    memset(r, 0, sizeof *r);
}

static int wants(const PlotOptions *o, const char *kind) {
    if (!o->kinds || !o->kinds[0]) return 1;
    size_t n = strlen(kind);
    for (const char *p = o->kinds; (p = strstr(p, kind)) != NULL; p += n)
        if ((p == o->kinds || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

static int check_list(const char *list, const char *const *known, const char *what) {
    if (!list || !list[0]) return 0;
    char *copy = cg_strdup(list), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(copy, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
        int ok = 0;
        for (int i = 0; known[i]; i++) ok |= !strcmp(known[i], t);
        if (!ok) rc = -1, cg_error_set("unknown %s '%s'", what, t);
    }
    free(copy);
    return rc;
}

/* failed runs, and seeds that a cell lacks compared with the other cells of its setting */
static void report_missing(PlotCtx *c) {
    for (int i = 0; i < c->ix->n_runs; i++) {
        const RunIndexRow *r = &c->ix->runs[i];
        if (strcmp(r->status, "done")) plot_missing(c, "failed run %s: %s", r->id, r->error);
    }
    static const char *const SETTINGS[] = {"base2new", "fewshot", "cross_dataset", "domain_generalization", NULL};
    for (int k = 0; SETTINGS[k]; k++) {
        SeriesStore st;
        series_collect(&st, c->ix, SETTINGS[k]);
        int seeds[64], ns = 0;
        for (int i = 0; i < st.n; i++)
            for (int j = 0; j < st.s[i].n; j++) {
                int seen = 0;
                for (int q = 0; q < ns; q++) seen |= seeds[q] == st.s[i].seed[j];
                if (!seen && ns < 64) seeds[ns++] = st.s[i].seed[j];
            }
        for (int a = 1; a < ns; a++) /* ascending */
            for (int b = a; b > 0 && seeds[b - 1] > seeds[b]; b--) {
                int t = seeds[b];
                seeds[b] = seeds[b - 1], seeds[b - 1] = t;
            }
        for (int i = 0; i < st.n; i++) {
            const Series *s = &st.s[i];
            char miss[256] = "";
            size_t len = 0;
            for (int q = 0; q < ns; q++) {
                int has = 0;
                for (int j = 0; j < s->n; j++) has |= s->seed[j] == seeds[q];
                if (!has && len + 16 < sizeof miss) len += (size_t)snprintf(miss + len, sizeof miss - len, "%s%d", len ? "," : "", seeds[q]);
            }
            if (len)
                plot_missing(c, "%s %s %s%s%s shots %d, %s: seed%s %s missing (%d of %d seeds)",
                             SETTINGS[k], s->dataset, s->method, s->variant[0] ? "/" : "", s->variant,
                             s->shots, s->label, strchr(miss, ',') ? "s" : "", miss, s->n, ns);
        }
        series_free(&st);
    }
}

int results_plot(const char *results_h5, const char *dir, const PlotOptions *o_in, PlotResult *res) {
    static const char *const FORMATS[] = {"png", "svg", "pdf", NULL};
    PlotOptions o = *o_in;
    if (!o.formats || !o.formats[0]) o.formats = "png,svg,pdf";
    if (check_list(o.kinds, KINDS, "figure kind (b2n, fewshot, transfer, curves, perclass, cost)") ||
        check_list(o.formats, FORMATS, "figure format (png, svg, pdf)") || stats_check(&o.stats))
        return -1;
    if (res) memset(res, 0, sizeof *res);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return cg_error_set("%s: cannot create the figure folder (%s)", dir, strerror(errno)), -1;
    ResultsIndex ix;
    if (results_index_read_sweep(results_h5, o.sweep, o.all_sweeps, &ix) != 0) return -1;
    PlotCtx c = {results_h5, dir, &o, &ix, res, 0};
    report_missing(&c);
    int all = !o.setting || !o.setting[0];
    if (wants(&o, "b2n") && (all || !strcmp(o.setting, "base2new"))) plot_base2new(&c);
    if (wants(&o, "fewshot") && (all || !strcmp(o.setting, "fewshot"))) plot_fewshot(&c);
    if (wants(&o, "transfer") && (all || !strcmp(o.setting, "cross_dataset"))) plot_transfer(&c, "cross_dataset");
    if (wants(&o, "transfer") && (all || !strcmp(o.setting, "domain_generalization")))
        plot_transfer(&c, "domain_generalization");
    if (wants(&o, "curves")) plot_curves(&c);
    if (wants(&o, "perclass")) plot_perclass(&c);
    if (wants(&o, "cost")) plot_cost(&c);
    results_index_free(&ix);
    return c.rc;
}
