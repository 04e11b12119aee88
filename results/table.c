/* results/table.c — the layouts of `clipgrid table` (SCHEMA.md "Table rules"): which rows and
 * columns each setting gets and what goes in the cells; the printing is in table_{md,csv,tex}.c.
 *   base2new   Dataset | Method | Seeds | Base | New | HM, one block per dataset, then the
 *              Average block (means of the per-dataset means, HM of those)
 *   fewshot    Dataset | Method | Seeds | <k> shots…, then the Average block
 *   cross_dataset, domain_generalization   per source dataset: Method | Seeds | <source> |
 *              <targets>… | Target avg (mean of the target means) */
#include "results/table.h"
#include "results/select.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/table_data.h"
#include "results/table_model.h"

static const char *const SETTINGS[] = {"base2new", "fewshot", "cross_dataset",
                                       "domain_generalization", NULL};

static const StatOptions *g_stats; /* the options of the table being built */

static void stat_cell(Table *t, int r, int c, const Series *s) {
    if (!s) return;
    double m, sd;
    series_stats(s, &m, &sd);
    table_set_stat(t, r, c, m, stats_spread(g_stats, s->v, s->n), s->n);
}

static void seeds_cell(Table *t, int r, int c, const Series *const *s, int n) {
    int lo = 0, hi = 0;
    for (int i = 0; i < n; i++) {
        if (!s[i]) continue;
        if (!lo || s[i]->n < lo) lo = s[i]->n;
        if (s[i]->n > hi) hi = s[i]->n;
    }
    char buf[32];
    if (lo == hi) snprintf(buf, sizeof buf, "%d", hi);
    else snprintf(buf, sizeof buf, "%d–%d", lo, hi);
    if (hi) table_set_text(t, r, c, buf);
}

static const char *pm(const Table *t) {
    static char buf[160];
    if (t->mean_only) return "mean";
    snprintf(buf, sizeof buf, "mean ± %s", t->spread);
    return buf;
}

static void common_notes(Table *t, const SeriesStore *st) {
    if (st->failed)
        table_note(t, "%d failed run%s not included (`clipgrid status` lists them with their errors)",
                   st->failed, st->failed == 1 ? "" : "s");
    if (st->duplicates)
        table_note(t, "%d run%s with a seed already counted for the same cell skipped",
                   st->duplicates, st->duplicates == 1 ? "" : "s");
}

/* ---- base2new --------------------------------------------------------------------------------- */

static void layout_base2new(Table *t, const SeriesStore *st) {
    int nd, nm, ns;
    char **ds = series_datasets(st, &nd);
    TableMethod *mk = series_methods(st, 1, &nm);
    int *shots = series_shots(st, &ns);
    char title[256], name[128];
    if (ns == 1) snprintf(title, sizeof title, "Base-to-new generalisation, %d shots: accuracy %%, "
                          "%s over seeds; HM of the seed means", shots[0], pm(t));
    else snprintf(title, sizeof title, "Base-to-new generalisation: accuracy %%, %s over seeds; "
                  "HM of the seed means", pm(t));
    snprintf(t->title, sizeof t->title, "%s", title);
    int cD = table_add_col(t, "Dataset", "dataset", COL_TEXT);
    int cM = table_add_col(t, "Method", "method", COL_TEXT);
    int cS = table_add_col(t, "Seeds", "seeds", COL_TEXT);
    int cB = table_add_col(t, "Base", "base", COL_STAT);
    int cN = table_add_col(t, "New", "new", COL_STAT);
    int cH = table_add_col(t, "HM", "hm", COL_STAT);
    for (int d = 0; d < nd; d++) {
        int first = 1;
        for (int m = 0; m < nm; m++) {
            const Series *s[2] = {series_find(st, ds[d], &mk[m], mk[m].shots, "base"),
                                  series_find(st, ds[d], &mk[m], mk[m].shots, "new")};
            if (!s[0] && !s[1]) continue;
            int r = table_add_row(t, first);
            first = 0;
            method_display(&mk[m], ns > 1, name, sizeof name);
            table_set_text(t, r, cD, dataset_display(ds[d]));
            table_set_text(t, r, cM, name);
            seeds_cell(t, r, cS, s, 2);
            stat_cell(t, r, cB, s[0]);
            stat_cell(t, r, cN, s[1]);
            if (s[0] && s[1]) {
                double b, n, sd;
                series_stats(s[0], &b, &sd);
                series_stats(s[1], &n, &sd);
                table_set_value(t, r, cH, harmonic_mean(b, n));
            }
        }
    }
    int first = 1, partial = 0;
    for (int m = 0; m < nm; m++) {
        double sb = 0, sn = 0;
        int k = 0;
        for (int d = 0; d < nd; d++) {
            const Series *b = series_find(st, ds[d], &mk[m], mk[m].shots, "base");
            const Series *n = series_find(st, ds[d], &mk[m], mk[m].shots, "new");
            if (!b || !n) continue;
            double mb, mn, sd;
            series_stats(b, &mb, &sd);
            series_stats(n, &mn, &sd);
            sb += mb, sn += mn, k++;
        }
        if (!k) continue;
        partial |= k < nd;
        int r = table_add_row(t, first);
        first = 0;
        char label[48];
        snprintf(label, sizeof label, "Average (%d)", k);
        method_display(&mk[m], ns > 1, name, sizeof name);
        table_set_text(t, r, cD, label);
        table_set_text(t, r, cM, name);
        table_set_value(t, r, cB, sb / k);
        table_set_value(t, r, cN, sn / k);
        table_set_value(t, r, cH, harmonic_mean(sb / k, sn / k));
    }
    if (partial)
        table_note(t, "Average (k): over the k datasets with both base and new results for that "
                   "method; the table has %d", nd);
    free_names(ds, nd), free(mk), free(shots);
}

/* ---- fewshot ------------------------------------------------------------------------------------ */

static void layout_fewshot(Table *t, const SeriesStore *st) {
    int nd, nm, ns;
    char **ds = series_datasets(st, &nd);
    TableMethod *mk = series_methods(st, 0, &nm);
    int *shots = series_shots(st, &ns);
    char name[128];
    snprintf(t->title, sizeof t->title, "Few-shot learning: accuracy %% by shots per class, %s over "
             "seeds", pm(t));
    int cD = table_add_col(t, "Dataset", "dataset", COL_TEXT);
    int cM = table_add_col(t, "Method", "method", COL_TEXT);
    int cS = table_add_col(t, "Seeds", "seeds", COL_TEXT);
    int c0 = t->n_cols;
    for (int k = 0; k < ns && t->n_cols < TM_MAX_COLS; k++) {
        char col[32], key[32];
        snprintf(col, sizeof col, "%d shot%s", shots[k], shots[k] == 1 ? "" : "s");
        snprintf(key, sizeof key, "shots%d", shots[k]);
        table_add_col(t, col, key, COL_STAT);
    }
    int ncol = t->n_cols - c0;
    const Series **row = cg_calloc((size_t)(ncol ? ncol : 1), sizeof(Series *));
    for (int d = 0; d < nd; d++) {
        int first = 1;
        for (int m = 0; m < nm; m++) {
            int any = 0;
            for (int k = 0; k < ncol; k++) any |= !!(row[k] = series_find(st, ds[d], &mk[m], shots[k], "test"));
            if (!any) continue;
            int r = table_add_row(t, first);
            first = 0;
            method_display(&mk[m], 0, name, sizeof name);
            table_set_text(t, r, cD, dataset_display(ds[d]));
            table_set_text(t, r, cM, name);
            seeds_cell(t, r, cS, row, ncol);
            for (int k = 0; k < ncol; k++) stat_cell(t, r, c0 + k, row[k]);
        }
    }
    int first = 1, partial = 0;
    for (int m = 0; m < nm; m++) {
        int r = -1, kmin = 0, kmax = 0;
        for (int k = 0; k < ncol; k++) {
            double sum = 0, sd, mean;
            int cnt = 0;
            for (int d = 0; d < nd; d++) {
                const Series *s = series_find(st, ds[d], &mk[m], shots[k], "test");
                if (!s) continue;
                series_stats(s, &mean, &sd);
                sum += mean, cnt++;
            }
            if (!cnt) continue;
            if (r < 0) r = table_add_row(t, first), first = 0;
            if (!kmin || cnt < kmin) kmin = cnt;
            if (cnt > kmax) kmax = cnt;
            table_set_value(t, r, c0 + k, sum / cnt);
        }
        if (r < 0) continue;
        partial |= kmin != kmax;
        char label[48];
        snprintf(label, sizeof label, "Average (%d)", kmax);
        method_display(&mk[m], 0, name, sizeof name);
        table_set_text(t, r, cD, label);
        table_set_text(t, r, cM, name);
    }
    if (partial)
        table_note(t, "averages are over the datasets present in each column, which differ");
    free(row);
    free_names(ds, nd), free(mk), free(shots);
}

/* ---- cross_dataset and domain_generalization ------------------------------------------------- */

/* the table of one source (training) dataset */
static void layout_transfer(Table *t, const SeriesStore *st, const char *source, int dg) {
    int nm, nl, ns;
    TableMethod *mk = series_methods(st, 1, &nm);
    char **labels = series_labels(st, source, &nl);
    int *shots = series_shots(st, &ns);
    char name[128];
    snprintf(t->title, sizeof t->title, "%s from %s: accuracy %%, %s over seeds; target average "
             "of the means", dg ? "Domain generalisation" : "Cross-dataset transfer",
             dataset_display(source), pm(t));
    int cM = table_add_col(t, "Method", "method", COL_TEXT);
    int cS = table_add_col(t, "Seeds", "seeds", COL_TEXT);
    int cSrc = table_add_col(t, dataset_display(source), source, COL_STAT);
    int c0 = t->n_cols;
    for (int l = 0; l < nl && t->n_cols < TM_MAX_COLS - 1; l++)
        if (strcmp(labels[l], source)) table_add_col(t, dataset_display(labels[l]), labels[l], COL_STAT);
    int ntgt = t->n_cols - c0;
    int cAvg = table_add_col(t, "Target avg", "target_avg", COL_STAT);
    const Series **row = cg_calloc((size_t)(ntgt + 1), sizeof(Series *));
    int partial = 0;
    for (int m = 0; m < nm; m++) {
        row[0] = series_find(st, source, &mk[m], mk[m].shots, source);
        int any = !!row[0], cnt = 0;
        double sum = 0;
        for (int k = 0; k < ntgt; k++) {
            row[k + 1] = series_find(st, source, &mk[m], mk[m].shots, t->col_key[c0 + k]);
            if (!row[k + 1]) continue;
            double mean, sd;
            series_stats(row[k + 1], &mean, &sd);
            sum += mean, cnt++, any = 1;
        }
        if (!any) continue;
        int r = table_add_row(t, 0);
        method_display(&mk[m], ns > 1, name, sizeof name);
        table_set_text(t, r, cM, name);
        seeds_cell(t, r, cS, row, ntgt + 1);
        stat_cell(t, r, cSrc, row[0]);
        for (int k = 0; k < ntgt; k++) stat_cell(t, r, c0 + k, row[k + 1]);
        if (cnt) table_set_value(t, r, cAvg, sum / cnt);
        partial |= cnt && cnt < ntgt;
    }
    if (partial) table_note(t, "a target average over fewer than the %d target columns: a method lacks some targets", ntgt);
    free(row);
    free(mk), free_names(labels, nl), free(shots);
}

/* ---- entry ------------------------------------------------------------------------------------ */

static void print_table(FILE *f, const Table *t, const char *format, int index) {
    if (!strcmp(format, "csv")) {
        if (index) fputc('\n', f);
        table_print_csv(f, t);
    } else if (!strcmp(format, "tex")) {
        if (index) fputc('\n', f);
        table_print_tex(f, t);
    } else if (!strcmp(format, "html")) {
        table_print_html(f, t);
    } else {
        if (index) fputc('\n', f);
        table_print_md(f, t);
    }
}

/* print the tables of one setting; the number printed */
static int print_setting(FILE *f, const ResultsIndex *ix, const char *setting,
                         const TableOptions *opt, int printed) {
    SeriesStore st;
    series_collect(&st, ix, setting);
    if (!st.n) {
        series_free(&st);
        return 0;
    }
    int n_src = 1, count = 0;
    char **sources = NULL;
    int transfer = !strcmp(setting, "cross_dataset") || !strcmp(setting, "domain_generalization");
    if (transfer) sources = series_datasets(&st, &n_src);
    for (int i = 0; i < n_src; i++) {
        Table t;
        table_init(&t, setting, "");
        t.mean_only = opt->stats.mean_only;
        t.ci95 = opt->stats.ci != CI_NONE;
        snprintf(t.spread, sizeof t.spread, "%s", stats_caption(&opt->stats));
        g_stats = &opt->stats;
        if (!strcmp(setting, "base2new")) layout_base2new(&t, &st);
        else if (!strcmp(setting, "fewshot")) layout_fewshot(&t, &st);
        else layout_transfer(&t, &st, sources[i], !strcmp(setting, "domain_generalization"));
        common_notes(&t, &st);
        print_table(f, &t, opt->format, printed + count);
        count++;
        table_free(&t);
    }
    if (sources) free_names(sources, n_src);
    series_free(&st);
    return count;
}

int results_table_print_opts(FILE *f, const char *results_h5, const TableOptions *opt_in) {
    TableOptions opt = *opt_in;
    if (!opt.format || !opt.format[0]) opt.format = "md";
    if (strcmp(opt.format, "md") && strcmp(opt.format, "csv") && strcmp(opt.format, "tex") &&
        strcmp(opt.format, "html")) {
        cg_error_set("unknown table format '%s' (md, csv, tex or html)", opt.format);
        return -1;
    }
    opt.stats.mean_only |= opt.mean_only;
    if (opt.ci95 && opt.stats.ci == CI_T) {
        cg_error_set("--ci95 (a z interval) contradicts --ci t");
        return -1;
    }
    if (opt.ci95) opt.stats.ci = CI_Z;
    if (stats_check(&opt.stats) != 0) return -1;
    int want = opt.setting && opt.setting[0];
    if (want) {
        int known = 0;
        for (int i = 0; SETTINGS[i]; i++) known |= !strcmp(SETTINGS[i], opt.setting);
        if (!known) {
            cg_error_set("unknown setting '%s' (base2new, fewshot, cross_dataset or "
                         "domain_generalization)", opt.setting);
            return -1;
        }
    }
    ResultsIndex ix;
    if (results_index_read_sweep(results_h5, opt.sweep, opt.all_sweeps, &ix) != 0) return -1;
    int printed = 0;
    for (int i = 0; SETTINGS[i]; i++)
        if (!want || !strcmp(SETTINGS[i], opt.setting))
            printed += print_setting(f, &ix, SETTINGS[i], &opt, printed);
    results_index_free(&ix);
    if (!printed) {
        if (want) cg_error_set("%s: no finished run of setting %s", results_h5, opt.setting);
        else cg_error_set("%s: no finished run", results_h5);
        return -1;
    }
    return 0;
}

int results_table_print(FILE *f, const char *results_h5, const char *format, const char *setting) {
    TableOptions opt = {.format = format, .setting = setting};
    return results_table_print_opts(f, results_h5, &opt);
}
