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
#include "runner/preflight.h"
#include "runner/run_key.h"
#include "runner/sweep.h"
#include <sys/stat.h>

static void plan_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid plan SWEEP.yaml [--ranks N] [-o OUT] [--quick]\n\n"
            "Lists the grid of a sweep file: every run with its resolved rank count, estimated\n"
            "FLOPs and time (on its group of ranks), and the rank(s) it would go to on N ranks\n"
            "(largest runs first; multi-rank runs on slots of consecutive ranks, the rest as\n"
            "ranks become free).\n"
            "Runs already finished in OUT (default: the sweep's output) are marked. Runs nothing.\n\n"
            "  --ranks N   ranks to plan for (default 1, or the MPI world size under mpirun)\n"
            "  -o OUT      output folder to compare with (default: the sweep's 'output')\n"
            "  --config ID print the resolved configuration (JSON) of the run ID instead\n"
            "  --quick     do not check that every listed image is present\n"
            "  --no-data   plan without the data folders (published sizes; keys from the dataset,\n"
            "              shots and seed names instead of the item lists: for estimates only)\n"
            "  --summary   SWEEP.yaml…: per sweep and for all of them into one OUT, the cells,\n"
            "              runs, trainings and rank time with every cell apart and with shared\n"
            "              work (same key, same training key) done once\n\n"
            "Before planning, the set-up is checked: data.root, every dataset folder and split\n"
            "file (cross-dataset and domain-generalisation targets too), every listed image,\n"
            "method options against the model (depth, rep_layers, n_ctx with ctx_init), the\n"
            "weights and the vocabulary. Each run's key (the digest of everything that decides\n"
            "its result) is shown; cells with one key are one run.\n"
            "Exit status: 0, or 2 for a bad sweep file or set-up (one line per problem: the\n"
            "file, or the sweep's file:line:column, and what).\n");
}

/* OUT when it is a folder (its digest cache is used), else NULL */
static const char *dir_exists_(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode) ? p : NULL;
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

const char *cli_flops(double f, char *buf, size_t len) {
    static const char *const U[] = {"FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP"};
    int u = 0;
    while (f >= 1000 && u < 6) f /= 1000, u++;
    snprintf(buf, len, "%.3g %s", f, U[u]);
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
    printf("sweep %s (%s): %d cells, model %s (%s), data %s, output %s\n", s->name, s->path,
           s->n_cells, cfg->arch, s->weights, s->data_root, out);
    printf("%4s  %-56s %-20s %5s %12s %10s %7s  %s\n", "#", "run", "key", "ranks", "work",
           "estimate", "rank", "state");
    double all = 0;
    int shared = 0;
    for (int i = 0; i < s->n_cells; i++) all += s->cells[i].cost;
    for (int k = 0; k < n; k++) {
        int i = order[k], f = 0;
        const SweepCell *c = &s->cells[i];
        if (c->first != i) continue;
        int ex = run_file_exists(out, c->key, &f);
        const char *state = ex == 1 ? (f ? "failed" : "done") : "pending";
        done += ex == 1 && !f, failed += ex == 1 && f;
        total += c->cost;
        char fl[32];
        printf("%4d  %-56s %-20s %5d %12s %10s %7s  %s\n", k + 1, c->id, c->key,
               p->n_members[i], cli_flops(c->flops, fl, sizeof fl),
               cli_duration(c->cost / p->n_members[i], a, sizeof a), where_(p, i, w, sizeof w),
               state);
        for (int j = 0; j < s->n_cells; j++)
            if (j != i && s->cells[j].first == i) printf("      %-56s (the same run)\n", s->cells[j].id), shared++;
        if (c->short_classes)
            printf("      warning: shots %d: %d class%s fewer training images; %d images used\n",
                   c->shots, c->short_classes, c->short_classes == 1 ? " has" : "es have",
                   c->n_train);
    }
    int runs = s->n_cells - shared, trainings = 0;
    double alone = 0;
    for (int i = 0; i < s->n_cells; i++) {
        const SweepCell *c = &s->cells[i];
        alone += c->cost_alone;
        int dup = !c->tkey[0];
        for (int j = 0; j < i && !dup; j++) dup = !strcmp(s->cells[j].tkey, c->tkey);
        trainings += !dup;
    }
    (void)all;
    printf("%d cells, %d runs, %d trainings; rank time %s for every cell apart, %s with shared "
           "work done once\n", s->n_cells, runs, trainings, cli_duration(alone, a, sizeof a),
           cli_duration(total, b, sizeof b));
    printf("total %s of rank time (at %.0f GFLOP/s per rank); on %d rank%s about %s "
           "(%d done, %d failed, %d pending)\n", cli_duration(total, a, sizeof a),
           GRID_FLOPS_PER_SECOND / 1e9, p->n_ranks, p->n_ranks == 1 ? "" : "s",
           cli_duration(p->makespan, b, sizeof b), done, failed, runs - done - failed);
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

/* --summary A.yaml B.yaml …: each sweep's cells, runs, trainings and rank time apart and with
 * shared work done once, then all of them planned together into one OUT (runs shared by key and
 * trainings by training key across the sweeps too) */
static int summary_(char **paths, int n, int no_data, int quick) {
    Sweep *s = cg_calloc((size_t)n, sizeof *s);
    int rc = 0, loaded = 0;
    for (int k = 0; k < n && !rc; k++, loaded++) {
        ClipConfig cfg;
        if (sweep_load(&s[k], paths[k])) rc = fprintf(stderr, "%s\n", cg_error()) ? 2 : 2;
        else if (no_data ? (sweep_check_files(&s[k]) || grid_model_config(s[k].weights, &cfg))
                         : preflight(&s[k], quick, &cfg, stderr) != 0)
            rc = 2, no_data ? fprintf(stderr, "%s\n", cg_error()) : 0;
        else if (run_keys_compute(&s[k], NULL, no_data)) rc = 2, fprintf(stderr, "%s\n", cg_error());
        else grid_estimate(&s[k], &cfg, no_data ? NULL : s[k].data_root);
    }
    char a[32], b[32];
    printf("%-24s %7s %7s %10s %14s %14s %7s\n", "sweep", "cells", "runs", "trainings",
           "cells apart", "shared once", "saved");
    double all_alone = 0, all_shared = 0;
    int all_cells = 0, all_runs = 0, all_train = 0, cap = 0;
    const SweepCell **seen = NULL;
    for (int k = 0; !rc && k <= n; k++) {
        int cells = 0, runs = 0, trains = 0;
        double alone = 0, shared = 0;
        for (int q = (k == n ? 0 : k); q < (k == n ? n : k + 1); q++)
            for (int i = 0; i < s[q].n_cells; i++) {
                const SweepCell *c = &s[q].cells[i];
                cells++, alone += c->cost_alone;
                int new_key = 1, new_train = c->tkey[0] != 0;
                for (int j = 0; j < runs && new_key; j++) new_key = strcmp(seen[j]->key, c->key) != 0;
                if (!new_key) continue;
                for (int j = 0; j < runs && new_train; j++) new_train = strcmp(seen[j]->tkey, c->tkey) != 0;
                if (runs == cap) cap = cap ? 2 * cap : 256, seen = cg_realloc(seen, (size_t)cap * sizeof *seen);
                seen[runs++] = c;
                trains += new_train;
                shared += c->cost_alone - (c->tkey[0] && !new_train ? c->train_cost : 0);
            }
        if (k == n) all_cells = cells, all_runs = runs, all_train = trains, all_alone = alone, all_shared = shared;
        else
            printf("%-24s %7d %7d %10d %14s %14s %6.1f%%\n", s[k].name, cells, runs, trains,
                   cli_duration(alone, a, sizeof a), cli_duration(shared, b, sizeof b),
                   alone > 0 ? 100 * (1 - shared / alone) : 0);
    }
    if (!rc)
        printf("%-24s %7d %7d %10d %14s %14s %6.1f%%\n", "all, into one OUT", all_cells,
               all_runs, all_train, cli_duration(all_alone, a, sizeof a),
               cli_duration(all_shared, b, sizeof b),
               all_alone > 0 ? 100 * (1 - all_shared / all_alone) : 0);
    free(seen);
    for (int k = 0; k < loaded; k++) sweep_free(&s[k]);
    free(s);
    return rc;
}

int cmd_plan(int argc, char **argv) {
    const char *path = NULL, *out = NULL, *show = NULL;
    int ranks = env_ranks_(), quick = 0, no_data = 0, summary = 0, n_paths = 0;
    char *paths[16];
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
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--no-data")) no_data = 1;
        else if (!strcmp(argv[i], "--summary")) summary = 1;
        else if (summary && argv[i][0] != '-') paths[n_paths < 16 ? n_paths++ : 15] = argv[i];
        else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "clipgrid plan: unexpected argument '%s'\n\n", argv[i]);
            plan_usage(stderr);
            return 2;
        } else path = argv[i];
    }
    if (summary && path) paths[n_paths < 16 ? n_paths++ : 15] = (char *)path;
    if (summary) return n_paths ? summary_(paths, n_paths, no_data, quick) : (plan_usage(stderr), 2);
    if (!path) return plan_usage(stderr), 2;
    Sweep s;
    ClipConfig cfg;
    if (sweep_load(&s, path)) {
        fprintf(stderr, "%s\n", cg_error());
        sweep_free(&s);
        return 2;
    }
    if (show) return show_config_(&s, show);
    int problems = 0;
    if (no_data) {  /* the model alone; keys from names instead of item lists */
        if (sweep_check_files(&s) || grid_model_config(s.weights, &cfg))
            fprintf(stderr, "%s\n", cg_error()), problems = 1;
    } else problems = preflight(&s, quick, &cfg, stderr);
    if (!problems && run_keys_compute(&s, dir_exists_(out ? out : s.output), no_data)) {
        fprintf(stderr, "%s\n", cg_error());
        problems = 1;
    }
    if (problems) {  /* one line per problem, nothing else */
        sweep_free(&s);
        return 2;
    }
    grid_estimate(&s, &cfg, s.data_root);
    int *order = cg_malloc((size_t)s.n_cells * sizeof(int));
    unsigned char *uniq = cg_calloc((size_t)s.n_cells + 1, 1);
    for (int i = 0; i < s.n_cells; i++) uniq[i] = s.cells[i].first == i;
    int n = grid_order(&s, uniq, order);
    free(uniq);
    GridPlan p;
    grid_plan(&s, order, n, ranks, &p);
    print_plan_(&s, order, n, &p, out ? out : s.output, &cfg);
    grid_plan_free(&p);
    free(order);
    sweep_free(&s);
    return 0;
}
