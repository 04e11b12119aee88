/* runner/cmd_export.c — `clipgrid export OUT --format csv|jsonl [--per-class] [-o FILE]`: one
 * row per run (or per class) of a results file (results/export.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/export.h"
#include "runner/cli.h"

static void export_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid export OUT --format csv|jsonl [--per-class] [-o FILE]\n"
            "                       [--sweep NAME | --all]\n\n"
            "Writes the runs of OUT/results.h5 (OUT may be the file) to stdout or FILE:\n"
            "  one row per run: every /index column (results/SCHEMA.md), acc_<label> and f1_<label>\n"
            "  per evaluation set, and cfg_<key> for the top-level options of the run's config\n"
            "  --per-class    one row per (run, evaluation set, class): label, class_index,\n"
            "                 class_name, accuracy (done runs)\n"
            "  --sweep NAME   the runs of that sweep of OUT (default: the sweep of the last\n"
            "                 `clipgrid run` in OUT; stale results of earlier grids are left out)\n"
            "  --all          every sweep of OUT (rows labelled with the sweep)\n"
            "CSV loads with pandas.read_csv(FILE) (str columns); JSON lines with\n"
            "pandas.read_json(FILE, lines=True). NaN is an empty CSV field or JSON null.\n");
}

int cmd_export(int argc, char **argv) {
    const char *path = NULL, *format = NULL, *file = NULL;
    const char *sweep = NULL;
    int per_class = 0, all = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return export_usage(stdout), 0;
        if (!strcmp(a, "--format") && i + 1 < argc) format = argv[++i];
        else if (!strncmp(a, "--format=", 9)) format = a + 9;
        else if (!strcmp(a, "-o") && i + 1 < argc) file = argv[++i];
        else if (!strcmp(a, "--per-class")) per_class = 1;
        else if (!strcmp(a, "--sweep") && i + 1 < argc) sweep = argv[++i];
        else if (!strcmp(a, "--all")) all = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "clipgrid export: unknown or incomplete option '%s'\n\n", a);
            return export_usage(stderr), 2;
        } else if (!path) path = a;
        else return fprintf(stderr, "clipgrid export: one OUT expected, got '%s' and '%s'\n", path, a), 2;
    }
    if (!path || !format) {
        if (path) fprintf(stderr, "clipgrid export: --format csv|jsonl is required\n");
        return export_usage(stderr), 2;
    }
    if (strcmp(format, "csv") && strcmp(format, "jsonl"))
        return fprintf(stderr, "clipgrid export: unknown format '%s' (csv or jsonl)\n", format), 2;
    char *h5 = cli_results_path(path, NULL);
    FILE *out = file ? fopen(file, "w") : stdout;
    if (!out) {
        fprintf(stderr, "clipgrid export: %s: cannot write\n", file);
        free(h5);
        return 1;
    }
    int rc = results_export(out, h5, format, per_class, sweep, all);
    if (file && fclose(out) != 0 && !rc) rc = -1, cg_error_set("%s: write failed", file);
    if (rc) fprintf(stderr, "clipgrid export: %s\n", cg_error());
    free(h5);
    return rc ? 1 : 0;
}
