/* runner/cmd_report.c — `clipgrid report OUT [-o FILE.html] [--std …] [--ci …] [--mean-only]`:
 * one self-contained HTML page about OUT (results/report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/report.h"
#include "runner/cli.h"

static void report_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid report OUT [-o FILE.html] [--std sample|population] [--ci t|z] [--mean-only]\n"
            "                       [--sweep NAME | --all]\n\n"
            "Writes one self-contained HTML file (default OUT/report.html): the tables of every\n"
            "setting, the figures of `clipgrid plot` embedded as PNG (also left in OUT/figures with\n"
            "the CSV of their numbers), failed runs with their errors, missing seeds, provenance\n"
            "(sweeps, weights, data, hosts, devices) and the compute spent. No network, no script.\n"
            "The statistics options are `clipgrid table`'s. --sweep NAME reports that sweep of OUT\n"
            "(default: the sweep of the last `clipgrid run` in OUT), --all every sweep.\n");
}

int cmd_report(int argc, char **argv) {
    const char *path = NULL, *file = NULL, *sweep = NULL;
    int all = 0;
    StatOptions o = {0};
    for (int i = 1, k; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return report_usage(stdout), 0;
        if ((k = stats_parse_arg(&o, argc, argv, &i)) != 0) {
            if (k < 0) return fprintf(stderr, "clipgrid report: %s\n", cg_error()), 2;
        } else if (!strcmp(a, "-o") && i + 1 < argc) file = argv[++i];
        else if (!strcmp(a, "--sweep") && i + 1 < argc) sweep = argv[++i];
        else if (!strcmp(a, "--all")) all = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "clipgrid report: unknown or incomplete option '%s'\n\n", a);
            return report_usage(stderr), 2;
        } else if (!path) path = a;
        else return fprintf(stderr, "clipgrid report: one OUT expected, got '%s' and '%s'\n", path, a), 2;
    }
    if (!path) return report_usage(stderr), 2;
    if (stats_check(&o) != 0) return fprintf(stderr, "clipgrid report: %s\n", cg_error()), 2;
    char *out = NULL, *h5 = cli_results_path(path, &out);
    char *html = file ? cg_strdup(file) : cg_path_join(out, "report.html");
    char *figs = cg_path_join(out, "figures");
    int rc = results_report(h5, html, figs, &o, sweep, all);
    if (rc) fprintf(stderr, "clipgrid report: %s\n", cg_error());
    else printf("%s\n", html);
    free(out), free(h5), free(html), free(figs);
    return rc ? 1 : 0;
}
