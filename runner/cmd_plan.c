/* runner/cmd_plan.c — `clipgrid plan SWEEP.yaml`: the grid, each cell's cost estimate and where
 * it would run on N ranks (runner/grid.h); runs nothing. Cells already finished in OUT are
 * marked. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/run_file.h"
#include "runner/cli.h"
#include "runner/grid.h"
#include "runner/runner.h"
#include "runner/sweep.h"

static void plan_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid plan SWEEP.yaml [--ranks N] [-o OUT]\n\n"
            "Lists the grid of a sweep file: every run with its resolved rank count, estimated\n"
            "FLOPs and time (on its group of ranks), and the rank(s) it would go to on N ranks\n"
            "(largest runs first; multi-rank runs on slots of consecutive ranks, the rest as\n"
            "ranks become free).\n"
            "Runs already finished in OUT (default: the sweep's output) are marked. Runs nothing.\n\n"
            "  --ranks N   ranks to plan for (default 1, or the MPI world size under mpirun)\n"
            "  -o OUT      output folder to compare with (default: the sweep's 'output')\n"
            "  --config ID print the resolved configuration (JSON) of the run ID instead\n"
            "Exit status: 0, or 2 for a bad sweep file (one line: file:line:column: what).\n");
}

static int env_ranks_(void) {
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    if (!v) v = getenv("PMI_SIZE");
    if (!v) v = getenv("SLURM_NTASKS");
    return v ? atoi(v) : 1;
}

const char *cli_duration(double s, char *buf, size_t len) {
    if (s < 60) snprintf(buf, len, "%.1fs", s);
    else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else if (s < 86400 * 3) snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else snprintf(buf, len, "%.1fd", s / 86400);
    return buf;
}

static const char *where_(const GridPlan *p, int i, char *buf, size_t len) {
    if (p->first_rank[i] >= 0)
        snprintf(buf, len, "%d-%d", p->first_rank[i], p->first_rank[i] + p->n_members[i] - 1);
    else snprintf(buf, len, "~%d", p->predicted_rank[i]);
    return buf;
}

static void print_plan_(const Sweep *s, const int *order, int n, const GridPlan *p,
                        const char *out, const ClipConfig *cfg) {
    char a[32], b[32], w[32];
    double total = 0;
    int done = 0, failed = 0;
    printf("sweep %s (%s): %d runs, model %s (%s), data %s, output %s\n", s->name, s->path,
           s->n_cells, cfg->arch, s->weights, s->data_root, out);
    printf("%4s  %-56s %5s %12s %10s %7s  %s\n", "#", "run", "ranks", "GFLOP", "estimate",
           "rank", "state");
    for (int k = 0; k < n; k++) {
        int i = order[k], f = 0;
        const SweepCell *c = &s->cells[i];
        int ex = run_file_exists(out, c->id, &f);
        const char *state = ex == 1 ? (f ? "failed" : "done") : "pending";
        done += ex == 1 && !f, failed += ex == 1 && f;
        total += c->cost;
        printf("%4d  %-56s %5d %12.1f %10s %7s  %s\n", k + 1, c->id, p->n_members[i],
               c->flops / 1e9, cli_duration(c->cost / p->n_members[i], a, sizeof a),
               where_(p, i, w, sizeof w),
               state);
    }
    printf("total %s of rank time (at %.0f GFLOP/s per rank); on %d rank%s about %s "
           "(%d done, %d failed, %d pending)\n", cli_duration(total, a, sizeof a),
           GRID_FLOPS_PER_SECOND / 1e9, p->n_ranks, p->n_ranks == 1 ? "" : "s",
           cli_duration(p->makespan, b, sizeof b), done, failed, n - done - failed);
    printf("rank column: a-b = the group of a multi-rank run; ~r = where the dynamic schedule "
           "would most likely put it\n");
}

/* --config ID: the resolved configuration of one run */
static int show_config_(Sweep *s, const char *id) {
    for (int i = 0; i < s->n_cells; i++)
        if (!strcmp(s->cells[i].id, id)) {
            char *j = sweep_cell_config_json(s, &s->cells[i]);
            printf("%s\n", j);
            free(j);
            sweep_free(s);
            return 0;
        }
    fprintf(stderr, "clipgrid plan: %s: no run '%s' in this sweep (ids look like %s)\n", s->path,
            id, s->cells[0].id);
    sweep_free(s);
    return 2;
}

int cmd_plan(int argc, char **argv) {
    const char *path = NULL, *out = NULL, *show = NULL;
    int ranks = env_ranks_();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return plan_usage(stdout), 0;
        if (!strcmp(argv[i], "--ranks") && i + 1 < argc) {
            ranks = atoi(argv[++i]);
            if (ranks < 1) {
                fprintf(stderr, "clipgrid plan: --ranks expects a positive integer, got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc) show = argv[++i];
        else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "clipgrid plan: unexpected argument '%s'\n\n", argv[i]);
            plan_usage(stderr);
            return 2;
        } else path = argv[i];
    }
    if (!path) return plan_usage(stderr), 2;
    Sweep s;
    ClipConfig cfg;
    if (sweep_load(&s, path) || sweep_check_files(&s)) {
        fprintf(stderr, "%s\n", cg_error());
        sweep_free(&s);
        return 2;
    }
    if (grid_model_config(s.weights, &cfg)) {
        fprintf(stderr, "%s:%d:%d: model.weights: %s\n", s.path, s.weights_pos.line,
                s.weights_pos.col, cg_error());
        sweep_free(&s);
        return 2;
    }
    if (show) return show_config_(&s, show);
    grid_estimate(&s, &cfg, s.data_root);
    int *order = cg_malloc((size_t)s.n_cells * sizeof(int));
    int n = grid_order(&s, NULL, order);
    GridPlan p;
    grid_plan(&s, order, n, ranks, &p);
    print_plan_(&s, order, n, &p, out ? out : s.output, &cfg);
    grid_plan_free(&p);
    free(order);
    sweep_free(&s);
    return 0;
}
