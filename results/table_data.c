/* results/table_data.c — seed series, their statistics, and the papers' names and orders
 * (see table_data.h). */
#include "results/table_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/methods/registry.h"

static const char *const DATASETS[][2] = {
    {"imagenet", "ImageNet"}, {"caltech101", "Caltech101"}, {"oxford_pets", "OxfordPets"},
    {"stanford_cars", "StanfordCars"}, {"oxford_flowers", "Flowers102"}, {"food101", "Food101"},
    {"fgvc_aircraft", "FGVCAircraft"}, {"sun397", "SUN397"}, {"dtd", "DTD"},
    {"eurosat", "EuroSAT"}, {"ucf101", "UCF101"}, {"imagenetv2", "ImageNet-V2"},
    {"imagenet_sketch", "ImageNet-Sketch"}, {"imagenet_a", "ImageNet-A"},
    {"imagenet_r", "ImageNet-R"}, {NULL, NULL}};
static const char *const LABELS[] = {"base", "new", "test", NULL};

static int rank_in(const char *const table[][2], const char *name) {
    int i = 0;
    for (; table[i][0]; i++)
        if (!strcmp(table[i][0], name)) return i;
    return i;
}

/* the registry's order (core/methods/registry.h); unknown methods last */
static int method_rank_(const char *name) {
    int k = method_kind_from_name(name);
    return k < 0 ? METHOD_COUNT : k;
}

const char *dataset_display(const char *name) {
    int i = rank_in(DATASETS, name);
    return DATASETS[i][0] ? DATASETS[i][1] : name;
}

void method_display(const TableMethod *mk, int show_shots, char *buf, size_t cap) {
    const MethodDesc *d = method_find(mk->method);
    const char *name = d ? d->display : mk->method;
    int k = snprintf(buf, cap, "%s", name);
    if (mk->variant[0] && k >= 0 && (size_t)k < cap)
        k += snprintf(buf + k, cap - (size_t)k, " (%s)", mk->variant);
    if (show_shots && mk->shots >= 0 && k >= 0 && (size_t)k < cap)
        snprintf(buf + k, cap - (size_t)k, ", %d shot%s", mk->shots, mk->shots == 1 ? "" : "s");
}

double harmonic_mean(double b, double n) {
    return b + n > 0 ? 2 * b * n / (b + n) : 0;
}

/* ---- the store ----------------------------------------------------------------------------- */

static Series *find_or_add(SeriesStore *st, const RunEvalRow *e) {
    for (int i = 0; i < st->n; i++) {
        Series *s = &st->s[i];
        if (!strcmp(s->dataset, e->dataset) && !strcmp(s->method, e->method) &&
            !strcmp(s->variant, e->variant) && s->shots == e->shots && !strcmp(s->label, e->label))
            return s;
    }
    if (st->n == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 32;
        st->s = cg_realloc(st->s, (size_t)st->cap * sizeof(Series));
    }
    Series *s = &st->s[st->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->dataset, sizeof s->dataset, "%s", e->dataset);
    snprintf(s->method, sizeof s->method, "%s", e->method);
    snprintf(s->variant, sizeof s->variant, "%s", e->variant);
    snprintf(s->label, sizeof s->label, "%s", e->label);
    s->shots = e->shots;
    return s;
}

void series_collect(SeriesStore *st, const ResultsIndex *ix, const char *setting) {
    memset(st, 0, sizeof *st);
    for (int i = 0; i < ix->n_runs; i++)
        if (!strcmp(ix->runs[i].setting, setting) && strcmp(ix->runs[i].status, "done")) st->failed++;
    for (int i = 0; i < ix->n_evals; i++) {
        const RunEvalRow *e = &ix->evals[i];
        if (e->run < 0 || e->run >= ix->n_runs) continue;
        if (strcmp(ix->runs[e->run].status, "done") || strcmp(e->setting, setting)) continue;
        if (isnan(e->accuracy)) continue;
        Series *s = find_or_add(st, e);
        int dup = 0;
        for (int k = 0; k < s->n; k++) dup |= s->seed[k] == e->seed;
        if (dup) { st->duplicates++; continue; }
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 4;
            s->v = cg_realloc(s->v, (size_t)s->cap * sizeof(double));
            s->seed = cg_realloc(s->seed, (size_t)s->cap * sizeof(int));
        }
        s->v[s->n] = e->accuracy, s->seed[s->n] = e->seed;
        s->n++;
    }
}

void series_free(SeriesStore *st) {
    for (int i = 0; i < st->n; i++) free(st->s[i].v), free(st->s[i].seed);
    free(st->s);
    memset(st, 0, sizeof *st);
}

const Series *series_find(const SeriesStore *st, const char *dataset, const TableMethod *mk,
                          int shots, const char *label) {
    for (int i = 0; i < st->n; i++) {
        const Series *s = &st->s[i];
        if (!strcmp(s->dataset, dataset) && !strcmp(s->method, mk->method) &&
            !strcmp(s->variant, mk->variant) && (shots < 0 || s->shots == shots) &&
            !strcmp(s->label, label))
            return s;
    }
    return NULL;
}

void series_stats(const Series *s, double *mean, double *std) {
    double sum = 0, ss = 0;
    for (int i = 0; i < s->n; i++) sum += s->v[i];
    double m = s->n ? sum / s->n : NAN;
    for (int i = 0; i < s->n; i++) ss += (s->v[i] - m) * (s->v[i] - m);
    *mean = m;
    *std = s->n ? sqrt(ss / s->n) : NAN;
}

/* ---- distinct keys, in the papers' order ----------------------------------------------------- */

static int label_rank(const char *l) {
    int i = 0;
    for (; LABELS[i]; i++)
        if (!strcmp(LABELS[i], l)) return i;
    return i + rank_in(DATASETS, l);
}

static int cmp_dataset(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int d = rank_in(DATASETS, x) - rank_in(DATASETS, y);
    return d ? d : strcmp(x, y);
}

static int cmp_label(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int d = label_rank(x) - label_rank(y);
    return d ? d : strcmp(x, y);
}

static char **add_name(char **names, int *n, const char *name) {
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], name)) return names;
    names = cg_realloc(names, (size_t)(*n + 1) * sizeof(char *));
    names[(*n)++] = cg_strdup(name);
    return names;
}

char **series_datasets(const SeriesStore *st, int *n) {
    char **names = NULL;
    *n = 0;
    for (int i = 0; i < st->n; i++) names = add_name(names, n, st->s[i].dataset);
    if (*n) qsort(names, (size_t)*n, sizeof(char *), cmp_dataset);
    return names;
}

char **series_labels(const SeriesStore *st, const char *dataset, int *n) {
    char **names = NULL;
    *n = 0;
    for (int i = 0; i < st->n; i++)
        if (!dataset || !strcmp(st->s[i].dataset, dataset)) names = add_name(names, n, st->s[i].label);
    if (*n) qsort(names, (size_t)*n, sizeof(char *), cmp_label);
    return names;
}

void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

static int cmp_method(const void *a, const void *b) {
    const TableMethod *x = a, *y = b;
    int d = method_rank_(x->method) - method_rank_(y->method);
    if (!d) d = strcmp(x->method, y->method);
    if (!d) d = strcmp(x->variant, y->variant);
    if (!d) d = x->shots - y->shots;
    return d;
}

TableMethod *series_methods(const SeriesStore *st, int with_shots, int *n) {
    TableMethod *mk = cg_calloc((size_t)(st->n ? st->n : 1), sizeof(TableMethod));
    *n = 0;
    for (int i = 0; i < st->n; i++) {
        TableMethod k = {0};
        snprintf(k.method, sizeof k.method, "%s", st->s[i].method);
        snprintf(k.variant, sizeof k.variant, "%s", st->s[i].variant);
        k.shots = with_shots ? st->s[i].shots : -1;
        int seen = 0;
        for (int j = 0; j < *n && !seen; j++) seen = !cmp_method(&mk[j], &k);
        if (!seen) mk[(*n)++] = k;
    }
    if (*n) qsort(mk, (size_t)*n, sizeof *mk, cmp_method);
    return mk;
}

static int cmp_int(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

int *series_shots(const SeriesStore *st, int *n) {
    int *v = cg_calloc((size_t)(st->n ? st->n : 1), sizeof(int));
    *n = 0;
    for (int i = 0; i < st->n; i++) {
        int seen = 0;
        for (int j = 0; j < *n; j++) seen |= v[j] == st->s[i].shots;
        if (!seen) v[(*n)++] = st->s[i].shots;
    }
    if (*n) qsort(v, (size_t)*n, sizeof(int), cmp_int);
    return v;
}
