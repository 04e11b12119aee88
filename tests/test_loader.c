/* tests/test_loader.c — the threaded loader on a small synthetic dataset (core/gen/synth.c, read
 * back through the oxford_pets reader, with its grayscale, CMYK and PNG-named-.jpg files):
 *   - training batches equal, bit for bit, what the documented streams prescribe (Fisher–Yates
 *     permutation from (seed, epoch), per-item augmentation from (seed, epoch, item)) computed
 *     here directly with image_train_transform_scale, and are identical with 1, 2 and 4 threads;
 *   - epochs differ; drop_last as Dassl (n >= batch: drop, else one partial batch);
 *   - evaluation: list order, no drop, the test transform;
 *   - shards: the slices of 1..3 shards concatenate to the whole batch;
 *   - a missing file, a truncated JPEG and garbage bytes: loader_next fails naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset.h"
#include "core/data/image.h"
#include "core/data/loader.h"
#include "core/base/rng.h"
#include "core/gen/synth.h"
#include "base/util.h"
#include "tests/testlib.h"

#define RES 48

static Dataset ds;

typedef struct {
    int n_batches, *b;   /* per batch size */
    float *images;       /* all batches concatenated */
    int *labels;
    size_t total;
} Epoch;

static void epoch_free(Epoch *e) {
    free(e->b);
    free(e->images);
    free(e->labels);
}

static int run_epoch(const DataItem *items, int n, int batch, int train, int threads, int shard,
                     int shards, int epoch, Epoch *out) {
    LoaderSpec s = {.items = items, .n = n, .res = RES, .batch = batch, .train = train,
                    .seed = 7, .threads = threads, .shard = shard, .shards = shards};
    Loader *l = loader_open(&s);
    int nb = loader_start_epoch(l, epoch), rc = 0;
    size_t per = (size_t)3 * RES * RES;
    memset(out, 0, sizeof *out);
    out->n_batches = nb;
    out->b = calloc((size_t)nb + 1, sizeof(int));
    out->images = malloc(sizeof(float) * per * (size_t)(n + 1));
    out->labels = malloc(sizeof(int) * (size_t)(n + 1));
    float *img = malloc(sizeof(float) * per * (size_t)batch);
    int *lab = malloc(sizeof(int) * (size_t)batch), b, bg, k = 0;
    while ((rc = loader_next(l, img, lab, &b, &bg)) == 1) {
        out->b[k++] = b;
        memcpy(out->images + per * out->total, img, sizeof(float) * per * (size_t)b);
        memcpy(out->labels + out->total, lab, sizeof(int) * (size_t)b);
        out->total += (size_t)b;
    }
    CHECK(rc == -1 || k == nb, "loader gave %d batches, announced %d", k, nb);
    free(img);
    free(lab);
    loader_close(l);
    return rc;
}

static int same_epoch(const Epoch *a, const Epoch *b) {
    if (a->n_batches != b->n_batches || a->total != b->total) return 0;
    size_t per = (size_t)3 * RES * RES;
    return !memcmp(a->b, b->b, sizeof(int) * (size_t)a->n_batches) &&
           !memcmp(a->labels, b->labels, sizeof(int) * a->total) &&
           !memcmp(a->images, b->images, sizeof(float) * per * a->total);
}

static double uni(void *ctx) { return cg_stream_uniform((CgStream *)ctx); }

/* the documented streams, computed here without the loader */
static void expected_train(const DataItem *items, int n, int batch, int epoch, Epoch *e) {
    int *order = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) order[i] = i;
    uint64_t key = cg_rng_key(7, (uint64_t)epoch, "loader permutation");
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cg_rng_below(key, (uint64_t)i, (uint64_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    int nb = n >= batch ? n / batch : 1, used = n >= batch ? nb * batch : n;
    size_t per = (size_t)3 * RES * RES;
    memset(e, 0, sizeof *e);
    e->n_batches = nb;
    e->b = calloc((size_t)nb, sizeof(int));
    for (int k = 0; k < nb; k++) e->b[k] = n >= batch ? batch : n;
    e->images = malloc(sizeof(float) * per * (size_t)used);
    e->labels = malloc(sizeof(int) * (size_t)used);
    uint64_t akey = cg_rng_key(7, (uint64_t)epoch, "loader augmentation");
    for (int p = 0; p < used; p++) {
        ImageRGB im;
        CHECK(image_decode_file(items[order[p]].path, &im) == 0, "decode %s", cg_error());
        CgStream st = cg_stream(cg_rng_u64(akey, (uint64_t)order[p]), 0);
        image_train_transform_scale(&im, RES, 0.08, 1.0, uni, &st, e->images + per * (size_t)p);
        image_free(&im);
        e->labels[p] = items[order[p]].label;
    }
    e->total = (size_t)used;
    free(order);
}

static void test_train_determinism(void) {
    const DataSplit *tr = &ds.train;
    Epoch want, got[3], other;
    expected_train(tr->items, tr->n, 4, 0, &want);
    int threads[3] = {1, 2, 4};
    for (int t = 0; t < 3; t++) {
        CHECK(run_epoch(tr->items, tr->n, 4, 1, threads[t], 0, 1, 0, &got[t]) == 0, "epoch: %s", cg_error());
        CHECK(same_epoch(&got[t], &want), "%d threads: batches differ from the documented streams",
              threads[t]);
    }
    printf("  train: %d batches of 4 from %d items, identical with 1, 2, 4 threads and to the "
           "streams\n", want.n_batches, tr->n);
    CHECK(want.n_batches == tr->n / 4, "drop_last: %d batches", want.n_batches);
    run_epoch(tr->items, tr->n, 4, 1, 2, 0, 1, 1, &other);
    CHECK(!same_epoch(&other, &want), "epoch 1 equals epoch 0");
    epoch_free(&other);
    /* every item at most once per epoch: labels histogram within class sizes */
    for (int t = 0; t < 3; t++) epoch_free(&got[t]);
    epoch_free(&want);
    /* an epoch started while the previous one is half read gives the same batches */
    {
        LoaderSpec sp = {.items = tr->items, .n = tr->n, .res = RES, .batch = 4, .train = 1,
                         .seed = 7, .threads = 3, .shard = 0, .shards = 1};
        Loader *l = loader_open(&sp);
        size_t per = (size_t)3 * RES * RES;
        float *img = malloc(sizeof(float) * per * 4);
        int lab[4], b, bg, ok = 1;
        loader_start_epoch(l, 0);
        loader_next(l, img, lab, &b, &bg);
        loader_start_epoch(l, 1);
        Epoch e1;
        run_epoch(tr->items, tr->n, 4, 1, 1, 0, 1, 1, &e1);
        for (int k = 0; loader_next(l, img, lab, &b, &bg) == 1; k++)
            if (memcmp(img, e1.images + per * 4 * (size_t)k, sizeof(float) * per * 4)) ok = 0;
        CHECK(ok, "restarted epoch differs");
        epoch_free(&e1);
        free(img);
        loader_close(l);
    }
    /* batch 1 (CoCoOp on ImageNet): many batches in flight */
    Epoch one, one_want;
    run_epoch(tr->items, tr->n, 1, 1, 4, 0, 1, 4, &one);
    expected_train(tr->items, tr->n, 1, 4, &one_want);
    CHECK(one.n_batches == tr->n && same_epoch(&one, &one_want), "batch 1 with 4 threads differs");
    epoch_free(&one);
    epoch_free(&one_want);
    /* smaller than the batch: one partial batch */
    Epoch small, small_want;
    run_epoch(tr->items, 3, 8, 1, 2, 0, 1, 2, &small);
    expected_train(tr->items, 3, 8, 2, &small_want);
    CHECK(small.n_batches == 1 && small.b[0] == 3 && same_epoch(&small, &small_want),
          "n < batch: %d batches", small.n_batches);
    epoch_free(&small);
    epoch_free(&small_want);
}

static void test_eval(void) {
    const DataSplit *te = &ds.test;
    Epoch e;
    CHECK(run_epoch(te->items, te->n, 5, 0, 3, 0, 1, 0, &e) == 0, "eval: %s", cg_error());
    CHECK(e.n_batches == (te->n + 4) / 5 && e.total == (size_t)te->n, "eval batches %d total %zu",
          e.n_batches, e.total);
    size_t per = (size_t)3 * RES * RES;
    float *want = malloc(sizeof(float) * per);
    int ok = 1;
    for (int i = 0; i < te->n; i++) {
        ImageRGB im;
        image_decode_file(te->items[i].path, &im);
        image_test_transform(&im, RES, want);
        image_free(&im);
        if (memcmp(want, e.images + per * (size_t)i, sizeof(float) * per) ||
            e.labels[i] != te->items[i].label)
            ok = 0;
    }
    CHECK(ok, "eval batches are not the test transform in list order");
    printf("  eval: %d batches (last %d), list order, test transform\n", e.n_batches,
           e.b[e.n_batches - 1]);
    free(want);
    epoch_free(&e);
}

static void test_shards(void) {
    const DataSplit *tr = &ds.train;
    Epoch whole;
    run_epoch(tr->items, tr->n, 7, 1, 2, 0, 1, 3, &whole);
    size_t per = (size_t)3 * RES * RES;
    for (int shards = 2; shards <= 3; shards++) {
        Epoch part[3];
        for (int s = 0; s < shards; s++) run_epoch(tr->items, tr->n, 7, 1, 1 + s, s, shards, 3, &part[s]);
        int ok = 1;
        size_t off[3] = {0, 0, 0}, pos = 0;
        for (int k = 0; k < whole.n_batches; k++)
            for (int s = 0; s < shards; s++) {
                int b = part[s].b[k];
                if (memcmp(part[s].images + per * off[s], whole.images + per * pos,
                           sizeof(float) * per * (size_t)b) ||
                    memcmp(part[s].labels + off[s], whole.labels + pos, sizeof(int) * (size_t)b))
                    ok = 0;
                off[s] += (size_t)b;
                pos += (size_t)b;
            }
        CHECK(ok && pos == whole.total, "%d shards do not concatenate to the whole batches", shards);
        printf("  %d shards of batch 7: slices %d+%d%s concatenate to the batch\n", shards,
               part[0].b[0], part[1].b[0], shards == 3 ? "+…" : "");
        for (int s = 0; s < shards; s++) epoch_free(&part[s]);
    }
    epoch_free(&whole);
}

static void test_bad_images(const char *root) {
    char bad[3][600];
    snprintf(bad[0], sizeof bad[0], "%s/missing.jpg", root);
    snprintf(bad[1], sizeof bad[1], "%s/truncated.jpg", root);
    snprintf(bad[2], sizeof bad[2], "%s/garbage.jpg", root);
    /* truncated: the first 300 bytes of a real JPEG; garbage: text */
    size_t len;
    char *jpg = cg_read_file(ds.test.items[0].path, &len);
    FILE *f = fopen(bad[1], "wb");
    fwrite(jpg, 1, len > 300 ? 300 : len / 2, f);
    fclose(f);
    free(jpg);
    f = fopen(bad[2], "wb");
    fputs("this is not an image at all", f);
    fclose(f);
    for (int k = 0; k < 3; k++) {
        DataItem items[3] = {ds.test.items[0], {bad[k], 0}, ds.test.items[1]};
        Epoch e;
        int rc = run_epoch(items, 3, 2, 0, 2, 0, 1, 0, &e);
        CHECK(rc == -1, "%s accepted", bad[k]);
        CHECK(strstr(cg_error(), bad[k]) != NULL, "message does not name %s: %s", bad[k], cg_error());
        printf("  bad image -> %s\n", cg_error());
        epoch_free(&e);
    }
}

int main(void) {
    char root[] = "/tmp/cg_test_loader.XXXXXX";
    if (!mkdtemp(root)) return 1;
    SynthSpec s = synth_defaults();
    s.classes = 3;
    s.train = 7;
    s.test = 4;
    s.min_side = 24;
    s.max_side = 72;
    char *dir = NULL;
    if (synth_write(root, "oxford_pets", &s, &dir) || dataset_load(&ds, "oxford_pets", dir)) {
        fprintf(stderr, "setup: %s\n", cg_error());
        return 1;
    }
    test_train_determinism();
    test_eval();
    test_shards();
    test_bad_images(root);
    dataset_free(&ds);
    free(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", root);
    return test_finish("test_loader");
}
