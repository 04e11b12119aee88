/* runner/cmd_status.c — `clipgrid status OUT/results.h5 [--all]`: done, running, failed and
 * pending runs of a sweep with the estimated time left (results/status.h). */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "results/status.h"
#include "runner/cli.h"
#include "runner/env.h"

static void status_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid status OUT [--sweep NAME | --all] [--pending]   (or OUT/results.h5)\n\n"
            "Shows where a sweep stands, from the output folder (it works while the sweep runs):\n"
            "  done, failed   the run files in OUT/runs (failed ones with their reason)\n"
            "  running        OUT/state markers, with host, rank, epoch, pid, Slurm job and the\n"
            "                 heartbeat of the run's claim (OUT/claims); a run whose claim's\n"
            "                 heartbeat is older than CLIPGRID_CLAIM_STALE seconds (600), or\n"
            "                 whose process is dead on this host, is shown as STALE (whatever\n"
            "                 host asks) and counted as pending: the next job takes it over\n"
            "  pending        the cells of OUT/grid.json with no run file and no live marker\n"
            "  left           the planner's estimates of the pending and running runs, rescaled\n"
            "                 by how long the finished runs took against their estimates\n\n"
            "  --sweep NAME   the cells of that sweep of OUT (default: the sweep of the last\n"
            "                 `clipgrid run` in OUT)\n"
            "  --all          the cells of every sweep that ran in OUT\n"
            "  --pending      list every pending run (default: the 10 largest)\n"
            "A path that is not an output folder (a typo) is an error (exit 2).\n");
}

int cmd_status(int argc, char **argv) {
    run_env_configure_claims();
    const char *path = NULL, *sweep = NULL;
    int all = 0, pending = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            status_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--all")) {
            all = 1;
        } else if (!strcmp(argv[i], "--pending")) {
            pending = 1;
        } else if (!strcmp(argv[i], "--sweep") && i + 1 < argc) {
            sweep = argv[++i];
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
    if (sweep_status_collect(path, sweep, all, &st) != 0) {
        fprintf(stderr, "clipgrid status: %s\n", cg_error());
        sweep_status_free(&st);
        return 2;
    }
    sweep_status_print(stdout, &st, pending);
    sweep_status_free(&st);
    return 0;
}
