/* core/data/loader.c — the threaded loader of core/data/loader.h: a pool of worker threads decodes and
 * transforms the items of this shard into a ring of `prefetch` batch slots ahead of the consumer.
 * Work units are single items; which thread does which item never changes a value, because each
 * item's augmentation stream is keyed by (seed, epoch, item index). */
#include "core/data/loader.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/image.h"
#include "core/base/rng.h"
#include "base/util.h"

struct Loader {
    LoaderSpec spec;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    size_t img_floats;  /* 3·res·res */
    int max_shard_b;    /* largest shard slice of a batch */
    /* the epoch */
    int epoch, n_batches, generation, active, quit, started;
    int *order;         /* [n] global item order of the epoch */
    int *task_item;     /* [n_tasks] dataset index of each task of this shard */
    int *task_batch;    /* [n_tasks] its batch */
    int *task_pos;      /* [n_tasks] its place in the shard's slice */
    int n_tasks, next_task;
    int *batch_first;   /* [n_batches + 1] first task of each batch */
    int *batch_global;  /* [n_batches] whole-batch size */
    int *remaining;     /* [n_batches] tasks not finished */
    int cur;            /* next batch loader_next returns */
    uint64_t aug_key;
    /* the ring of slots: batch k lives in slot k % prefetch */
    float **slot_images;
    int **slot_labels;
    int err_batch;      /* first batch with a bad image, INT_MAX if none */
    char err_msg[1024];
};

static int n_batches_for(const LoaderSpec *s) {
    if (s->n <= 0) return 0;
    if (!s->train) return (s->n + s->batch - 1) / s->batch;
    return s->n >= s->batch ? s->n / s->batch : 1; /* Dassl: drop_last iff n >= batch */
}

static double stream_uniform(void *ctx) { return cg_stream_uniform((CgStream *)ctx); }

/* decode and transform one task into its slot; 0, or −1 with cg_error set */
static int run_task(Loader *l, int t) {
    const LoaderSpec *s = &l->spec;
    int item = l->task_item[t], slot = l->task_batch[t] % s->prefetch;
    float *out = l->slot_images[slot] + l->img_floats * (size_t)l->task_pos[t];
    ImageRGB im;
    if (image_decode_file(s->items[item].path, &im)) return -1;
    if (s->train) {
        CgStream st = cg_stream(cg_rng_u64(l->aug_key, (uint64_t)item), 0);
        image_train_transform_scale(&im, s->res, s->scale_min, 1.0, stream_uniform, &st, out);
    } else {
        image_test_transform(&im, s->res, out);
    }
    image_free(&im);
    l->slot_labels[slot][l->task_pos[t]] = s->items[item].label;
    return 0;
}

static int task_ready(const Loader *l) {
    return l->started && l->next_task < l->n_tasks &&
           l->task_batch[l->next_task] < l->cur + l->spec.prefetch;
}

static void *worker(void *arg) {
    Loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->quit && !task_ready(l)) pthread_cond_wait(&l->work_cv, &l->mu);
        if (l->quit) break;
        int t = l->next_task++, gen = l->generation;
        l->active++;
        pthread_mutex_unlock(&l->mu);
        int rc = run_task(l, t);
        pthread_mutex_lock(&l->mu);
        l->active--;
        if (gen == l->generation) {
            int b = l->task_batch[t];
            if (rc && b < l->err_batch) {
                l->err_batch = b;
                snprintf(l->err_msg, sizeof l->err_msg, "%s", cg_error());
            }
            l->remaining[b]--;
        }
        pthread_cond_broadcast(&l->done_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

Loader *loader_open(const LoaderSpec *spec) {
    if (spec->n < 0 || spec->batch < 1 || spec->res < 1 || spec->shards < 1 || spec->shard < 0 ||
        spec->shard >= spec->shards)
        cg_fatal("loader_open: bad spec (n %d, batch %d, res %d, shard %d of %d)", spec->n,
                 spec->batch, spec->res, spec->shard, spec->shards);
    Loader *l = cg_calloc(1, sizeof *l);
    l->spec = *spec;
    if (l->spec.threads < 1) l->spec.threads = 1;
    if (l->spec.scale_min <= 0) l->spec.scale_min = 0.08;
    l->img_floats = (size_t)3 * spec->res * spec->res;
    l->max_shard_b = (spec->batch + spec->shards - 1) / spec->shards;
    if (l->spec.prefetch < 1) { /* 2 batches, and at least 2 items per thread in flight */
        int per_threads = (2 * l->spec.threads + l->max_shard_b - 1) / l->max_shard_b;
        l->spec.prefetch = per_threads > 2 ? per_threads : 2;
    }
    l->slot_images = cg_malloc(sizeof(float *) * (size_t)l->spec.prefetch);
    l->slot_labels = cg_malloc(sizeof(int *) * (size_t)l->spec.prefetch);
    for (int k = 0; k < l->spec.prefetch; k++) {
        l->slot_images[k] = cg_malloc(sizeof(float) * l->img_floats * (size_t)l->max_shard_b);
        l->slot_labels[k] = cg_malloc(sizeof(int) * (size_t)l->max_shard_b);
    }
    l->order = cg_malloc(sizeof(int) * (size_t)(spec->n + 1));
    l->task_item = cg_malloc(sizeof(int) * (size_t)(spec->n + 1));
    l->task_batch = cg_malloc(sizeof(int) * (size_t)(spec->n + 1));
    l->task_pos = cg_malloc(sizeof(int) * (size_t)(spec->n + 1));
    int nb = n_batches_for(spec);
    l->batch_first = cg_malloc(sizeof(int) * (size_t)(nb + 1));
    l->batch_global = cg_malloc(sizeof(int) * (size_t)(nb + 1));
    l->remaining = cg_malloc(sizeof(int) * (size_t)(nb + 1));
    l->err_batch = INT_MAX;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->done_cv, NULL);
    l->threads = cg_malloc(sizeof(pthread_t) * (size_t)l->spec.threads);
    for (int i = 0; i < l->spec.threads; i++)
        if (pthread_create(&l->threads[i], NULL, worker, l)) cg_fatal("loader: cannot start a thread");
    return l;
}

/* the epoch's global order: identity (evaluation) or a Fisher–Yates permutation */
static void epoch_order(Loader *l, int epoch) {
    int n = l->spec.n;
    for (int i = 0; i < n; i++) l->order[i] = i;
    if (!l->spec.train) return;
    uint64_t key = cg_rng_key(l->spec.seed, (uint64_t)epoch, "loader permutation");
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cg_rng_below(key, (uint64_t)i, (uint64_t)i + 1);
        int t = l->order[i];
        l->order[i] = l->order[j];
        l->order[j] = t;
    }
}

/* this shard's tasks: of each global batch [g0, g0 + bg) the slice [bg·s/S, bg·(s+1)/S) */
static void epoch_tasks(Loader *l) {
    const LoaderSpec *s = &l->spec;
    int nb = l->n_batches, t = 0;
    for (int b = 0; b < nb; b++) {
        int g0 = b * s->batch, bg = s->n - g0 < s->batch ? s->n - g0 : s->batch;
        int lo = (int)((long long)bg * s->shard / s->shards);
        int hi = (int)((long long)bg * (s->shard + 1) / s->shards);
        l->batch_first[b] = t;
        l->batch_global[b] = bg;
        for (int k = lo; k < hi; k++, t++) {
            l->task_item[t] = l->order[g0 + k];
            l->task_batch[t] = b;
            l->task_pos[t] = k - lo;
        }
        l->remaining[b] = hi - lo;
    }
    l->batch_first[nb] = t;
    l->n_tasks = t;
}

int loader_start_epoch(Loader *l, int epoch) {
    pthread_mutex_lock(&l->mu);
    l->generation++;
    l->started = 0;
    while (l->active) pthread_cond_wait(&l->done_cv, &l->mu); /* tasks of the old epoch */
    l->epoch = epoch;
    l->n_batches = n_batches_for(&l->spec);
    epoch_order(l, epoch);
    epoch_tasks(l);
    l->aug_key = cg_rng_key(l->spec.seed, (uint64_t)epoch, "loader augmentation");
    l->next_task = 0;
    l->cur = 0;
    l->err_batch = INT_MAX;
    l->started = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    return l->n_batches;
}

int loader_next(Loader *l, float *images, int *labels, int *b, int *b_global) {
    pthread_mutex_lock(&l->mu);
    if (!l->started || l->cur >= l->n_batches) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    int k = l->cur;
    while (l->remaining[k] > 0 && l->err_batch > k) pthread_cond_wait(&l->done_cv, &l->mu);
    if (l->err_batch <= k) {
        cg_error_set("%s", l->err_msg);
        pthread_mutex_unlock(&l->mu);
        return -1;
    }
    pthread_mutex_unlock(&l->mu);
    int n = l->batch_first[k + 1] - l->batch_first[k], slot = k % l->spec.prefetch;
    memcpy(images, l->slot_images[slot], sizeof(float) * l->img_floats * (size_t)n);
    memcpy(labels, l->slot_labels[slot], sizeof(int) * (size_t)n);
    *b = n;
    *b_global = l->batch_global[k];
    pthread_mutex_lock(&l->mu);
    l->cur++;
    pthread_cond_broadcast(&l->work_cv); /* the window moved */
    pthread_mutex_unlock(&l->mu);
    return 1;
}

void loader_close(Loader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->quit = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->spec.threads; i++) pthread_join(l->threads[i], NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->done_cv);
    for (int k = 0; k < l->spec.prefetch; k++) {
        free(l->slot_images[k]);
        free(l->slot_labels[k]);
    }
    free(l->slot_images);
    free(l->slot_labels);
    free(l->threads);
    free(l->order);
    free(l->task_item);
    free(l->task_batch);
    free(l->task_pos);
    free(l->batch_first);
    free(l->batch_global);
    free(l->remaining);
    free(l);
}
