/* runner/run_cell.c — one run of the grid on this rank or on a rank group: its data
 * (run_prepare), training and evaluation (train_run with the group's comm, the stop flag and
 * per-epoch checkpoints in OUT/ckpt), its log OUT/logs/<name>.log, its running marker
 * OUT/state/<name>.running and, on rank 0 of the group, its result file OUT/runs/<name>.h5
 * (written atomically; a failed run is recorded with its reason). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/train.h"
#include "core/util.h"
#include "kernels/ops.h"
#include "results/checkpoint.h"
#include "results/run_file.h"
#include "results/run_state.h"
#include "runner/comm_nccl.h"
#include "runner/runner.h"

char *run_path(const char *out, const char *sub, const char *id, const char *ext) {
    char *name = run_file_name(id);
    size_t l = strlen(name);
    if (l > 3 && !strcmp(name + l - 3, ".h5")) name[l - 3] = 0;
    size_t n = strlen(out) + strlen(sub) + strlen(name) + strlen(ext) + 3;
    char *p = cg_malloc(n);
    snprintf(p, n, "%s/%s/%s%s", out, sub, name, ext);
    free(name);
    return p;
}

typedef struct {
    RunCtx *rc;
    const SweepCell *c;
    CgComm *comm;
    FILE *log;               /* group rank 0 only */
    char *ckpt;
    RunningMarker marker;
    FewshotSource fewshot;   /* recorded in the run file */
} Cell;

static double wall_(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void logf_(Cell *x, const char *fmt, ...) CG_PRINTF(2, 3);
static void logf_(Cell *x, const char *fmt, ...) {
    if (!x->log) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(x->log, fmt, ap);
    va_end(ap);
    fputc('\n', x->log);
    fflush(x->log);
}

/* ---- TrainJob callbacks ---------------------------------------------------------------------- */

static int ckpt_save_(void *ctx, const TrainState *st) {
    Cell *x = ctx;
    if (x->comm->rank != 0) return 0;
    return checkpoint_save(x->ckpt, st);
}

static int ckpt_load_(void *ctx, TrainState *st) {
    Cell *x = ctx;
    int rc = checkpoint_load(x->ckpt, st);
    if (rc == 1)
        logf_(x, "resumed from %s at epoch %d, batch %d", x->ckpt, st->epoch + 1, st->step);
    return rc;
}

static void on_epoch_(void *ctx, int epoch, int epochs, double loss, double acc, double lr,
                      double seconds) {
    Cell *x = ctx;
    logf_(x, "epoch %d/%d loss %.6f acc %.2f lr %.6g (%.1fs)", epoch + 1, epochs, loss, acc, lr,
          seconds);
    if (x->comm->rank == 0) {
        x->marker.epoch = epoch + 1;
        x->marker.epochs = epochs;
        run_state_write(x->rc->out, &x->marker);
    }
}

static void log_line_(void *ctx, const char *line) { logf_(ctx, "%s", line); }

/* ---- the run ------------------------------------------------------------------------------- */

static void open_log_(Cell *x) {
    RunCtx *rc = x->rc;
    const SweepCell *c = x->c;
    char *path = run_path(rc->out, "logs", c->id, ".log");
    x->log = fopen(path, "a");
    if (!x->log) fprintf(stderr, "clipgrid: cannot write the log %s: %s\n", path, strerror(errno));
    free(path);
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    char *cfg = sweep_cell_config_json(rc->s, c);
    logf_(x, "== %s  %s  rank %d on %s (%d rank%s), %s", c->id, when, rc->w->rank, rc->w->host,
          x->comm->size, x->comm->size == 1 ? "" : "s", rc->w->device);
    logf_(x, "config %s", cfg);
    free(cfg);
}

/* each evaluation in Dassl's format (two decimals), so parse_test_res.py-style scripts can
 * read the log: "Finish training", then per set "=> result", "* accuracy: X%", … */
static void dassl_block_(Cell *x, const TrainResult *res) {
    logf_(x, "Finish training");
    for (int i = 0; i < res->n_evals; i++) {
        const EvalResult *e = &res->evals[i];
        logf_(x, "Evaluate on the *%s* set (%s)", e->label, e->dataset);
        logf_(x, "=> result");
        logf_(x, "* total: %ld", e->total);
        logf_(x, "* correct: %ld", e->correct);
        logf_(x, "* accuracy: %.2f%%", e->accuracy);
        logf_(x, "* error: %.2f%%", 100.0 - e->accuracy);
        logf_(x, "* macro_f1: %.2f%%", e->macro_f1);
    }
}

/* the "result:" line progress.c prints */
static void result_line_(Cell *x, const TrainResult *res, double seconds) {
    if (res->status == TRAIN_FAILED) {
        logf_(x, "result: failed: %s", res->error);
        return;
    }
    dassl_block_(x, res);
    char buf[512] = "done";
    double base = NAN, nw = NAN;
    for (int i = 0; i < res->n_evals; i++) {
        const EvalResult *e = &res->evals[i];
        size_t l = strlen(buf);
        if (i < 6) snprintf(buf + l, sizeof buf - l, " %s %.2f", e->label, e->accuracy);
        if (!strcmp(e->label, "base")) base = e->accuracy;
        if (!strcmp(e->label, "new")) nw = e->accuracy;
    }
    size_t l = strlen(buf);
    if (isfinite(base) && isfinite(nw) && base + nw > 0)
        snprintf(buf + l, sizeof buf - l, " hm %.2f", 2 * base * nw / (base + nw));
    l = strlen(buf);
    snprintf(buf + l, sizeof buf - l, " (%.1fs)", seconds);
    logf_(x, "result: %s", buf);
}

static void meta_(Cell *x, RunMeta *m, double t0, double t1) {
    const SweepCell *c = x->c;
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", c->id);
    snprintf(m->sweep, sizeof m->sweep, "%s", x->rc->s->name);
    snprintf(m->setting, sizeof m->setting, "%s", c->setting);
    snprintf(m->dataset, sizeof m->dataset, "%s", c->dataset);
    snprintf(m->method, sizeof m->method, "%s", method_name(c->method));
    snprintf(m->variant, sizeof m->variant, "%s", c->variant);
    m->seed = c->seed, m->shots = c->shots;
    snprintf(m->host, sizeof m->host, "%s", x->rc->w->host);
    m->ranks = x->comm->size;
    snprintf(m->device, sizeof m->device, "%s", x->rc->w->device);
    m->config_json = sweep_cell_config_json(x->rc->s, c);
    m->start_time = t0, m->end_time = t1;
    m->cost_estimate = c->cost;
    if (x->fewshot.from_cache) {
        snprintf(m->fewshot_source, sizeof m->fewshot_source, "cache %s", x->fewshot.file);
        snprintf(m->fewshot_sha256, sizeof m->fewshot_sha256, "%s", x->fewshot.sha256);
    } else {
        snprintf(m->fewshot_source, sizeof m->fewshot_source, "%s",
                 c->shots > 0 ? "sampled" : "none");
    }
}

static void train_(Cell *x, TrainResult *res) {
    RunCtx *rc = x->rc;
    const SweepCell *c = x->c;
    RunData rd;
    memset(&rd, 0, sizeof rd);
    if (run_prepare_with(&rd, c->setting, c->dataset, rc->s->data_root, c->shots, c->seed,
                         rc->s->fewshot_dir)) {
        res->status = TRAIN_FAILED;
        snprintf(res->error, sizeof res->error, "%s", cg_error());
        return;
    }
    x->fewshot = rd.fewshot;
    if (rd.fewshot.from_cache)
        logf_(x, "few-shot items from Dassl's cache %s (sha256 %s)", rd.fewshot.file,
              rd.fewshot.sha256);
    TrainJob job = {
        .clip = rc->clip, .tok = rc->tok, .mc = c->mc, .data = &rd, .seed = c->run_seed,
        .loader_threads = rc->loader_threads, .comm = x->comm, .cb_ctx = x,
        .ckpt_save = ckpt_save_, .ckpt_load = ckpt_load_, .on_epoch = on_epoch_,
        .log = log_line_, .stop = signals_stop_flag(),
    };
    train_run(&job, res);
    run_data_free(&rd);
}

static void finish_(Cell *x, const TrainResult *res, double t0) {
    RunCtx *rc = x->rc;
    double t1 = wall_();
    int lead = x->comm->rank == 0;  /* counts: once per run, on rank 0 of its group */
    if (res->status == TRAIN_STOPPED) {
        logf_(x, "stopped by signal: checkpoint %s", x->ckpt);
        rc->stopped += lead;
        if (x->comm->rank == 0) run_state_clear(rc->out, x->c->id);
        return;
    }
    result_line_(x, res, t1 - t0);
    rc->finished += lead;
    rc->failed += lead && res->status == TRAIN_FAILED;
    if (x->comm->rank != 0) return;
    RunMeta meta;
    meta_(x, &meta, t0, t1);
    if (run_file_write(rc->out, &meta, res))
        cg_fatal("%s: cannot write the result file: %s", x->c->id, cg_error());
    free(meta.config_json);
    unlink(x->ckpt);
    run_state_clear(rc->out, x->c->id);
}

/* the comm of a run's group: none alone; NCCL on the GPU backend when it can be used (the same
 * answer on every rank of the group), else MPI */
static CgComm *open_comm_(MPI_Comm group, int *nccl) {
    *nccl = 0;
    if (group == MPI_COMM_NULL) return comm_self();
    if (k_backend() == K_BACKEND_CUDA) {
        CgComm *c = comm_nccl_create(group);
        if (c) return *nccl = 1, c;
    }
    return comm_mpi_create(group);
}

/* world rank 0, between its runs: rebuild OUT/results.h5 at most once a minute so that it is
 * current while a long sweep runs (the final one is made after the sweep) */
static void refresh_results_(RunCtx *rc) {
    if (rc->w->rank != 0 || cg_now() - rc->last_aggregate < 60) return;
    if (results_aggregate(rc->out))
        fprintf(stderr, "clipgrid: results.h5 not refreshed: %s\n", cg_error());
    rc->last_aggregate = cg_now();
}

int run_cell(void *ctx, int cell, MPI_Comm group) {
    RunCtx *rc = ctx;
    Cell x = {.rc = rc, .c = &rc->s->cells[cell]};
    int nccl = 0;
    x.comm = open_comm_(group, &nccl);
    x.ckpt = run_path(rc->out, "ckpt", x.c->id, ".h5");
    double t0 = wall_();
    if (x.comm->rank == 0) {
        open_log_(&x);
        snprintf(x.marker.id, sizeof x.marker.id, "%s", x.c->id);
        x.marker.rank = rc->w->rank;
        x.marker.ranks = x.comm->size;
        snprintf(x.marker.device, sizeof x.marker.device, "%s", rc->w->device);
        x.marker.epochs = x.c->method == METHOD_ZSCLIP ? 0 : x.c->mc.epochs;
        x.marker.cost_estimate = x.c->cost;
        run_state_write(rc->out, &x.marker);
    }
    TrainResult res;
    memset(&res, 0, sizeof res);
    train_(&x, &res);
    finish_(&x, &res, t0);
    rc->book_seconds += (wall_() - t0) - res.train_seconds - res.eval_seconds;
    refresh_results_(rc);
    int stopped = res.status == TRAIN_STOPPED;
    train_result_free(&res);
    if (x.log) fclose(x.log);
    free(x.ckpt);
    if (nccl) comm_nccl_free(x.comm);
    else if (group != MPI_COMM_NULL) comm_mpi_free(x.comm);
    return stopped;
}
