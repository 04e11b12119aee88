/* runner/cmd_plot.c — `clipgrid plot OUT [-o DIR] [--kinds LIST] [--format LIST] [--setting S]
 * [--run ID] [--std …] [--ci …] [--mean-only]`: the figures of a results file (results/plot.h),
 * PNG, SVG and PDF drawn with PLplot, and a CSV of the plotted numbers beside each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "results/plot.h"
#include "runner/cli.h"

static void plot_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid plot OUT [-o DIR] [--kinds LIST] [--format LIST] [--setting S]\n"
            "                     [--run ID] [--std sample|population] [--ci t|z] [--mean-only]\n\n"
            "Draws the figures of OUT/results.h5 (OUT may also be the results file) into DIR\n"
            "(default OUT/figures) with PLplot: STEM.png, STEM.svg, STEM.pdf and STEM.csv (the\n"
            "plotted numbers) per figure, then lists them and what is missing.\n"
            "  --kinds LIST   comma list (default all): b2n (base/new/HM bars per dataset and the\n"
            "                 average), fewshot (accuracy vs shots), transfer (cross-dataset and\n"
            "                 domain generalisation), curves (loss, accuracy, lr per epoch), perclass\n"
            "                 (per-class accuracy with class names), cost (wall and device hours)\n"
            "  --format LIST  png,svg,pdf (default all three)\n"
            "  --setting S    only that setting's runs\n"
            "  --run ID       curves and per-class figures of that run only\n"
            "  --sweep NAME   the runs of that sweep of OUT (default: the sweep of the last\n"
            "                 `clipgrid run` in OUT); --all every sweep of OUT\n"
            "  --std, --ci, --mean-only   the error bars, as for `clipgrid table` (default: population\n"
            "                 std over seeds, the papers' choice)\n");
}

/* OUT or OUT/results.h5 → the results file (caller frees); the folder for the figures */
char *cli_results_path(const char *path, char **out_dir) {
    struct stat sb;
    int dir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    char *file = dir ? cg_path_join(path, "results.h5") : cg_strdup(path);
    if (out_dir) {
        if (dir) *out_dir = cg_strdup(path);
        else {
            *out_dir = cg_strdup(path);
            char *slash = strrchr(*out_dir, '/');
            if (slash) *slash = 0;
            else snprintf(*out_dir, 2, ".");
        }
    }
    return file;
}

int cmd_plot(int argc, char **argv) {
    PlotOptions o = {0};
    const char *path = NULL, *dir = NULL;
    for (int i = 1, k; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return plot_usage(stdout), 0;
        if ((k = stats_parse_arg(&o.stats, argc, argv, &i)) != 0) {
            if (k < 0) return fprintf(stderr, "clipgrid plot: %s\n", cg_error()), 2;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--kinds") || !strcmp(a, "--format") ||
                    !strcmp(a, "--setting") || !strcmp(a, "--run") || !strcmp(a, "--sweep")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "-o")) dir = v;
            else if (!strcmp(a, "--kinds")) o.kinds = v;
            else if (!strcmp(a, "--format")) o.formats = v;
            else if (!strcmp(a, "--setting")) o.setting = v;
            else if (!strcmp(a, "--sweep")) o.sweep = v;
            else o.run = v;
        } else if (!strcmp(a, "--all")) {
            o.all_sweeps = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "clipgrid plot: unknown or incomplete option '%s'\n\n", a);
            return plot_usage(stderr), 2;
        } else if (!path) {
            path = a;
        } else {
            return fprintf(stderr, "clipgrid plot: one OUT expected, got '%s' and '%s'\n", path, a), 2;
        }
    }
    if (!path) return plot_usage(stderr), 2;
    if (stats_check(&o.stats) != 0) return fprintf(stderr, "clipgrid plot: %s\n", cg_error()), 2;
    char *out = NULL, *file = cli_results_path(path, &out);
    char *figdir = dir ? cg_strdup(dir) : cg_path_join(out, "figures");
    PlotResult res;
    int rc = results_plot(file, figdir, &o, &res);
    if (rc == 0) {
        printf("%d figure%s in %s (png/svg/pdf as asked, csv of the plotted numbers):\n", res.n_figs,
               res.n_figs == 1 ? "" : "s", figdir);
        for (int i = 0; i < res.n_figs; i++) printf("  %-9s %s\n", res.figs[i].kind, res.figs[i].stem);
        if (res.n_missing) printf("missing (%d):\n", res.n_missing);
        for (int i = 0; i < res.n_missing; i++) printf("  %s\n", res.missing[i]);
        if (!res.n_figs) printf("no figure: %s holds no finished run to plot\n", file);
    } else {
        fprintf(stderr, "clipgrid plot: %s\n", cg_error());
        rc = strstr(cg_error(), "unknown") == cg_error() ? 2 : 1;
    }
    if (rc != 2) plot_result_free(&res);
    free(file), free(out), free(figdir);
    return rc;
}
