/* runner/cmd_table.c — `clipgrid table OUT/results.h5 [--format md|csv|tex] [--setting S]
 * [--std sample|population] [--ci t|z] [--mean-only]`: the paper-style tables of a results file
 * (results/table.h; the statistics options are results/stats.h's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "results/table.h"
#include "runner/cli.h"

static void table_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid table OUT/results.h5 [--format md|csv|tex|html] [--setting SETTING]\n"
            "       (or the OUT folder)\n"
            "                      [--std sample|population] [--ci t|z] [--mean-only]\n\n"
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
            "  --std S        population (default: ddof 0, as the papers' parse_test_res.py) or\n"
            "                 sample (ddof 1)\n"
            "  --ci t|z       ± a 95%% confidence half-width instead of ± std: z = 1.96·std/√n\n"
            "                 (parse_test_res.py --ci95; population std unless --std sample),\n"
            "                 t = t(0.975, n−1)·s/√n with the sample std s\n"
            "  --ci95         the same as --ci z\n"
            "  --mean-only    means alone: no ± and no std columns in any format\n"
            "  --sweep NAME   the runs of that sweep of the output folder (default: the sweep of\n"
            "                 the last `clipgrid run` there)\n"
            "  --all          every sweep of the output folder (rows labelled with the sweep)\n"
            "The title of each table says which spread is shown. Contradictory options (--mean-only\n"
            "with --std or --ci, --ci t with --std population, --ci t with --ci95) are an error.\n");
}

int cmd_table(int argc, char **argv) {
    TableOptions opt = {.format = "md"};
    const char *path = NULL;
    for (int i = 1, k; i < argc; i++) {
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
        } else if ((k = stats_parse_arg(&opt.stats, argc, argv, &i)) != 0) {
            if (k < 0) {
                fprintf(stderr, "clipgrid table: %s\n", cg_error());
                return 2;
            }
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
    if (stats_check(&opt.stats) != 0) {
        fprintf(stderr, "clipgrid table: %s\n", cg_error());
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
