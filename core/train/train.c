/* core/train/train.c — one run's training loop and evaluation (train.h): Dassl's epochs and
 * iterations over the loader (the batch order depends only on the seed and the epoch, so a run
 * resumes exactly mid-epoch), the all-reduce of the gradient block over the rank group, the
 * optimiser at the epoch's learning rate, checkpoints through the job's callbacks, and the
 * metrics of every evaluation set (accuracy, per-class accuracy, macro-F1 over the labels
 * present). */
#include "core/train/train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/loader.h"
#include "core/optim/optim.h"
#include "core/methods/registry.h"
#include "core/train/step.h"
#include "base/util.h"
#include "core/methods/zeroshot.h"
#include "kernels/ops.h"

void train_state_free(TrainState *s) {
    free(s->params), free(s->opt);
    free(s->loss_curve), free(s->acc_curve), free(s->lr_curve), free(s->time_curve);
    memset(s, 0, sizeof *s);
}

void train_result_free(TrainResult *r) {
    free(r->loss_curve), free(r->acc_curve), free(r->lr_curve), free(r->time_curve);
    for (int i = 0; i < r->n_evals; i++) {
        free(r->evals[i].per_class);
        for (int c = 0; r->evals[i].class_names && c < r->evals[i].n_classes; c++)
            free(r->evals[i].class_names[c]);
        free(r->evals[i].class_names);
    }
    memset(r, 0, sizeof *r);
}

static TrainStatus fail(TrainResult *res, const char *fmt, ...) CG_PRINTF(2, 3);
static TrainStatus fail(TrainResult *res, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    return res->status = TRAIN_FAILED;
}

/* the loop's state: what a checkpoint holds, on the device and host */
typedef struct {
    const TrainJob *job;
    Method *m;
    Optimizer opt;
    TrainState st;       /* host mirror of epoch/step/sums/curves (params, opt filled on save) */
    int epochs;
} Loop;

static void curves_alloc(TrainState *st, int epochs) {
    size_t n = (size_t)(epochs > 0 ? epochs : 1);
    st->loss_curve = cg_calloc(n, sizeof(double)), st->acc_curve = cg_calloc(n, sizeof(double));
    st->lr_curve = cg_calloc(n, sizeof(double)), st->time_curve = cg_calloc(n, sizeof(double));
}

static int save_state(Loop *L) {
    const TrainJob *job = L->job;
    if (!job->ckpt_save) return 0;
    TrainState *st = &L->st;
    st->opt_steps = L->opt.steps;
    st->n_params = L->m->params.n;
    st->params = cg_realloc(st->params, (st->n_params ? st->n_params : 1) * sizeof(float));
    if (st->n_params) k_download(st->params, L->m->params.data, st->n_params);
    st->n_opt = optim_state_floats(&L->opt);
    st->opt = cg_realloc(st->opt, (st->n_opt ? st->n_opt : 1) * sizeof(float));
    optim_export(&L->opt, st->opt);
    return job->ckpt_save(job->cb_ctx, st);
}

/* 1 resumed, 0 fresh, −1 error */
static int load_state(Loop *L, TrainResult *res) {
    const TrainJob *job = L->job;
    if (!job->ckpt_load) return 0;
    TrainState in = {0};
    int rc = job->ckpt_load(job->cb_ctx, &in);
    if (rc <= 0) {
        if (rc < 0) fail(res, "checkpoint: %s", cg_error());
        return rc;
    }
    if (in.n_params != L->m->params.n || in.n_opt != optim_state_floats(&L->opt) ||
        in.n_epochs_done > L->epochs) {
        fail(res, "checkpoint does not match this run (%zu parameters, %zu optimiser floats, %d "
                  "epochs; the run has %zu, %zu, %d)", in.n_params, in.n_opt, in.n_epochs_done,
             L->m->params.n, optim_state_floats(&L->opt), L->epochs);
        train_state_free(&in);
        return -1;
    }
    if (in.n_params) k_upload(L->m->params.data, in.params, in.n_params);
    L->m->params_version++;
    optim_import(&L->opt, in.opt, in.opt_steps);
    TrainState *st = &L->st;
    st->epoch = in.epoch, st->step = in.step, st->opt_steps = in.opt_steps;
    res->steps = in.opt_steps; /* the run's total, not only the steps after this resume */
    st->epoch_loss_sum = in.epoch_loss_sum;
    st->epoch_correct = in.epoch_correct, st->epoch_seen = in.epoch_seen;
    st->n_epochs_done = in.n_epochs_done;
    for (int e = 0; e < in.n_epochs_done; e++) {
        st->loss_curve[e] = in.loss_curve[e], st->acc_curve[e] = in.acc_curve[e];
        st->lr_curve[e] = in.lr_curve[e], st->time_curve[e] = in.time_curve[e];
    }
    train_state_free(&in);
    return 1;
}

/* one batch through the one training step; 0 or −1 (NaN/Inf loss) */
static int loop_step(Loop *L, const float *images, const int *labels, int b, int b_global,
                     double lr, TrainResult *res) {
    StepResult r;
    if (train_step(L->m, &L->opt, images, labels, b, b_global, lr, &r) != 0) {
        fail(res, "non-finite loss %g at epoch %d, batch %d", r.loss, L->st.epoch + 1, L->st.step + 1);
        return -1;
    }
    L->st.epoch_loss_sum += r.loss;
    L->st.epoch_correct += r.correct, L->st.epoch_seen += b_global;
    return 0;
}

static int stop_requested(const TrainJob *job, CgComm *comm) {
    double s = job->stop && *job->stop ? 1.0 : 0.0;
    return comm->sum_double(comm, s) > 0;
}

static TrainStatus train_loop(Loop *L, TrainResult *res) {
    const TrainJob *job = L->job;
    Method *m = L->m;
    CgComm *comm = m->env.comm;
    const Dataset *tr = &job->data->train;
    int R = job->clip->cfg.image_res;
    LoaderSpec spec = {.items = tr->train.items, .n = tr->train.n, .res = R, .batch = job->mc.train.batch,
                       .train = 1, .seed = job->seed,
                       .threads = job->loader_threads > 0 ? job->loader_threads : 1,
                       .shard = comm->rank, .shards = comm->size, .scale_min = job->mc.train.rrc_scale_lo};
    if (tr->train.n <= 0) return fail(res, "%s: the training split is empty", tr->name);
    Loader *ld = loader_open(&spec);
    if (!ld) return fail(res, "loader: %s", cg_error());
    size_t cap = (size_t)job->mc.train.batch * 3 * R * R;
    float *host = cg_malloc(cap * sizeof(float)), *dev = k_alloc(cap);
    int *labels = cg_malloc((size_t)job->mc.train.batch * sizeof(int));
    TrainState *st = &L->st;
    TrainStatus status = TRAIN_DONE;
    for (int e = st->epoch; e < L->epochs && status == TRAIN_DONE; e++) {
        double t0 = cg_now(), lr = lr_at_epoch(&job->mc.train, e);
        int nb = loader_start_epoch(ld, e), b, bg, rc = 0;
        if (e != st->epoch) st->step = 0, st->epoch_loss_sum = 0, st->epoch_correct = 0, st->epoch_seen = 0;
        st->epoch = e;
        for (int i = 0; i < nb; i++) {
            rc = loader_next(ld, host, labels, &b, &bg);
            if (rc < 0) {
                status = fail(res, "%s", cg_error());
                break;
            }
            if (rc == 0) break;
            if (i < st->step) continue; /* resumed mid-epoch: these batches are done */
            if (b > 0) k_upload(dev, host, (size_t)b * 3 * R * R);
            if (loop_step(L, dev, labels, b, bg, lr, res) != 0) {
                status = TRAIN_FAILED;
                break;
            }
            st->step = i + 1;
            res->steps++;
            if (stop_requested(job, comm) && (i + 1 < nb || e + 1 < L->epochs)) {
                if (save_state(L) != 0) status = fail(res, "checkpoint: %s", cg_error());
                else status = res->status = TRAIN_STOPPED;
                break;
            }
        }
        if (status != TRAIN_DONE) break;
        int k = st->n_epochs_done++;
        double steps = st->step > 0 ? st->step : 1;
        st->loss_curve[k] = st->epoch_loss_sum / steps;
        st->acc_curve[k] = st->epoch_seen ? 100.0 * st->epoch_correct / st->epoch_seen : NAN;
        st->lr_curve[k] = lr, st->time_curve[k] = cg_now() - t0;
        if (job->on_epoch)
            job->on_epoch(job->cb_ctx, e, L->epochs, st->loss_curve[k], st->acc_curve[k], lr,
                          st->time_curve[k]);
        st->epoch = e + 1, st->step = 0, st->epoch_loss_sum = 0;
        st->epoch_correct = 0, st->epoch_seen = 0;
        if (save_state(L) != 0) status = fail(res, "checkpoint: %s", cg_error());
    }
    loader_close(ld);
    free(host), free(labels);
    k_free(dev);
    return status;
}

/* ---- evaluation --------------------------------------------------------------------------- */

/* the frozen-feature cache for an evaluation set (TrainJob.features_get): set up the tap */
static int tap_open(const TrainJob *job, const Method *m, int set, size_t n, FeatureTap *tap) {
    MethodKind k = job->mc.kind;
    if (!job->features_get || m->env.comm->size != 1 ||
        !method_at(k)->frozen_image_features)
        return 0;
    int have = 0, E = job->clip->cfg.embed;
    float *rows = job->features_get(job->cb_ctx, set, n, E, &have);
    if (!rows) return 0;
    *tap = (FeatureTap){.rows = rows, .n = n, .next = 0, .replay = have};
    image_features_tap(tap);
    return 1;
}

static void tap_close(const TrainJob *job, int set, FeatureTap *tap, int ok) {
    image_features_tap(NULL);
    int whole = ok && tap->next == tap->n;
    if (!tap->replay && job->features_put)
        job->features_put(job->cb_ctx, set, whole ? tap->rows : NULL, tap->n, job->clip->cfg.embed);
    free(tap->rows);
}

static int evaluate(const TrainJob *job, Method *m, const EvalSet *es, EvalResult *er,
                    TrainResult *res) {
    CgComm *comm = m->env.comm;
    const Dataset *ds = &es->ds;
    int C = ds->n_classes, R = job->clip->cfg.image_res, TB = job->mc.train.test_batch > 0 ? job->mc.train.test_batch : 100;
    snprintf(er->label, sizeof er->label, "%s", es->label);
    snprintf(er->dataset, sizeof er->dataset, "%s", es->dataset);
    er->n_classes = C;
    er->class_names = cg_calloc((size_t)(C > 0 ? C : 1), sizeof(char *));
    for (int c = 0; c < C; c++) er->class_names[c] = cg_strdup(ds->classnames[c] ? ds->classnames[c] : "");
    if (method_set_classes(m, (const char *const *)ds->classnames, C, es->dataset) != 0)
        return fail(res, "%s: %s", es->label, cg_error()), -1;
    LoaderSpec spec = {.items = ds->test.items, .n = ds->test.n, .res = R, .batch = TB, .train = 0,
                       .seed = job->seed, .threads = job->loader_threads > 0 ? job->loader_threads : 1,
                       .shard = comm->rank, .shards = comm->size};
    if (ds->test.n <= 0) return fail(res, "%s: the test split is empty", es->dataset), -1;
    FeatureTap tap;
    int tapped = tap_open(job, m, (int)(es - job->data->evals), (size_t)ds->test.n, &tap);
    int replay = tapped && tap.replay;  /* cached features: no image is read */
    Loader *ld = replay ? NULL : loader_open(&spec);
    if (!ld && !replay) {
        if (tapped) tap_close(job, 0, &tap, 0);
        return fail(res, "loader: %s", cg_error()), -1;
    }
    size_t cap = (size_t)TB * 3 * R * R;
    float *host = cg_malloc(cap * sizeof(float)), *dev = k_alloc(cap);
    float *logits = cg_malloc((size_t)TB * C * sizeof(float));
    int *labels = cg_malloc((size_t)TB * sizeof(int)), *pred = cg_malloc((size_t)TB * sizeof(int));
    /* per class: [0,C) true count, [C,2C) correct, [2C,3C) predicted count */
    float *cnt = cg_calloc((size_t)3 * C, sizeof(float));
    int nb = replay ? (ds->test.n + TB - 1) / TB : loader_start_epoch(ld, 0), b, bg, rc = 0;
    for (int i = 0; i < nb; i++) {
        if (replay) {
            b = ds->test.n - i * TB < TB ? ds->test.n - i * TB : TB, rc = 1;
            for (int j = 0; j < b; j++) labels[j] = ds->test.items[i * TB + j].label;
        } else rc = loader_next(ld, host, labels, &b, &bg);
        if (rc <= 0) break;
        if (b > 0 && !replay) k_upload(dev, host, (size_t)b * 3 * R * R);
        method_logits(m, dev, b, es->mode, logits); /* b = 0 too: collectives inside */
        count_correct(logits, labels, b, C, pred);
        for (int j = 0; j < b; j++) {
            if (labels[j] < 0 || labels[j] >= C) continue;
            cnt[labels[j]] += 1, cnt[2 * C + pred[j]] += 1;
            if (pred[j] == labels[j]) cnt[C + labels[j]] += 1;
        }
    }
    if (ld) loader_close(ld);
    int ok = rc >= 0;
    if (tapped) tap_close(job, (int)(es - job->data->evals), &tap, ok);
    if (!ok) fail(res, "%s", cg_error());
    float *dcnt = k_alloc((size_t)3 * C);
    k_upload(dcnt, cnt, (size_t)3 * C);
    comm->allreduce_sum(comm, dcnt, (size_t)3 * C);
    k_download(cnt, dcnt, (size_t)3 * C);
    k_free(dcnt);
    er->per_class = cg_malloc((size_t)C * sizeof(double));
    double f1 = 0;
    int present = 0;
    for (int c = 0; c < C; c++) {
        double t = cnt[c], tp = cnt[C + c], p = cnt[2 * C + c];
        er->total += (long)t, er->correct += (long)tp;
        er->per_class[c] = t > 0 ? 100.0 * tp / t : NAN;
        if (t > 0) present++, f1 += 2 * tp / (t + p); /* 2tp / (2tp + fp + fn) */
    }
    er->accuracy = er->total ? 100.0 * er->correct / er->total : NAN;
    er->macro_f1 = present ? 100.0 * f1 / present : NAN;
    free(host), free(logits), free(labels), free(pred), free(cnt);
    k_free(dev);
    return ok ? 0 : -1;
}

static void copy_curves(TrainResult *res, const TrainState *st) {
    int n = st->n_epochs_done;
    res->epochs = n;
    size_t sz = (size_t)(n > 0 ? n : 1) * sizeof(double);
    res->loss_curve = cg_malloc(sz), res->acc_curve = cg_malloc(sz);
    res->lr_curve = cg_malloc(sz), res->time_curve = cg_malloc(sz);
    for (int e = 0; e < n; e++) {
        res->loss_curve[e] = st->loss_curve[e], res->acc_curve[e] = st->acc_curve[e];
        res->lr_curve[e] = st->lr_curve[e], res->time_curve[e] = st->time_curve[e];
    }
}

static int train_run_(const TrainJob *job, TrainResult *res) {
    MethodEnv env = {.clip = job->clip, .tok = job->tok, .cfg = job->mc, .seed = job->seed,
                     .comm = job->comm ? job->comm : comm_self()};
    snprintf(env.dataset, sizeof env.dataset, "%s", job->data->dataset);
    Method *m = method_create(&env);
    if (!m) return fail(res, "%s: %s", method_name(job->mc.kind), cg_error());
    Loop L = {.job = job, .m = m};
    const Dataset *tr = &job->data->train;
    if (method_set_classes(m, (const char *const *)tr->classnames, tr->n_classes, job->data->dataset)) {
        fail(res, "%s: %s", job->data->dataset, cg_error());
        method_free(m);
        return res->status;
    }
    res->n_params = m->params.n;
    L.epochs = m->params.n > 0 ? job->mc.train.epochs : 0;
    curves_alloc(&L.st, L.epochs);
    double t0 = cg_now();
    TrainStatus status = TRAIN_DONE;
    if (optim_init(&L.opt, &job->mc.train, m->params.n) != 0) status = fail(res, "%s", cg_error());
    if (status == TRAIN_DONE && L.epochs > 0) {
        int rc = load_state(&L, res);
        if (rc < 0) status = TRAIN_FAILED;
        else status = train_loop(&L, res);
    }
    if (status == TRAIN_DONE && L.epochs > 0 && job->on_trained) {
        float *host = cg_malloc((m->params.n ? m->params.n : 1) * sizeof(float));
        if (m->params.n) k_download(host, m->params.data, m->params.n);
        job->on_trained(job->cb_ctx, &m->params, host);
        free(host);
    }
    res->train_seconds = cg_now() - t0;
    copy_curves(res, &L.st);
    if (status == TRAIN_DONE) {
        t0 = cg_now();
        for (int i = 0; i < job->data->n_evals && status == TRAIN_DONE; i++) {
            res->n_evals = i + 1;
            if (evaluate(job, m, &job->data->evals[i], &res->evals[i], res) != 0) status = TRAIN_FAILED;
        }
        res->eval_seconds = cg_now() - t0;
    }
    res->status = status;
    optim_free(&L.opt);
    train_state_free(&L.st);
    method_free(m);
    return res->status;
}

/* the method runs at its configured product precision (core/methods/method.h) */
int train_run(const TrainJob *job, TrainResult *res) {
    memset(res, 0, sizeof *res);
    return train_run_(job, res);
}
