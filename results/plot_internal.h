/* results/plot_internal.h — what the figure builders of `clipgrid plot` share (results/plot*.c). */
#ifndef CLIPGRID_RESULTS_PLOT_INTERNAL_H
#define CLIPGRID_RESULTS_PLOT_INTERNAL_H

#include "base/util.h"
#include "results/figure.h"
#include "results/plot.h"
#include "results/run_file.h"
#include "results/table_data.h"

typedef struct {
    const char *h5;           /* the results file */
    const char *dir;          /* where the figures go */
    const PlotOptions *o;
    const ResultsIndex *ix;
    PlotResult *res;
    int rc;                   /* −1 once a figure could not be written (cg_error) */
} PlotCtx;

/* write f (all formats and the CSV), record it in ctx->res, free it */
void plot_emit(PlotCtx *c, Figure *f, const char *kind);
void plot_missing(PlotCtx *c, const char *fmt, ...) CG_PRINTF(2, 3);
/* a file-name-safe copy of s: [A-Za-z0-9_-], the rest '_' */
void plot_slug(char *dst, size_t cap, const char *s);
/* mean and spread of a series under the options (NaN spread when undefined) */
void plot_stat(const PlotCtx *c, const Series *s, double *mean, double *spread);

void plot_base2new(PlotCtx *c);
void plot_fewshot(PlotCtx *c);
void plot_transfer(PlotCtx *c, const char *setting);
void plot_curves(PlotCtx *c);
void plot_perclass(PlotCtx *c);
void plot_cost(PlotCtx *c);

#endif
