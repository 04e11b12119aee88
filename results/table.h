/* results/table.h — the paper-style tables of a results file (design.md §6, SCHEMA.md "Table
 * rules"): base/new/HM per dataset and method with mean ± std over seeds and the average row
 * (base2new), accuracy per shot count (fewshot), the cross-dataset and domain-generalisation
 * layouts (source, targets, target average); printed as Markdown, CSV or LaTeX. */
#ifndef CLIPGRID_RESULTS_TABLE_H
#define CLIPGRID_RESULTS_TABLE_H

#include <stdio.h>

#include "results/stats.h"

typedef struct {
    const char *format;   /* "md" (default), "csv", "tex", "html" (a <section> for the report) */
    const char *setting;  /* NULL or "": every setting present, one table each */
    int mean_only;        /* print means without ± std (the papers' look) */
    int ci95;             /* ± 1.96·std/√n instead of ± std (CoOp parse_test_res.py --ci95) */
    StatOptions stats;    /* --std, --ci (results/stats.h); mean_only and ci95 above merge into it */
    const char *sweep;    /* NULL: the sweep of the last `run` in the file's folder (select.h) */
    int all_sweeps;       /* every sweep of the folder */
} TableOptions;

/* print the tables of results_h5 to f; 0, or −1 with cg_error (unreadable file, unknown format
 * or setting, no finished run of the setting) */
int results_table_print(FILE *f, const char *results_h5, const char *format, const char *setting);
int results_table_print_opts(FILE *f, const char *results_h5, const TableOptions *opt);

#endif
