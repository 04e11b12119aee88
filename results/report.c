/* results/report.c — the HTML report (see report.h): the page, its sections, and the PNG files
 * embedded in base64. */
#include "results/select.h"
#include "results/report.h"

#include <errno.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "results/h5read.h"
#include "results/plot.h"
#include "results/run_file.h"
#include "results/table.h"
#include "results/table_model.h"

static const char CSS[] =
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{padding:.25em .6em;border-bottom:1px solid #ddd}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}tr.block td{border-top:2px solid #888}"
    "caption{text-align:left;font-weight:bold;padding:.4em 0}figure{margin:1.5em 0}"
    "figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#444}"
    "ul.notes{font-size:.9em;color:#555}.fail{color:#a00}code{font-size:.9em}";

/* base64 (RFC 4648) of a file to f; −1 when unreadable */
static int base64_file(FILE *f, const char *path) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *in = fopen(path, "rb");
    if (!in) return cg_error_set("%s: cannot read (%s)", path, strerror(errno)), -1;
    unsigned char b[3];
    size_t n;
    while ((n = fread(b, 1, 3, in)) > 0) {
        unsigned v = (unsigned)b[0] << 16 | (n > 1 ? (unsigned)b[1] << 8 : 0) | (n > 2 ? b[2] : 0);
        char o[4] = {A[v >> 18 & 63], A[v >> 12 & 63], n > 1 ? A[v >> 6 & 63] : '=', n > 2 ? A[v & 63] : '='};
        fwrite(o, 1, 4, f);
    }
    fclose(in);
    return 0;
}

static void esc(FILE *f, const char *s) {
    html_escape(f, s);
}

/* distinct values of a config key (or of an /index column when key starts with '.') */
static void distinct_config(FILE *f, hid_t h, const ResultsIndex *ix, const char *key, const char *what) {
    json_t *seen = json_object();
    for (int i = 0; i < ix->n_runs; i++) {
        char *text = h5r_attr_string(h, ix->runs[i].group, "config");
        json_t *cfg = text ? json_loads(text, 0, NULL) : NULL;
        const char *v = json_string_value(json_object_get(cfg, key));
        if (v && v[0]) json_object_set_new(seen, v, json_true());
        json_decref(cfg), free(text);
    }
    fprintf(f, "<tr><th>%s</th><td>", what);
    const char *k;
    json_t *v;
    int n = 0;
    json_object_foreach(seen, k, v) {
        fputs(n++ ? "<br>" : "", f);
        fputs("<code>", f), esc(f, k), fputs("</code>", f);
    }
    if (!n) fputs("not recorded in this OUT", f);
    fputs("</td></tr>\n", f);
    json_decref(seen);
}

static void distinct_column(FILE *f, const ResultsIndex *ix, size_t off, const char *what) {
    json_t *seen = json_object();
    for (int i = 0; i < ix->n_runs; i++) {
        const char *s = (const char *)&ix->runs[i] + off;
        if (s[0]) json_object_set_new(seen, s, json_true());
    }
    fprintf(f, "<tr><th>%s</th><td>", what);
    const char *k;
    json_t *v;
    int n = 0;
    json_object_foreach(seen, k, v) fputs(n++ ? ", " : "", f), esc(f, k);
    fputs(n ? "" : "–", f);
    fputs("</td></tr>\n", f);
    json_decref(seen);
}

static void root_attr(FILE *f, hid_t h, const char *name, const char *what) {
    fprintf(f, "<tr><th>%s</th><td>", what);
    if (H5Aexists(h, name) > 0) {
        char *s = h5r_attr_string(h, "/", name);
        double d;
        if (s) esc(f, s), free(s);
        else if (h5r_attr_double(h, "/", name, &d) == 0) fprintf(f, "%.17g", d);
    } else {
        fputs("not recorded in this OUT (results schema 1 has no such attribute)", f);
    }
    fputs("</td></tr>\n", f);
}

static void provenance(FILE *f, const char *h5, const ResultsIndex *ix) {
    hid_t h = h5r_open(h5);
    if (h < 0) return;
    fputs("<h2 id=\"provenance\">Provenance</h2>\n<table>\n", f);
    fputs("<tr><th>results file</th><td><code>", f), esc(f, h5), fputs("</code></td></tr>\n", f);
    double created, schema;
    if (h5r_attr_double(h, "/", "created", &created) == 0) {
        char buf[64];
        time_t t = (time_t)created;
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
        fprintf(f, "<tr><th>aggregated</th><td>%s</td></tr>\n", buf);
    }
    if (h5r_attr_double(h, "/", "schema_version", &schema) == 0)
        fprintf(f, "<tr><th>results schema</th><td>%g</td></tr>\n", schema);
    distinct_column(f, ix, offsetof(RunIndexRow, sweep), "sweep name(s)");
    root_attr(f, h, "sweep_file", "sweep file");
    root_attr(f, h, "program_version", "program version");
    distinct_config(f, h, ix, "weights", "weights");
    distinct_config(f, h, ix, "data_root", "data root");
    distinct_column(f, ix, offsetof(RunIndexRow, host), "hosts");
    distinct_column(f, ix, offsetof(RunIndexRow, device), "devices");
    fputs("</table>\n", f);
    h5r_close(h);
}

static void compute(FILE *f, const ResultsIndex *ix) {
    double wall = 0, dev = 0, train = 0, eval = 0, est = 0;
    int done = 0;
    for (int i = 0; i < ix->n_runs; i++) {
        const RunIndexRow *r = &ix->runs[i];
        if (isfinite(r->wall_seconds)) wall += r->wall_seconds, dev += r->wall_seconds * r->ranks;
        if (isfinite(r->train_seconds)) train += r->train_seconds;
        if (isfinite(r->eval_seconds)) eval += r->eval_seconds;
        if (isfinite(r->cost_estimate)) est += r->cost_estimate;
        done += !strcmp(r->status, "done");
    }
    fputs("<h2 id=\"compute\">Compute spent</h2>\n<table>\n", f);
    fprintf(f, "<tr><th>runs</th><td class=\"num\">%d (%d done, %d failed)</td></tr>\n", ix->n_runs, done,
            ix->n_runs - done);
    fprintf(f, "<tr><th>wall time, sum over runs</th><td class=\"num\">%.4f h</td></tr>\n", wall / 3600);
    fprintf(f, "<tr><th>device time (wall × ranks)</th><td class=\"num\">%.4f h</td></tr>\n", dev / 3600);
    fprintf(f, "<tr><th>training / evaluation</th><td class=\"num\">%.4f h / %.4f h</td></tr>\n", train / 3600, eval / 3600);
    fprintf(f, "<tr><th>planner's estimate</th><td class=\"num\">%.4f h</td></tr>\n", est / 3600);
    fputs("</table>\n", f);
}

static void failures(FILE *f, const ResultsIndex *ix, const PlotResult *pr) {
    fputs("<h2 id=\"failed\">Failed runs and missing results</h2>\n", f);
    int nf = 0;
    for (int i = 0; i < ix->n_runs; i++) nf += strcmp(ix->runs[i].status, "done") != 0;
    if (nf) {
        fputs("<table><thead><tr><th>run</th><th>host</th><th>error</th></tr></thead><tbody>\n", f);
        for (int i = 0; i < ix->n_runs; i++) {
            const RunIndexRow *r = &ix->runs[i];
            if (!strcmp(r->status, "done")) continue;
            fputs("<tr class=\"fail\"><td><code>", f), esc(f, r->id), fputs("</code></td><td>", f);
            esc(f, r->host), fputs("</td><td>", f), esc(f, r->error), fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    } else {
        fputs("<p>No failed run.</p>\n", f);
    }
    if (pr->n_missing) {
        fputs("<ul class=\"notes\">\n", f);
        for (int i = 0; i < pr->n_missing; i++) fputs("<li>", f), esc(f, pr->missing[i]), fputs("</li>\n", f);
        fputs("</ul>\n", f);
    }
}

static const char *const KIND_TITLE[][2] = {
    {"b2n", "Base-to-new"}, {"fewshot", "Few-shot"}, {"transfer", "Cross-dataset and domain generalisation"},
    {"curves", "Learning curves"}, {"perclass", "Per-class accuracy"}, {"cost", "Cost"}, {NULL, NULL}};

static int figures(FILE *f, const PlotResult *pr, const char *dir) {
    fputs("<h2 id=\"figures\">Figures</h2>\n", f);
    for (int k = 0; KIND_TITLE[k][0]; k++) {
        int n = 0;
        for (int i = 0; i < pr->n_figs; i++) n += !strcmp(pr->figs[i].kind, KIND_TITLE[k][0]);
        if (!n) continue;
        int fold = n > 6; /* long lists (curves, per-class) folded; <details> needs no script */
        fprintf(f, fold ? "<details><summary><h3 style=\"display:inline\">%s (%d figures)</h3></summary>\n"
                        : "<h3>%s</h3>\n", KIND_TITLE[k][1], n);
        for (int i = 0; i < pr->n_figs; i++) {
            const PlotFigure *p = &pr->figs[i];
            if (strcmp(p->kind, KIND_TITLE[k][0])) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.png", dir, p->stem);
            fputs("<figure><img alt=\"", f), esc(f, p->title), fputs("\" src=\"data:image/png;base64,", f);
            if (base64_file(f, path) != 0) return -1;
            fputs("\"><figcaption><b>", f), esc(f, p->title), fputs(".</b> ", f), esc(f, p->caption);
            fputs(" <code>", f), esc(f, p->stem), fputs(".csv</code></figcaption></figure>\n", f);
        }
        if (fold) fputs("</details>\n", f);
    }
    return 0;
}

int results_report(const char *results_h5, const char *html_path, const char *fig_dir,
                   const StatOptions *stats, const char *sweep, int all) {
    PlotOptions po = {"png", NULL, NULL, NULL, *stats, sweep, all};
    PlotResult pr;
    if (results_plot(results_h5, fig_dir, &po, &pr) != 0) return -1;
    ResultsIndex ix;
    if (results_index_read_sweep(results_h5, sweep, all, &ix) != 0) return plot_result_free(&pr), -1;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", html_path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        cg_error_set("%s: cannot write (%s)", tmp, strerror(errno));
        return results_index_free(&ix), plot_result_free(&pr), -1;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>clipgrid report</title>\n", f);
    fprintf(f, "<style>%s</style></head><body>\n<h1>clipgrid report</h1>\n<p><code>", CSS);
    esc(f, results_h5);
    fputs("</code> — <a href=\"#tables\">tables</a> · <a href=\"#figures\">figures</a> · <a href=\"#failed\">"
          "failed runs</a> · <a href=\"#provenance\">provenance</a> · <a href=\"#compute\">compute</a></p>\n", f);
    fputs("<h2 id=\"tables\">Tables</h2>\n", f);
    TableOptions to = {"html", NULL, 0, 0, *stats, sweep, all};
    int rc = 0;
    if (results_table_print_opts(f, results_h5, &to) != 0) fputs("<p>No finished run: no table.</p>\n", f);
    rc = figures(f, &pr, fig_dir);
    failures(f, &ix, &pr);
    provenance(f, results_h5, &ix);
    compute(f, &ix);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0 && !rc) rc = -1, cg_error_set("%s: write failed", tmp);
    if (!rc && rename(tmp, html_path) != 0) rc = -1, cg_error_set("%s: cannot rename (%s)", html_path, strerror(errno));
    if (rc) remove(tmp);
    results_index_free(&ix);
    plot_result_free(&pr);
    return rc;
}
