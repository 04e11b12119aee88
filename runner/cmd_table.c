/* runner/cmd_table.c — `clipgrid table OUT/results.h5 [--format md|csv|tex] [--setting S]
 * [--mean-only | --ci95]`: the paper-style tables of a results file (results/table.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "results/table.h"
#include "runner/cli.h"

static void table_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid table OUT/results.h5 [--format md|csv|tex] [--setting SETTING]\n"
            "       (or the OUT folder)\n"
            "                      [--mean-only | --ci95]\n\n"
            "Prints the tables of a results file in the papers' layouts, from the finished runs\n"
            "(failed runs are counted in a note):\n"
            "  base2new               base, new and HM per dataset and method, mean ± std over\n"
            "                         seeds (population std), HM of the seed-averaged base and\n"
            "                         new, and the average row (HM of the averaged base and new)\n"
            "  fewshot                accuracy per dataset, method and shots\n"
            "  cross_dataset          source and target accuracies per method, target average\n"
            "  domain_generalization  ImageNet and its variants per method, target average\n\n"
            "  --format F     md (Markdown, default), csv (one header line, <col>_mean and\n"
            "                 <col>_std columns, 4 decimals) or tex (booktabs tabular)\n"
            "  --setting S    only that setting (default: every setting in the file)\n"
            "  --mean-only    means without ± std\n"
            "  --ci95         ± 1.96·std/√n (a 95%% interval, as parse_test_res.py --ci95) instead\n"
            "                 of ± std\n"
            "  --sweep NAME   the runs of that sweep of the output folder (default: the sweep of\n"
            "                 the last `clipgrid run` there)\n"
            "  --all          every sweep of the output folder (rows labelled with the sweep)\n");
}

int cmd_table(int argc, char **argv) {
    TableOptions opt = {"md", NULL, 0, 0, NULL, 0};
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            table_usage(stdout);
            return 0;
        } else if ((!strcmp(a, "--format") || !strcmp(a, "--setting")) && i + 1 < argc) {
            if (!strcmp(a, "--format")) opt.format = argv[++i];
            else opt.setting = argv[++i];
        } else if (!strncmp(a, "--format=", 9)) {
            opt.format = a + 9;
        } else if (!strncmp(a, "--setting=", 10)) {
            opt.setting = a + 10;
        } else if (!strcmp(a, "--sweep") && i + 1 < argc) {
            opt.sweep = argv[++i];
        } else if (!strcmp(a, "--all")) {
            opt.all_sweeps = 1;
        } else if (!strcmp(a, "--mean-only")) {
            opt.mean_only = 1;
        } else if (!strcmp(a, "--ci95")) {
            opt.ci95 = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "clipgrid table: unknown or incomplete option '%s'\n\n", a);
            table_usage(stderr);
            return 2;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "clipgrid table: one results file expected, got '%s' and '%s'\n", path, a);
            return 2;
        }
    }
    if (!path) {
        table_usage(stderr);
        return 2;
    }
    struct stat sb;
    char *file = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) ? cg_path_join(path, "results.h5")
                                                             : cg_strdup(path); /* OUT works too */
    int rc = results_table_print_opts(stdout, file, &opt);
    free(file);
    if (rc != 0) {
        fprintf(stderr, "clipgrid table: %s\n", cg_error());
        return strstr(cg_error(), "unknown") == cg_error() ? 2 : 1;
    }
    return 0;
}
