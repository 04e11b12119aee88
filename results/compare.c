/* results/compare.c — the cell-by-cell comparison of two results files (see compare.h). */
#include "results/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/table_data.h"

static const char *const SETTINGS[] = {"base2new", "fewshot", "cross_dataset", "domain_generalization", NULL};

typedef struct {
    char setting[32], dataset[32], method[16], variant[48], metric[32];
    int shots, na, nb;
    double ma, mb, diff, noise;
    const char *test;   /* paired, unpaired, n<2, only A, only B */
    int flagged;
} CmpRow;

typedef struct {
    CmpRow *r;
    int n, cap;
} CmpRows;

static CmpRow *add_row(CmpRows *rows, const char *setting, const Series *s, const char *metric) {
    if (rows->n == rows->cap) {
        rows->cap = rows->cap ? 2 * rows->cap : 32;
        rows->r = cg_realloc(rows->r, (size_t)rows->cap * sizeof(CmpRow));
    }
    CmpRow *r = &rows->r[rows->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->setting, sizeof r->setting, "%s", setting);
    snprintf(r->dataset, sizeof r->dataset, "%s", s->dataset);
    snprintf(r->method, sizeof r->method, "%s", s->method);
    snprintf(r->variant, sizeof r->variant, "%s", s->variant);
    snprintf(r->metric, sizeof r->metric, "%s", metric);
    r->shots = s->shots;
    r->ma = r->mb = r->diff = r->noise = NAN;
    return r;
}

static int same_seeds(const int *a, int na, const int *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int j = 0; j < nb; j++) found |= a[i] == b[j];
        if (!found) return 0;
    }
    return 1;
}

static double value_of(const double *v, const int *seed, int n, int s) {
    for (int i = 0; i < n; i++)
        if (seed[i] == s) return v[i];
    return NAN;
}

/* fill mean, diff, noise and the flag from the seed values of A and B */
static void judge(CmpRow *r, const StatOptions *o, const double *va, const int *sa, int na,
                  const double *vb, const int *sb, int nb) {
    r->na = na, r->nb = nb;
    r->ma = stats_mean(va, na), r->mb = stats_mean(vb, nb), r->diff = r->mb - r->ma;
    int sample = o->std == STD_SAMPLE;
    if (na >= 2 && same_seeds(sa, na, sb, nb)) {
        double *d = cg_malloc((size_t)na * sizeof(double));
        for (int i = 0; i < na; i++) d[i] = value_of(vb, sb, nb, sa[i]) - va[i];
        r->noise = stats_halfwidth(o, stats_std(d, na, sample), na);
        r->test = "paired";
        free(d);
    } else if (na >= 2 && nb >= 2) {
        double sa2 = pow(stats_std(va, na, sample), 2) / na, sb2 = pow(stats_std(vb, nb, sample), 2) / nb;
        double se = sqrt(sa2 + sb2), q = 1.96;
        if (o->ci == CI_T) { /* Welch–Satterthwaite degrees of freedom */
            double df = (sa2 + sb2) * (sa2 + sb2) / (sa2 * sa2 / (na - 1) + sb2 * sb2 / (nb - 1));
            q = stats_t_quantile(0.975, isfinite(df) && df > 0 ? df : na + nb - 2);
        }
        r->noise = q * se;
        r->test = "unpaired";
    } else {
        r->test = "n<2";
    }
    /* a difference with no seed noise at all (identical per-seed differences) counts when ≠ 0 */
    r->flagged = isfinite(r->noise) && fabs(r->diff) > r->noise && fabs(r->diff) > 1e-9 * (1 + fabs(r->ma));
}

static const char *metric_name(const char *setting, const char *label) {
    return !strcmp(setting, "fewshot") && !strcmp(label, "test") ? "accuracy" : label;
}

/* per-seed HM of base and new (same seeds in both); n = 0 when they differ */
static int seed_hm(const Series *b, const Series *n, double *hm, int *seed) {
    if (!b || !n || !same_seeds(b->seed, b->n, n->seed, n->n)) return 0;
    for (int i = 0; i < b->n; i++)
        hm[i] = harmonic_mean(b->v[i], value_of(n->v, n->seed, n->n, b->seed[i])), seed[i] = b->seed[i];
    return b->n;
}

static void compare_hm(CmpRows *rows, const StatOptions *o, const SeriesStore *A, const SeriesStore *B,
                       const Series *base_a) {
    TableMethod mk = {{0}, {0}, base_a->shots};
    snprintf(mk.method, sizeof mk.method, "%s", base_a->method);
    snprintf(mk.variant, sizeof mk.variant, "%s", base_a->variant);
    const Series *na = series_find(A, base_a->dataset, &mk, base_a->shots, "new");
    const Series *bb = series_find(B, base_a->dataset, &mk, base_a->shots, "base");
    const Series *nb = series_find(B, base_a->dataset, &mk, base_a->shots, "new");
    if (!na || !bb || !nb) return;
    CmpRow *r = add_row(rows, "base2new", base_a, "HM");
    double ha[64], hb[64], mb, sd;
    int sa[64], sb[64];
    if (base_a->n > 64 || bb->n > 64) return;
    int ka = seed_hm(base_a, na, ha, sa), kb = seed_hm(bb, nb, hb, sb);
    if (ka && kb) judge(r, o, ha, sa, ka, hb, sb, kb);
    else r->test = "n<2";
    /* the table's HM: of the seed means, not the mean of the per-seed HMs */
    double mab, man, mbn;
    series_stats(base_a, &mab, &sd), series_stats(na, &man, &sd);
    series_stats(bb, &mb, &sd), series_stats(nb, &mbn, &sd);
    r->ma = harmonic_mean(mab, man), r->mb = harmonic_mean(mb, mbn), r->diff = r->mb - r->ma;
    r->flagged = isfinite(r->noise) && fabs(r->diff) > r->noise && fabs(r->diff) > 1e-9 * (1 + fabs(r->ma));
}

static void compare_setting(CmpRows *rows, const char *setting, const StatOptions *o,
                            const ResultsIndex *ia, const ResultsIndex *ib) {
    SeriesStore A, B;
    series_collect(&A, ia, setting);
    series_collect(&B, ib, setting);
    for (int i = 0; i < A.n; i++) {
        const Series *a = &A.s[i];
        TableMethod mk = {{0}, {0}, a->shots};
        snprintf(mk.method, sizeof mk.method, "%s", a->method);
        snprintf(mk.variant, sizeof mk.variant, "%s", a->variant);
        const Series *b = series_find(&B, a->dataset, &mk, a->shots, a->label);
        CmpRow *r = add_row(rows, setting, a, metric_name(setting, a->label));
        if (b) judge(r, o, a->v, a->seed, a->n, b->v, b->seed, b->n);
        else r->test = "only A", r->na = a->n, r->ma = stats_mean(a->v, a->n);
        if (!strcmp(setting, "base2new") && !strcmp(a->label, "new")) compare_hm(rows, o, &A, &B, series_find(&A, a->dataset, &mk, a->shots, "base") ? series_find(&A, a->dataset, &mk, a->shots, "base") : a);
    }
    for (int i = 0; i < B.n; i++) {
        const Series *b = &B.s[i];
        TableMethod mk = {{0}, {0}, b->shots};
        snprintf(mk.method, sizeof mk.method, "%s", b->method);
        snprintf(mk.variant, sizeof mk.variant, "%s", b->variant);
        if (series_find(&A, b->dataset, &mk, b->shots, b->label)) continue;
        CmpRow *r = add_row(rows, setting, b, metric_name(setting, b->label));
        r->test = "only B", r->nb = b->n, r->mb = stats_mean(b->v, b->n);
    }
    series_free(&A), series_free(&B);
}

static void num(FILE *f, double v, const char *fmt, const char *missing) {
    if (isfinite(v)) fprintf(f, fmt, v);
    else fputs(missing, f);
}

static void print_md(FILE *f, const CmpRows *rows, const char *a, const char *b, const StatOptions *o) {
    fprintf(f, "### Comparison: B − A, A = %s, B = %s\n\n", a, b);
    fprintf(f, "Noise: the 95%% half-width of the difference over seeds (%s; paired over the seeds "
            "both hold, else unpaired); **flagged** where |B − A| exceeds it.\n\n", stats_caption(o));
    fprintf(f, "| Setting | Dataset | Method | Shots | Metric | Seeds A/B | A | B | B − A | Noise ± | Test | |\n");
    fprintf(f, "| --- | --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | --- | --- |\n");
    for (int i = 0; i < rows->n; i++) {
        const CmpRow *r = &rows->r[i];
        TableMethod mk = {{0}, {0}, -1};
        snprintf(mk.method, sizeof mk.method, "%s", r->method);
        snprintf(mk.variant, sizeof mk.variant, "%s", r->variant);
        char name[128];
        method_display(&mk, 0, name, sizeof name);
        fprintf(f, "| %s | %s | %s | %d | %s | %d/%d | ", r->setting, dataset_display(r->dataset), name,
                r->shots, r->metric, r->na, r->nb);
        num(f, r->ma, "%.2f", "–"), fputs(" | ", f);
        num(f, r->mb, "%.2f", "–"), fputs(" | ", f);
        num(f, r->diff, "%+.2f", "–"), fputs(" | ", f);
        num(f, r->noise, "%.2f", "–");
        fprintf(f, " | %s | %s |\n", r->test, r->flagged ? "**flagged**" : "");
    }
}

static void print_csv(FILE *f, const CmpRows *rows, const StatOptions *o) {
    fprintf(f, "setting,dataset,method,variant,shots,metric,seeds_a,seeds_b,mean_a,mean_b,diff,noise_%s,test,flagged\n",
            stats_suffix(o));
    for (int i = 0; i < rows->n; i++) {
        const CmpRow *r = &rows->r[i];
        fprintf(f, "%s,%s,%s,%s,%d,%s,%d,%d,", r->setting, r->dataset, r->method, r->variant, r->shots,
                r->metric, r->na, r->nb);
        num(f, r->ma, "%.4f", ""), fputc(',', f);
        num(f, r->mb, "%.4f", ""), fputc(',', f);
        num(f, r->diff, "%.4f", ""), fputc(',', f);
        num(f, r->noise, "%.4f", "");
        fprintf(f, ",%s,%d\n", r->test, r->flagged);
    }
}

int results_compare(FILE *out, const char *a_h5, const char *b_h5, const char *format,
                    const StatOptions *o_in, int *n_flagged) {
    if (strcmp(format, "md") && strcmp(format, "csv"))
        return cg_error_set("unknown compare format '%s' (md or csv)", format), -1;
    StatOptions o = *o_in;
    if (o.mean_only) return cg_error_set("--mean-only: compare needs the seed spread to judge a difference"), -1;
    if (!o.ci) o.ci = CI_T; /* compare's default: the t interval with the sample std */
    if (stats_check(&o) != 0) return -1;
    ResultsIndex ia, ib;
    if (results_index_read(a_h5, &ia) != 0) return -1;
    if (results_index_read(b_h5, &ib) != 0) return results_index_free(&ia), -1;
    CmpRows rows = {0};
    for (int k = 0; SETTINGS[k]; k++) compare_setting(&rows, SETTINGS[k], &o, &ia, &ib);
    int flagged = 0;
    for (int i = 0; i < rows.n; i++) flagged += rows.r[i].flagged;
    if (!strcmp(format, "csv")) print_csv(out, &rows, &o);
    else print_md(out, &rows, a_h5, b_h5, &o);
    if (!strcmp(format, "md")) fprintf(out, "\n%d of %d cells flagged.\n", flagged, rows.n);
    if (n_flagged) *n_flagged = flagged;
    free(rows.r);
    results_index_free(&ia), results_index_free(&ib);
    return 0;
}
