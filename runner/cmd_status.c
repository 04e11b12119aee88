/* runner/cmd_status.c — `clipgrid status OUT/results.h5 [--all]`: done, running, failed and
 * pending runs of a sweep with the estimated time left (results/status.h). */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "results/status.h"
#include "runner/cli.h"

static void status_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid status OUT/results.h5 [--all]   (or the OUT folder)\n\n"
            "Shows where a sweep stands, from the output folder (it works while the sweep runs):\n"
            "  done, failed   the run files in OUT/runs (failed ones with their reason)\n"
            "  running        OUT/state markers, with host, rank, epoch; a marker whose process\n"
            "                 is gone (killed rank) is shown as stale and counted as pending\n"
            "  pending        the cells of OUT/grid.json with no run file and no live marker\n"
            "  left           the planner's estimates of the pending and running runs, rescaled\n"
            "                 by how long the finished runs took against their estimates\n\n"
            "  --all          list every pending run (default: the 10 largest)\n");
}

int cmd_status(int argc, char **argv) {
    const char *path = NULL;
    int all = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            status_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--all")) {
            all = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clipgrid status: unknown option '%s'\n\n", argv[i]);
            status_usage(stderr);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "clipgrid status: one results file or folder expected\n");
            return 2;
        }
    }
    if (!path) {
        status_usage(stderr);
        return 2;
    }
    SweepStatus st;
    if (sweep_status_collect(path, &st) != 0) {
        fprintf(stderr, "clipgrid status: %s\n", cg_error());
        return 1;
    }
    sweep_status_print(stdout, &st, all);
    sweep_status_free(&st);
    return 0;
}
