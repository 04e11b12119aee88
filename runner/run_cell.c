/* runner/run_cell.c — one run of the grid on this rank or on a rank group: its data
 * (run_prepare), training and evaluation (train_run with the group's comm, the stop flag and
 * per-epoch checkpoints in OUT/ckpt), its log OUT/logs/<name>.log, its running marker
 * OUT/state/<name>.running and, on rank 0 of the group, its result file OUT/runs/<name>.h5
 * (written atomically; a failed run is recorded with its reason). A checkpoint or result file
 * that cannot be written (full disk, I/O error) is not the run's fault: the run stays resumable
 * from its last checkpoint and this rank stops taking work (write_fault_). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/train/train.h"
#include "base/util.h"
#include "kernels/ops.h"
#include "results/checkpoint.h"
#include "results/claim.h"
#include "results/run_file.h"
#include "results/run_state.h"
#include "runner/comm_nccl.h"
#include "runner/feature_cache.h"
#include "runner/provenance.h"
#include "runner/run_key.h"
#include "runner/runner.h"
#include "runner/shared_training.h"

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
    char fault[640];         /* group rank 0: the write that failed, "" when none */
    int claimed;             /* this run trains for its training key (shared_training.h) */
    FeatureCache fc;         /* frozen test features (feature_cache.h) */
    char *params_state;      /* evaluate from this trained state instead of training */
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

/* a checkpoint or result file could not be written: say so with the path and the reason, keep
 * the run resumable (its last checkpoint stays) and stop this rank as a signal would */
static void write_fault_(Cell *x) {
    if (!x->fault[0]) snprintf(x->fault, sizeof x->fault, "%s", cg_error());
    fprintf(stderr, "clipgrid: rank %d on %s: run %s: %s; the run stays pending (resumable from its "
            "last checkpoint), this rank takes no more runs (free space or fix the disk, then "
            "run the same command again)\n", x->rc->w->rank, x->rc->w->host, x->c->id, x->fault);
    signals_stop_rank();
}

/* a failed save stops the run at its next step (the stop flag) instead of failing it */
static int ckpt_save_(void *ctx, const TrainState *st) {
    Cell *x = ctx;
    if (x->comm->rank != 0 || x->fault[0]) return 0;
    if (checkpoint_save(x->ckpt, st) != 0) write_fault_(x);
    return 0;
}

static int ckpt_load_(void *ctx, TrainState *st) {
    Cell *x = ctx;
    if (x->params_state) {
        int rc = checkpoint_load(x->params_state, st);
        if (rc == 1)
            logf_(x, "evaluating the trained parameters %s (training key %s, trained by another "
                  "run of this output folder)", x->params_state, x->c->tkey);
        return rc == 0 ? (cg_error_set("%s: the trained state is gone", x->params_state), -1) : rc;
    }
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


static void on_trained_(void *ctx, const ParamBlock *layout, const float *values) {
    Cell *x = ctx;
    if (x->comm->rank != 0 || !x->c->tkey[0] || x->params_state) return;
    if (shared_params_write(x->rc->out, x->c->tkey, method_name(x->c->method), layout, values))
        logf_(x, "warning: the learned parameters were not saved: %s", cg_error());
}

/* ---- earlier segments of a resumed run: OUT/ckpt/<key>.segments ("wall train" seconds, summed
 * over the segments that stopped; removed with the checkpoint) ------------------------------- */

static char *segments_path_(Cell *x) { return run_path(x->rc->out, "ckpt", x->c->key, ".segments"); }

static void segments_read_(Cell *x, double *wall, double *train) {
    *wall = *train = 0;
    char *p = segments_path_(x);
    FILE *f = fopen(p, "r");
    free(p);
    if (!f) return;
    if (fscanf(f, "%lf %lf", wall, train) != 2) *wall = *train = 0;
    fclose(f);
}

static void segments_add_(Cell *x, double wall, double train) {
    double w0, t0;
    segments_read_(x, &w0, &t0);
    char *p = segments_path_(x);
    FILE *f = fopen(p, "w");
    if (f) fprintf(f, "%.6f %.6f\n", w0 + wall, t0 + train), fclose(f);
    free(p);
}

/* ---- the run ------------------------------------------------------------------------------- */

static void open_log_(Cell *x) {
    RunCtx *rc = x->rc;
    const SweepCell *c = x->c;
    char *path = run_path(rc->out, "logs", c->key, ".log");
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
    char *doc = run_key_document(rc->s, c);
    logf_(x, "key %s = sha256(%s)", c->key, doc);
    free(doc);
    if (c->short_classes)
        logf_(x, "warning: shots %d: %d class%s fewer training images; %d images used",
              c->shots, c->short_classes, c->short_classes == 1 ? " has" : "es have", c->n_train);
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
    const Sweep *s = x->rc->s;
    snprintf(m->key, sizeof m->key, "%s", c->key);
    m->key_document = run_key_document(s, c);
    snprintf(m->weights_sha256, sizeof m->weights_sha256, "%s", s->weights_digest);
    snprintf(m->vocab_sha256, sizeof m->vocab_sha256, "%s", s->vocab_digest);
    snprintf(m->train_items, sizeof m->train_items, "%s", c->train_digest);
    snprintf(m->eval_items, sizeof m->eval_items, "%s", c->eval_digest);
    snprintf(m->version, sizeof m->version, "%s", clipgrid_version());
    m->numerics = CLIPGRID_NUMERICS_VERSION;
    m->n_train = c->n_train;
    m->short_classes = c->short_classes;
    segments_read_(x, &m->prior_wall, &m->prior_train);
    if (c->tkey[0]) {
        snprintf(m->tkey, sizeof m->tkey, "%s", c->tkey);
        snprintf(m->params, sizeof m->params, "params/%s.safetensors", c->tkey);
        m->from_saved = x->params_state != NULL;
    }
    if (x->fewshot.from_cache) {
        snprintf(m->fewshot_source, sizeof m->fewshot_source, "cache %s", x->fewshot.file);
        snprintf(m->fewshot_sha256, sizeof m->fewshot_sha256, "%s", x->fewshot.sha256);
    } else {
        snprintf(m->fewshot_source, sizeof m->fewshot_source, "%s",
                 c->shots > 0 ? "sampled" : "none");
    }
}

static float *features_get_(void *ctx, int set, size_t n, int E, int *have) {
    return feature_cache_get(&((Cell *)ctx)->fc, set, n, E, have);
}

static void features_put_(void *ctx, int set, const float *rows, size_t n, int E) {
    feature_cache_put(&((Cell *)ctx)->fc, set, rows, n, E);
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
        .stop = signals_stop_flag(), .on_trained = on_trained_,
    };
    if (rc->feature_cache) {
        x->fc = (FeatureCache){.out = rc->out, .weights_digest = rc->s->weights_digest,
                               .precision = c->mc.train.precision, .test_batch = c->mc.train.test_batch,
                               .image_res = rc->clip->cfg.image_res, .data = &rd,
                               .stop = signals_stop_flag()};
        job.features_get = features_get_, job.features_put = features_put_;
    }
    train_run(&job, res);
    if (x->fc.hits + x->fc.misses)
        logf_(x, "frozen test features: %d set%s from OUT/features, %d computed and stored",
              x->fc.hits, x->fc.hits == 1 ? "" : "s", x->fc.misses);
    run_data_free(&rd);
}

static void finish_(Cell *x, const TrainResult *res, double t0) {
    RunCtx *rc = x->rc;
    double t1 = wall_();
    int lead = x->comm->rank == 0;  /* counts: once per run, on rank 0 of its group */
    if (res->status == TRAIN_STOPPED) {
        if (x->fault[0]) logf_(x, "stopped: %s", x->fault);
        else logf_(x, "stopped by signal: checkpoint %s", x->ckpt);
        rc->stopped += lead;
        if (x->comm->rank == 0) {
            segments_add_(x, t1 - t0, res->train_seconds);
            run_state_clear(rc->out, x->c->id);
            if (x->claimed) shared_training_end(rc->out, x->c->tkey, NULL, 0);
        }
        return;
    }
    if (lead) {
        RunMeta meta;
        meta_(x, &meta, t0, t1);
        int bad = run_file_write(rc->out, &meta, res);
        free(meta.config_json);
        free(meta.key_document);
        if (bad) {
            write_fault_(x);
            logf_(x, "stopped: %s", x->fault);
            rc->stopped++;
            run_state_clear(rc->out, x->c->id);
            return;
        }
    }
    result_line_(x, res, t1 - t0);
    rc->finished += lead;
    rc->failed += lead && res->status == TRAIN_FAILED;
    if (!lead) return;
    if (x->claimed)  /* the final checkpoint becomes the trained state of its training key */
        shared_training_end(rc->out, x->c->tkey, x->ckpt, res->status == TRAIN_DONE);
    unlink(x->ckpt);
    char *seg = segments_path_(x);
    unlink(seg);
    free(seg);
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

/* rank 0 of the group: claim the run in OUT/claims (results/claim.h) so that no other job on this
 * OUT runs it at the same time. 0 claimed (*took: whose stale claim was taken over, or ""),
 * 1 finished meanwhile by another job, 2 claimed by another live job */
static int claim_run_(RunCtx *rc, const SweepCell *c, char *took, size_t cap) {
    int failed = 0;
    if (run_file_exists(rc->out, c->key, &failed) == 1) return 1;
    char *p = run_claim_path(rc->out, c->key);
    ClaimResult r = claim_try(p, NULL, took, cap);
    if (r == CLAIM_TAKEN && run_file_exists(rc->out, c->key, &failed) == 1) {
        claim_release(p);  /* it ended between the look and the claim */
        free(p);
        return 1;
    }
    if (r == CLAIM_ERROR)  /* no claim can be made (a full disk): run it unclaimed */
        fprintf(stderr, "clipgrid: rank %d on %s: run %s runs without a claim: %s\n",
                rc->w->rank, rc->w->host, c->id, cg_error());
    free(p);
    return r == CLAIM_BUSY ? 2 : 0;
}

int run_cell(void *ctx, int cell, MPI_Comm group) {
    RunCtx *rc = ctx;
    Cell x = {.rc = rc, .c = &rc->s->cells[cell]};
    char took[512] = "";
    int gr = 0, claim = 0;
    if (group != MPI_COMM_NULL) MPI_Comm_rank(group, &gr);
    if (gr == 0) claim = claim_run_(rc, x.c, took, sizeof took);
    if (group != MPI_COMM_NULL) MPI_Bcast(&claim, 1, MPI_INT, 0, group);
    if (claim == 1) return SCHED_DONE;
    if (claim == 2) return SCHED_BUSY;
    int nccl = 0;
    x.comm = open_comm_(group, &nccl);
    /* a training's checkpoint by its training key: whichever run of that key trains resumes it */
    x.ckpt = run_path(rc->out, "ckpt", x.c->tkey[0] ? x.c->tkey : x.c->key, ".h5");
    double t0 = wall_();
    if (x.comm->rank == 0) {
        open_log_(&x);
        if (took[0]) {
            logf_(&x, "claim: %s", took);
            fprintf(stderr, "clipgrid: rank %d on %s: run %s: %s\n", rc->w->rank, rc->w->host,
                    x.c->id, took);
        }
        snprintf(x.marker.id, sizeof x.marker.id, "%s", x.c->id);
        snprintf(x.marker.key, sizeof x.marker.key, "%s", x.c->key);
        x.marker.rank = rc->w->rank;
        x.marker.ranks = x.comm->size;
        snprintf(x.marker.device, sizeof x.marker.device, "%s", rc->w->device);
        x.marker.epochs = method_at(x.c->method)->trains ? x.c->mc.train.epochs : 0;
        x.marker.cost_estimate = x.c->cost;
        run_state_write(rc->out, &x.marker);
    }
    /* a training shared with other runs: train it (claimed), evaluate its saved state, or wait */
    int decision = SHARED_TRAIN;
    char took_t[512] = "";
    if (x.c->tkey[0] && x.comm->rank == 0)
        decision = shared_training_begin(rc->out, x.c->tkey, signals_stop_flag(), took_t,
                                         sizeof took_t);
    if (took_t[0]) logf_(&x, "claim: %s", took_t);
    if (group != MPI_COMM_NULL) MPI_Bcast(&decision, 1, MPI_INT, 0, group);
    x.claimed = x.c->tkey[0] && decision == SHARED_TRAIN && x.comm->rank == 0;
    if (decision == SHARED_EVALUATE) x.params_state = shared_path(rc->out, x.c->tkey, ".h5");
    TrainResult res;
    memset(&res, 0, sizeof res);
    if (decision == SHARED_STOPPED) res.status = TRAIN_STOPPED;
    else train_(&x, &res);
    feature_cache_release(&x.fc);
    finish_(&x, &res, t0);
    if (x.comm->rank == 0) {  /* after the marker is cleared: a marker never outlives its claim */
        char *p = run_claim_path(rc->out, x.c->key);
        claim_release(p);
        free(p);
    }
    rc->book_seconds += (wall_() - t0) - res.train_seconds - res.eval_seconds;
    refresh_results_(rc);
    /* the group agrees: a write fault on its rank 0 stops every rank of the group */
    int stopped = res.status == TRAIN_STOPPED || x.fault[0];
    if (group != MPI_COMM_NULL) stopped = x.comm->sum_double(x.comm, stopped) > 0;
    train_result_free(&res);
    if (x.log) fclose(x.log);
    free(x.ckpt);
    free(x.params_state);
    if (nccl) comm_nccl_free(x.comm);
    else if (group != MPI_COMM_NULL) comm_mpi_free(x.comm);
    return stopped ? SCHED_STOPPED : SCHED_DONE;
}
