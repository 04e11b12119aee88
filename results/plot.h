/* results/plot.h — `clipgrid plot`: the figures of a results file, drawn with PLplot
 * (results/figure.h) from the same seed series as `clipgrid table` (results/table_data.h):
 *   b2n       base / new / HM bars per method, one figure per dataset and the average
 *   fewshot   accuracy vs shots per method (log2 axis), per dataset and the average; zero-shot
 *             CLIP as a dashed level line
 *   transfer  cross_dataset / domain_generalization: source, targets and target average per method
 *   curves    loss, training accuracy and learning rate per epoch, one line per seed, per
 *             (setting, dataset, method)
 *   perclass  per-class accuracy with the class names, sorted, averaged over seeds (or one run)
 *   cost      wall hours and device hours (wall × ranks) per dataset and method, failed runs included
 * Each figure is DIR/<stem>.png, .svg, .pdf and .csv (the plotted numbers). What is missing
 * (failed runs, seeds absent from a cell, runs without curves or per-class data) is reported. */
#ifndef CLIPGRID_RESULTS_PLOT_H
#define CLIPGRID_RESULTS_PLOT_H

#include <stdio.h>

#include "results/stats.h"

typedef struct {
    const char *formats;   /* "png,svg,pdf" (default) or a subset */
    const char *kinds;     /* NULL or "": all; else a comma list of the kinds above */
    const char *setting;   /* NULL or "": every setting */
    const char *run;       /* perclass / curves of this run id only (NULL: per cell over seeds) */
    StatOptions stats;     /* the error bars: spread over seeds (default population std) */
    const char *sweep;     /* NULL: the sweep of the last `run` in the file's folder (select.h) */
    int all_sweeps;        /* every sweep of the folder */
} PlotOptions;

typedef struct {
    char kind[16], stem[160], title[256], caption[512];
} PlotFigure;

typedef struct {
    int n_figs;
    PlotFigure *figs;
    int n_missing;
    char **missing;        /* one line each: a failed run and its error, a cell's missing seeds, … */
} PlotResult;

/* write the figures of results_h5 into dir (created); a list of them and of what is missing in
 * res (may be NULL); 0, or −1 with cg_error (unreadable file, unknown kind or format) */
int results_plot(const char *results_h5, const char *dir, const PlotOptions *o, PlotResult *res);
void plot_result_free(PlotResult *r);

#endif
