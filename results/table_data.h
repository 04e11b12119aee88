/* results/table_data.h — the seed series behind a table: every finished run's accuracy on each
 * evaluation set, grouped by (training dataset, method, variant, shots, evaluation label), with
 * mean and population std (ddof 0) over the seeds; display names and the papers' orders of
 * datasets and methods. Internal to results/table*.c. */
#ifndef CLIPGRID_RESULTS_TABLE_DATA_H
#define CLIPGRID_RESULTS_TABLE_DATA_H

#include "results/run_file.h"

typedef struct {
    char dataset[32], method[16], variant[48], label[32];
    int shots;
    int n, cap;
    double *v;
    int *seed;
} Series;

typedef struct {
    Series *s;
    int n, cap;
    int duplicates;    /* runs skipped because their seed was already in the series */
    int failed;        /* failed runs of the setting */
} SeriesStore;

/* method + variant + shots: one row or row group of a table */
typedef struct {
    char method[16], variant[48];
    int shots;         /* −1 when shots is a column (fewshot) */
} TableMethod;

/* series of the `done` runs of `setting` in ix */
void series_collect(SeriesStore *st, const ResultsIndex *ix, const char *setting);
void series_free(SeriesStore *st);
/* NULL when absent; shots < 0 matches any */
const Series *series_find(const SeriesStore *st, const char *dataset, const TableMethod *mk,
                          int shots, const char *label);
/* mean and population std (ddof 0) of s */
void series_stats(const Series *s, double *mean, double *std);

/* distinct training datasets / labels (papers' order, unknown names after, alphabetical) */
char **series_datasets(const SeriesStore *st, int *n);
char **series_labels(const SeriesStore *st, const char *dataset, int *n);
/* distinct method keys (papers' order); with_shots: shots is part of the key */
TableMethod *series_methods(const SeriesStore *st, int with_shots, int *n);
/* distinct shot counts, ascending */
int *series_shots(const SeriesStore *st, int *n);
void free_names(char **names, int n);

const char *dataset_display(const char *name);  /* "ImageNet", "Flowers102", … or name */
/* "CoOp", "CoOp (ctx16)", "CoOp, 4 shots" */
void method_display(const TableMethod *mk, int show_shots, char *buf, size_t cap);
double harmonic_mean(double b, double n);

#endif
