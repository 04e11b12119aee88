/* runner/cmd_run.c — `clipgrid run SWEEP.yaml [-o OUT]`: run or resume a sweep, alone or under
 * mpirun/srun. Every rank parses the sweep; rank 0 estimates the costs, writes OUT/grid.json and
 * finds the runs still to do (a run is done exactly when its file exists); the weights are
 * loaded once per node; the scheduler (runner/sched.c) hands the runs out; rank 0 prints
 * progress and, at the end, rebuilds OUT/results.h5. Several jobs may run on one OUT at once
 * (separate `run` processes, Slurm array tasks): each run is claimed in OUT/claims before it
 * starts (results/claim.h), so every run is done once, and a killed job's runs are taken over. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/text/tokenizer.h"
#include "base/util.h"
#include "results/run_file.h"
#include "results/run_state.h"
#include "runner/cli.h"
#include "runner/env.h"
#include "runner/feature_cache.h"
#include "runner/preflight.h"
#include "runner/provenance.h"
#include "runner/run_key.h"
#include "runner/runner.h"
#include "runner/shared_training.h"

static void run_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid run SWEEP.yaml [-o OUT] [--threads N] [--progress SECONDS]\n"
            "                    [--retry-failed]\n\n"
            "Runs the grid of a sweep file, alone or under mpirun / srun (one rank per GPU or\n"
            "per share of the CPU). Running the same command again skips finished runs and\n"
            "continues unfinished ones from their last epoch checkpoint. SIGTERM or SIGUSR1\n"
            "make every rank checkpoint and exit 0.\n\n"
            "  -o OUT            output folder (default: the sweep's 'output')\n"
            "  --threads N       CPU threads per rank (default: the sweep's 'threads', else the\n"
            "                    node's cores split among its ranks; CLIPGRID_THREADS too)\n"
            "  --progress S      seconds between progress lines (default 10)\n"
            "  --retry-failed    run again the runs recorded as failed\n"
            "  --quick           skip the check that every listed image is present\n"
            "  --verbose         also print the scheduler's and start-up's timings\n"
            "  --no-feature-cache  every run computes its test images' features itself (the\n"
            "                    cache OUT/features serves zero-shot, CoOp and CoCoOp runs)\n\n"
            "OUT holds runs/ (one HDF5 file per finished run), results.h5 (all runs and an /index\n"
            "table), logs/ (one log per run), grid.json, state/ (running runs), claims/ and ckpt/.\n"
            "Several jobs may run on one OUT at once (separate processes, Slurm array tasks,\n"
            "other nodes): each run is claimed in OUT/claims before it starts, so every run is\n"
            "done once; a run another job holds is left and offered again after the others, and\n"
            "a claim whose holder died on this host, or whose heartbeat is older than\n"
            "CLIPGRID_CLAIM_STALE seconds (default 600), is taken over (the run resumes from its\n"
            "checkpoint). No flock is needed.\n"
            "Exit status: 0 every run done (or stopped by a signal), 1 some runs failed or an\n"
            "error, 2 a bad sweep file or option.\n");
}

static int mkdirs_(const char *out) {
    char *p = cg_strdup(out);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    int rc = mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
    static const char *SUB[] = {"runs", "logs", "state", "ckpt", "claims"};
    for (int i = 0; !rc && i < 5; i++) {
        char *d = cg_path_join(p, SUB[i]);
        if (mkdir(d, 0755) && errno != EEXIST) rc = -1;
        free(d);
    }
    if (rc) cg_error_set("%s: cannot create the output folder: %s", out, strerror(errno));
    free(p);
    return rc;
}

/* rank 0's step result to every rank; prints the error on rank 0 */
static int agree_(const RunWorld *w, int rc) {
    if (w->rank == 0 && rc) fprintf(stderr, "%s\n", cg_error());
    return world_bcast_int(rc);
}

static int load_sweep_(const RunWorld *w, const RunOptions *o, Sweep *s) {
    int rc = sweep_load(s, o->sweep_path);
    if (!rc && o->out) free(s->output), s->output = cg_strdup(o->out);
    if (!rc && o->weights) free(s->weights), s->weights = cg_strdup(o->weights);
    if (!rc && o->data_root) free(s->data_root), s->data_root = cg_strdup(o->data_root);
    if (!rc && w->rank == 0) {
        ClipConfig cfg;
        int problems = preflight(s, o->quick, &cfg, stderr);
        if (problems)
            fprintf(stderr, "clipgrid run: %d problem%s in the set-up of %s; nothing queued\n",
                    problems, problems == 1 ? "" : "s", s->path);
        return world_bcast_int(problems ? -1 : 0);
    }
    return agree_(w, rc);
}

/* rank 0: the results of this sweep's previous grid (OUT/sweeps/<name>/grid.json) that no cell
 * of the new grid refers to any more (their key changed): they stay on disk, out of the table */
static int stale_count_(const Sweep *s, const char *sweep_dir) {
    GridFile old;
    if (grid_file_read(sweep_dir, &old) != 0) return 0;
    int n = 0;
    for (int i = 0; i < old.n; i++) {
        const char *k = old.cells[i].key;
        int used = !k[0], dup = 0, f;
        for (int j = 0; j < s->n_cells && !used; j++) used = !strcmp(s->cells[j].key, k);
        for (int j = 0; j < i && !dup; j++) dup = !strcmp(old.cells[j].key, k);
        if (!used && !dup && run_file_exists(s->output, k, &f) == 1) n++;
    }
    grid_file_free(&old);
    return n;
}

/* rank 0: OUT/grid.json and OUT/sweeps/<name>/grid.json with every cell and its key, and which
 * cells are still to do: the first cell of each key without a run file (with retry, failed
 * runs' files are removed so they are done again) */
static int grid_and_todo_(const Sweep *s, int retry, unsigned char *todo, int *stale) {
    int rc = 0;
    char *sweeps = cg_path_join(s->output, "sweeps");
    char *sweep_dir = cg_path_join(sweeps, s->name);
    mkdir(sweeps, 0755);
    *stale = stale_count_(s, sweep_dir);
    GridCell *g = cg_calloc((size_t)s->n_cells, sizeof *g);
    for (int i = 0; i < s->n_cells; i++) {
        const SweepCell *c = &s->cells[i];
        snprintf(g[i].id, sizeof g[i].id, "%s", c->id);
        snprintf(g[i].setting, sizeof g[i].setting, "%s", c->setting);
        snprintf(g[i].dataset, sizeof g[i].dataset, "%s", c->dataset);
        snprintf(g[i].method, sizeof g[i].method, "%s", method_name(c->method));
        snprintf(g[i].variant, sizeof g[i].variant, "%s", c->variant);
        g[i].seed = c->seed, g[i].shots = c->shots, g[i].ranks = c->ranks;
        g[i].cost_estimate = c->cost;
        snprintf(g[i].key, sizeof g[i].key, "%s", c->key);
        snprintf(g[i].tkey, sizeof g[i].tkey, "%s", c->tkey);
        if (c->first != i) continue;  /* the same key as an earlier cell: one run */
        int failed = 0, ex = run_file_exists(s->output, c->key, &failed);
        if (ex < 0) rc = -1;
        if (ex == 1 && failed && retry) {
            char *p = run_path(s->output, "runs", c->key, ".h5");
            unlink(p);
            free(p);
            ex = 0;
        }
        todo[i] = ex == 0;
    }
    if (!rc) rc = grid_file_write(s->output, s->name, g, s->n_cells);
    if (!rc) rc = grid_file_write(sweep_dir, s->name, g, s->n_cells);
    if (!rc) rc = provenance_sweep_file(s, sweep_dir);
    free(g);
    free(sweep_dir);
    free(sweeps);
    return rc;
}

/* rank 0: estimates, grid.json, the runs to do; then shared with every rank. No lock: other
 * jobs may be running this or another sweep in OUT (their markers and claims stay) */
static int prepare_out_(const RunWorld *w, Sweep *s, int retry, unsigned char *todo,
                        int *stale) {
    int rc = 0;
    ClipConfig cfg;
    if (w->rank == 0) {
        rc = mkdirs_(s->output);
        if (!rc && provenance_console_start(s->output))
            fprintf(stderr, "clipgrid: warning: %s\n", cg_error());
        if (!rc)
            rc = run_state_prune(s->output) || grid_model_config(s->weights, &cfg) ||
                 run_keys_compute(s, s->output, 0) ? -1 : 0;
        if (!rc) {
            grid_estimate(s, &cfg, s->data_root);
            rc = grid_and_todo_(s, retry, todo, stale);
        }
    }
    if (agree_(w, rc)) return -1;
    /* the cells with their estimates and keys, and the sweep's digests, as rank 0 has them */
    MPI_Bcast(s->cells, (int)((size_t)s->n_cells * sizeof *s->cells), MPI_BYTE, 0,
              MPI_COMM_WORLD);
    MPI_Bcast(s->weights_digest, sizeof s->weights_digest, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Bcast(s->vocab_digest, sizeof s->vocab_digest, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Bcast(todo, s->n_cells, MPI_UNSIGNED_CHAR, 0, MPI_COMM_WORLD);
    return 0;
}

static void announce_(const RunWorld *w, const Sweep *s, int n, const GridPlan *p, int stale) {
    if (w->rank != 0) return;
    char a[32];
    int runs = 0;
    for (int i = 0; i < s->n_cells; i++) runs += s->cells[i].first == i;
    printf("sweep %s: %d cells, %d runs (%d cells share a run with another), %d to do (%d "
           "finished before); output %s\n", s->name, s->n_cells, runs, s->n_cells - runs, n,
           runs - n, s->output);
    if (stale)
        printf("%d result%s of this sweep's previous grid became stale (their key changed): kept "
               "in %s/runs, out of the table; `clipgrid gc %s` removes them\n", stale,
               stale == 1 ? "" : "s", s->output, s->output);
    if (n)
        printf("estimated %s on %d rank%s (%d class%s of multi-rank runs)\n",
               cli_duration(p->makespan, a, sizeof a), w->size, w->size == 1 ? "" : "s",
               p->n_classes, p->n_classes == 1 ? "" : "es");
    fflush(stdout);
}

/* rank 0: counts over the whole sweep (earlier runs included) */
static int failed_runs_(const Sweep *s) {
    int n = 0;
    for (int i = 0; i < s->n_cells; i++) {
        int f = 0;
        if (s->cells[i].first == i && run_file_exists(s->output, s->cells[i].key, &f) == 1 && f)
            n++;
    }
    return n;
}

/* rank 0's wall clock at the phases of `run` (cg_now): the timing line at the end says where a
 * sweep's time went besides the runs themselves */
typedef struct {
    double start, sched, runs, idle, end;
} Phases;

static double init_seconds_;  /* MPI_Init (world_init), measured in cmd_run */
static int g_verbose_;        /* --verbose: the scheduler and timing diagnostics */

static int finish_(const RunWorld *w, const Sweep *s, RunCtx *rc, Progress *pr, Phases *ph) {
    int mine[4] = {rc->finished, rc->failed, rc->stopped, rc->sched_takes}, all[4];
    MPI_Reduce(mine, all, 4, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    double tm[2] = {rc->sched_seconds, rc->book_seconds}, ta[2];
    MPI_Reduce(tm, ta, 2, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    int status = 0;
    if (w->rank == 0) {
        progress_stop(pr);
        if (results_aggregate(s->output)) {
            fprintf(stderr, "clipgrid: %s\n", cg_error());
            status = 1;
        }
        ph->end = cg_now();
        int failed = failed_runs_(s);
        printf("%d runs finished now (%d failed); results in %s/results.h5\n", all[0], all[1],
               s->output);
        if (all[0] && g_verbose_)
            printf("scheduler: %.1f us per run to take work (%d takes); bookkeeping outside "
                   "training %.1f ms per run (data lists, log, marker, result file)\n",
                   1e6 * ta[0] / (all[3] ? all[3] : 1), all[3], 1e3 * ta[1] / all[0]);
        char init[48] = "";  /* measured when `run` itself started MPI */
        if (init_seconds_ > 0) snprintf(init, sizeof init, "MPI_Init %.2fs, ", init_seconds_);
        if (g_verbose_)
            printf("timing (rank 0): %sstart-up %.2fs (sweep, checks, grid.json, weights, "
               "tokenizer), runs %.2fs, wait for the other ranks %.2fs, results.h5 %.2fs\n",
               init, ph->sched - ph->start, ph->runs - ph->sched, ph->idle - ph->runs,
               ph->end - ph->idle);
        if (all[2] || *signals_stop_flag())
            printf("stopped by signal: %d run%s checkpointed; run the same command again to "
                   "resume\n", all[2], all[2] == 1 ? "" : "s");
        else if (failed) {
            printf("%d run%s of the sweep failed (reasons in %s/logs and results.h5)\n", failed,
                   failed == 1 ? "" : "s", s->output);
            status = 1;
        }
        fflush(stdout);
    }
    return world_bcast_int(status);
}

static void weights_line_(const RunWorld *w, const Sweep *s, const NodeWeights *nw) {
    int first = w->local_rank == 0, nodes;
    MPI_Reduce(&first, &nodes, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (w->rank != 0) return;
    printf("weights %s (%s, %.1f MiB): one copy per node in MPI shared memory, %d node%s\n",
           s->weights, nw->model.cfg.arch, nw->model.arena_floats * 4.0 / (1 << 20), nodes,
           nodes == 1 ? "" : "s");
    fflush(stdout);
}

int run_sweep(RunWorld *w, const RunOptions *o) {
    Phases ph = {.start = cg_now()};
    g_verbose_ = o->verbose;
    Sweep s;
    if (load_sweep_(w, o, &s)) return sweep_free(&s), 2;
    int status = 1;
    run_env_configure_claims();
    unsigned char *todo = cg_calloc((size_t)s.n_cells + 1, 1);
    if (world_init_backend(w, o->threads > 0 ? o->threads : s.threads)) {
        if (w->rank == 0) fprintf(stderr, "clipgrid: %s\n", cg_error());
        goto out;
    }
    int stale = 0;
    if (prepare_out_(w, &s, o->retry_failed, todo, &stale)) goto out;
    world_start_table(w);
    NodeWeights nw;
    if (agree_(w, node_weights_load(&nw, s.weights, w->node))) goto out;
    weights_line_(w, &s, &nw);
    Tokenizer *tok = tokenizer_load(s.vocab);
    int bad = 0, mine = !tok;
    MPI_Allreduce(&mine, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (bad) {
        if (!tok) fprintf(stderr, "clipgrid: [rank %d] %s\n", w->rank, cg_error());
        node_weights_free(&nw);
        if (tok) tokenizer_free(tok);
        goto out;
    }
    int *order = cg_malloc((size_t)s.n_cells * sizeof(int));
    int n = grid_order(&s, todo, order);
    GridPlan plan;
    grid_plan(&s, order, n, w->size, &plan);
    announce_(w, &s, n, &plan, stale);
    Progress *pr = NULL;
    if (w->rank == 0 && n) pr = progress_start(s.output, &s, todo, o->progress_interval);
    RunCtx rc = {.s = &s, .out = s.output, .clip = &nw.model, .tok = tok, .w = w,
                 .loader_threads = s.loader_threads, .last_aggregate = cg_now(),
                 .feature_cache = !o->no_feature_cache};
    ph.sched = cg_now();
    sched_run(&s, order, n, &plan, w, run_cell, &rc, &rc.sched_seconds, &rc.sched_takes);
    ph.runs = cg_now();
    MPI_Barrier(MPI_COMM_WORLD);
    ph.idle = cg_now();
    status = finish_(w, &s, &rc, pr, &ph);
    grid_plan_free(&plan);
    free(order);
    tokenizer_free(tok);
    node_weights_free(&nw);
out:
    if (w->rank == 0) provenance_console_stop();
    free(todo);
    sweep_free(&s);
    return status;
}

int cmd_run(int argc, char **argv) {
    RunOptions o = {.progress_interval = 10};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return run_usage(stdout), 0;
        if (!strcmp(a, "-o") && i + 1 < argc) o.out = argv[++i];
        else if (!strcmp(a, "--threads") && i + 1 < argc) o.threads = atoi(argv[++i]);
        else if (!strcmp(a, "--progress") && i + 1 < argc) o.progress_interval = atof(argv[++i]);
        else if (!strcmp(a, "--retry-failed")) o.retry_failed = 1;
        else if (!strcmp(a, "--quick")) o.quick = 1;
        else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) o.verbose = 1;
        else if (!strcmp(a, "--no-feature-cache")) o.no_feature_cache = 1;
        else if (a[0] == '-' || o.sweep_path) {
            fprintf(stderr, "clipgrid run: unexpected argument '%s'\n\n", a);
            return run_usage(stderr), 2;
        } else o.sweep_path = a;
    }
    if (!o.sweep_path) return run_usage(stderr), 2;
    RunWorld w;
    double t0 = cg_now();
    world_init(&w, &argc, &argv);
    init_seconds_ = cg_now() - t0;
    signals_install();
    int status = run_sweep(&w, &o);
    world_finalize(&w);
    return status;
}
