/* results/plot_settings.c — the figures of the table layouts: base / new / HM bars per dataset
 * (base2new), accuracy vs shots (fewshot), source / targets / target average (cross_dataset,
 * domain_generalization). The numbers are the table's: seed means, HM of the seed means, averages
 * of the per-dataset means; error bars are the spread the statistics options ask for. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results/plot_internal.h"

static void caption_spread(PlotCtx *c, Figure *f) {
    const char *cap = stats_caption(&c->o->stats);
    if (cap[0]) figure_caption(f, "Bars: seed means; error bars: %s over seeds. ", cap);
    else figure_caption(f, "Seed means (no spread shown). ");
}

/* ---- base2new ----------------------------------------------------------------------------- */

static void b2n_figure(PlotCtx *c, const SeriesStore *st, const TableMethod *mk, int nm, int ns,
                       const char *dataset, char **ds, int nd) {
    char stem[160], slug[64], title[256], name[128];
    plot_slug(slug, sizeof slug, dataset ? dataset : "average");
    snprintf(stem, sizeof stem, "b2n_%s", slug);
    if (dataset) snprintf(title, sizeof title, "Base-to-new: %s", dataset_display(dataset));
    else snprintf(title, sizeof title, "Base-to-new: average over datasets");
    Figure f;
    figure_init(&f, stem, title);
    FigPanel *p = &f.p[figure_panel(&f, PANEL_BARS, "", "", "accuracy (%)")];
    char *groups[3] = {"Base", "New", "HM"};
    panel_set_groups(p, groups, 3);
    for (int m = 0; m < nm; m++) {
        double v[3] = {NAN, NAN, NAN}, e[3] = {NAN, NAN, NAN};
        int k = 0;
        if (dataset) {
            const Series *b = series_find(st, dataset, &mk[m], mk[m].shots, "base");
            const Series *n = series_find(st, dataset, &mk[m], mk[m].shots, "new");
            if (!b && !n) continue;
            if (b) plot_stat(c, b, &v[0], &e[0]);
            if (n) plot_stat(c, n, &v[1], &e[1]);
            if (b && n) v[2] = harmonic_mean(v[0], v[1]);
        } else { /* the table's Average row: means of the per-dataset means, HM of those */
            double sb = 0, sn = 0, sd;
            for (int d = 0; d < nd; d++) {
                const Series *b = series_find(st, ds[d], &mk[m], mk[m].shots, "base");
                const Series *n = series_find(st, ds[d], &mk[m], mk[m].shots, "new");
                if (!b || !n) continue;
                double mb, mn;
                plot_stat(c, b, &mb, &sd), plot_stat(c, n, &mn, &sd);
                sb += mb, sn += mn, k++;
            }
            if (!k) continue;
            v[0] = sb / k, v[1] = sn / k, v[2] = harmonic_mean(v[0], v[1]);
        }
        method_display(&mk[m], ns > 1, name, sizeof name);
        FigSeries *s = panel_series(p, name, 3);
        for (int i = 0; i < 3; i++) s->y[i] = v[i], s->err[i] = e[i];
    }
    caption_spread(c, &f);
    figure_caption(&f, dataset ? "HM of the seed means (no error bar)." :
                   "Average: mean of the per-dataset means over the datasets with both base and new; HM of those.");
    plot_emit(c, &f, "b2n");
}

void plot_base2new(PlotCtx *c) {
    SeriesStore st;
    series_collect(&st, c->ix, "base2new");
    int nd, nm, ns;
    char **ds = series_datasets(&st, &nd);
    TableMethod *mk = series_methods(&st, 1, &nm);
    int *shots = series_shots(&st, &ns);
    for (int d = 0; d < nd; d++) b2n_figure(c, &st, mk, nm, ns, ds[d], ds, nd);
    if (nd) b2n_figure(c, &st, mk, nm, ns, NULL, ds, nd);
    free_names(ds, nd), free(mk), free(shots);
    series_free(&st);
}

/* ---- fewshot ----------------------------------------------------------------------------- */

static void fewshot_figure(PlotCtx *c, const SeriesStore *st, const TableMethod *mk, int nm,
                           const int *shots, int ns, const char *dataset, char **ds, int nd) {
    char stem[160], slug[64], title[256], name[128];
    plot_slug(slug, sizeof slug, dataset ? dataset : "average");
    snprintf(stem, sizeof stem, "fewshot_%s", slug);
    snprintf(title, sizeof title, "Few-shot: %s", dataset ? dataset_display(dataset) : "average over datasets");
    Figure f;
    figure_init(&f, stem, title);
    FigPanel *p = &f.p[figure_panel(&f, PANEL_LINES, "", "shots per class", "accuracy (%)")];
    p->log2x = 1;
    for (int m = 0; m < nm; m++) {
        int zs = !strcmp(mk[m].method, "zsclip");
        method_display(&mk[m], 0, name, sizeof name);
        FigSeries tmp = {0};
        double *y = cg_malloc((size_t)ns * sizeof(double)), *e = cg_malloc((size_t)ns * sizeof(double));
        int any = 0;
        for (int k = 0; k < ns; k++) {
            y[k] = e[k] = NAN;
            if (dataset) {
                const Series *s = series_find(st, dataset, &mk[m], shots[k], "test");
                if (s) plot_stat(c, s, &y[k], &e[k]), any = 1;
            } else {
                double sum = 0, mean, sd;
                int cnt = 0;
                for (int d = 0; d < nd; d++) {
                    const Series *s = series_find(st, ds[d], &mk[m], shots[k], "test");
                    if (s) plot_stat(c, s, &mean, &sd), sum += mean, cnt++;
                }
                if (cnt) y[k] = sum / cnt, any = 1;
            }
        }
        (void)tmp;
        if (any) {
            if (zs) strncat(name, " (zero-shot)", sizeof name - strlen(name) - 1);
            FigSeries *s = panel_series(p, name, zs ? 1 : ns);
            if (zs) { /* a level line at the zero-shot accuracy (whatever shot count it ran with) */
                for (int k = 0; k < ns; k++)
                    if (isfinite(y[k])) s->x[0] = shots[k], s->y[0] = y[k], s->err[0] = e[k];
                s->level = 1;
            } else {
                for (int k = 0; k < ns; k++) s->x[k] = shots[k], s->y[k] = y[k], s->err[k] = e[k];
            }
        }
        free(y), free(e);
    }
    if (dataset) caption_spread(c, &f);
    else figure_caption(&f, "Average: the mean of the per-dataset seed means at each shot count. ");
    figure_caption(&f, "Zero-shot CLIP: dashed level line.");
    plot_emit(c, &f, "fewshot");
}

void plot_fewshot(PlotCtx *c) {
    SeriesStore st;
    series_collect(&st, c->ix, "fewshot");
    int nd, nm, ns;
    char **ds = series_datasets(&st, &nd);
    TableMethod *mk = series_methods(&st, 0, &nm);
    int *shots = series_shots(&st, &ns);
    for (int d = 0; d < nd; d++) fewshot_figure(c, &st, mk, nm, shots, ns, ds[d], ds, nd);
    if (nd) fewshot_figure(c, &st, mk, nm, shots, ns, NULL, ds, nd);
    free_names(ds, nd), free(mk), free(shots);
    series_free(&st);
}

/* ---- cross_dataset, domain_generalization -------------------------------------------------- */

static void transfer_figure(PlotCtx *c, const SeriesStore *st, const char *setting, const char *source) {
    int nm, nl, ns, dg = !strcmp(setting, "domain_generalization");
    TableMethod *mk = series_methods(st, 1, &nm);
    char **labels = series_labels(st, source, &nl);
    int *shots = series_shots(st, &ns);
    char stem[160], slug[64], title[256], name[128];
    plot_slug(slug, sizeof slug, source);
    snprintf(stem, sizeof stem, "%s_%s", dg ? "dg" : "xd", slug);
    snprintf(title, sizeof title, "%s from %s", dg ? "Domain generalisation" : "Cross-dataset transfer",
             dataset_display(source));
    Figure f;
    figure_init(&f, stem, title);
    FigPanel *p = &f.p[figure_panel(&f, PANEL_BARS, "", "", "accuracy (%)")];
    char **groups = cg_calloc((size_t)nl + 2, sizeof(char *)), **keys = cg_calloc((size_t)nl + 2, sizeof(char *));
    int ng = 0;
    groups[ng] = (char *)dataset_display(source), keys[ng++] = (char *)source;
    for (int l = 0; l < nl; l++)
        if (strcmp(labels[l], source)) groups[ng] = (char *)dataset_display(labels[l]), keys[ng++] = labels[l];
    groups[ng++] = "Target avg";
    panel_set_groups(p, groups, ng);
    for (int m = 0; m < nm; m++) {
        FigSeries *s = NULL;
        double sum = 0;
        int cnt = 0;
        for (int g = 0; g + 1 < ng; g++) {
            const Series *z = series_find(st, source, &mk[m], mk[m].shots, keys[g]);
            if (!z) continue;
            if (!s) {
                method_display(&mk[m], ns > 1, name, sizeof name);
                s = panel_series(p, name, ng);
            }
            plot_stat(c, z, &s->y[g], &s->err[g]);
            if (g > 0) sum += s->y[g], cnt++;
        }
        if (s && cnt) s->y[ng - 1] = sum / cnt;
    }
    caption_spread(c, &f);
    figure_caption(&f, "Target avg: mean of the target means (no error bar).");
    plot_emit(c, &f, "transfer");
    free(groups), free(keys);
    free(mk), free_names(labels, nl), free(shots);
}

void plot_transfer(PlotCtx *c, const char *setting) {
    SeriesStore st;
    series_collect(&st, c->ix, setting);
    int nd;
    char **ds = series_datasets(&st, &nd);
    for (int d = 0; d < nd; d++) transfer_figure(c, &st, setting, ds[d]);
    free_names(ds, nd);
    series_free(&st);
}
