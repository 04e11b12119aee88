/* results/report.h — `clipgrid report`: one self-contained HTML page about an OUT: the tables of
 * every setting, the figures (PNG drawn by results/plot.h, embedded as data: URIs), failed runs
 * with their errors, what is missing, the provenance the OUT holds (sweeps, weights, data root,
 * hosts, devices, schema; what it does not hold is said) and the compute spent. No network, no
 * script: it opens in any browser offline. */
#ifndef CLIPGRID_RESULTS_REPORT_H
#define CLIPGRID_RESULTS_REPORT_H

#include "results/stats.h"

/* write html_path from results_h5, drawing the figures into fig_dir (created; PNG and CSV), for
 * a sweep of the file's folder (sweep NULL: the last `run`'s; all: every sweep; select.h);
 * 0, or −1 with cg_error */
int results_report(const char *results_h5, const char *html_path, const char *fig_dir,
                   const StatOptions *stats, const char *sweep, int all);

#endif
