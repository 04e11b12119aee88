/* results/export.h — `clipgrid export`: the runs of a results file as flat rows for pandas,
 * spreadsheets and jq. One row per run: every /index column, the accuracy and macro-F1 of each
 * evaluation set (acc_<label>, f1_<label>) and the key options of the run's configuration
 * (cfg_<key>, the top-level values of its config JSON); or, with per_class, one row per
 * (run, evaluation set, class) with the class name. CSV (RFC 4180, empty field for NaN or
 * absent) or JSON lines (null for NaN). */
#ifndef CLIPGRID_RESULTS_EXPORT_H
#define CLIPGRID_RESULTS_EXPORT_H

#include <stdio.h>

/* format "csv" or "jsonl"; the runs of a sweep of the file's folder (sweep NULL: the last
 * `run`'s; all: every sweep; results/select.h); 0, or −1 with cg_error */
int results_export(FILE *out, const char *results_h5, const char *format, int per_class,
                   const char *sweep, int all);

#endif
