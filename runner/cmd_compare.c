/* runner/cmd_compare.c — `clipgrid compare OUT_A OUT_B [--format md|csv] [--std …] [--ci …]`:
 * the differences of two results files per cell, flagged beyond seed noise (results/compare.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/compare.h"
#include "runner/cli.h"

static void compare_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid compare OUT_A OUT_B [--format md|csv] [--std sample|population] [--ci t|z]\n\n"
            "Per (setting, dataset, method, shots) and metric (base, new, HM, accuracy, each target):\n"
            "the seed means of A and B, B − A, and the seed noise: the 95%% half-width of the\n"
            "difference, paired over seeds when A and B hold the same seeds (t(0.975, n−1)·s_d/√n of\n"
            "the per-seed differences), else unpaired (Welch). A difference beyond it is flagged.\n"
            "  --format F   md (default) or csv\n"
            "  --ci t|z     t (default, sample std) or z (1.96; population std unless --std sample)\n"
            "Exit status: 0 whether or not cells are flagged (count on the last Markdown line);\n"
            "1 for an unreadable file, 2 for bad options.\n");
}

int cmd_compare(int argc, char **argv) {
    const char *p[2] = {NULL, NULL}, *format = "md";
    StatOptions o = {0};
    int np = 0;
    for (int i = 1, k; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return compare_usage(stdout), 0;
        if ((k = stats_parse_arg(&o, argc, argv, &i)) != 0) {
            if (k < 0) return fprintf(stderr, "clipgrid compare: %s\n", cg_error()), 2;
        } else if (!strcmp(a, "--format") && i + 1 < argc) format = argv[++i];
        else if (!strncmp(a, "--format=", 9)) format = a + 9;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "clipgrid compare: unknown or incomplete option '%s'\n\n", a);
            return compare_usage(stderr), 2;
        } else if (np < 2) p[np++] = a;
        else return fprintf(stderr, "clipgrid compare: two OUTs expected, got a third: '%s'\n", a), 2;
    }
    if (np < 2) return compare_usage(stderr), 2;
    if (strcmp(format, "md") && strcmp(format, "csv"))
        return fprintf(stderr, "clipgrid compare: unknown format '%s' (md or csv)\n", format), 2;
    char *a = cli_results_path(p[0], NULL), *b = cli_results_path(p[1], NULL);
    int flagged = 0, rc = results_compare(stdout, a, b, format, &o, &flagged);
    if (rc) fprintf(stderr, "clipgrid compare: %s\n", cg_error());
    int usage = rc && (strstr(cg_error(), "--") || strstr(cg_error(), "unknown"));
    free(a), free(b);
    return rc ? (usage ? 2 : 1) : 0;
}
