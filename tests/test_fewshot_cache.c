/* tests/test_fewshot_cache.c — Dassl's own few-shot caches (tests/data/dassl, copied from
 * shared/data/dassl: written by CoOp's dataset classes and Dassl on two synthetic datasets, with
 * another machine's absolute paths inside; expected.json lists what each holds):
 *   - every cache gives exactly the listed train/val items (path within the folder, label);
 *   - clipgrid's own sampling equals the OxfordPets caches and differs from the ImageNet ones
 *     (Dassl listed ImageNet's class folders in the file system's order);
 *   - run_prepare_with uses the cache's items (ImageNet fewshot, OxfordPets base2new) and records
 *     the file and its SHA-256; a cache of another dataset is refused naming the item. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/fewshot_cache.h"
#include "core/train/train.h"
#include "base/util.h"
#include "tests/testlib.h"

#define ROOT "tests/data/dassl"

/* d's split equals the expected list [[rel, label, classname], …] */
static int split_equals_(const Dataset *d, const DataSplit *s, json_t *want, const char *what) {
    size_t n = json_array_size(want), dl = strlen(d->dir);
    if ((size_t)s->n != n) {
        CHECK(0, "%s: %d items, expected %zu", what, s->n, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(want, i);
        const char *rel = json_string_value(json_array_get(e, 0));
        int label = (int)json_integer_value(json_array_get(e, 1));
        const char *p = s->items[i].path;
        if (strncmp(p, d->dir, dl) || strcmp(p + dl + 1, rel) || s->items[i].label != label) {
            CHECK(0, "%s item %zu: %s label %d, expected %s label %d", what, i, p,
                  s->items[i].label, rel, label);
            return 0;
        }
    }
    return 1;
}

static int same_items_(const DataSplit *a, const DataSplit *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->items[i].path, b->items[i].path) || a->items[i].label != b->items[i].label)
            return 0;
    return 1;
}

static void test_caches(const char *name, int expect_equal) {
    char dir[256], file[512];
    snprintf(dir, sizeof dir, ROOT "/%s", name);
    snprintf(file, sizeof file, "%s/split_fewshot/expected.json", dir);
    json_error_t err;
    json_t *exp = json_load_file(file, 0, &err);
    if (!exp) cg_fatal("%s: %s", file, err.text);
    const char *key;
    json_t *lists;
    json_object_foreach(exp, key, lists) {
        int shots, seed;
        if (sscanf(key, "shot_%d-seed_%d.pkl", &shots, &seed) != 2) cg_fatal("bad key %s", key);
        Dataset d, own;
        if (dataset_load(&d, name, dir) || dataset_load(&own, name, dir)) cg_fatal("%s", cg_error());
        FewshotSource src;
        CHECK(dataset_fewshot_select(&d, NULL, shots, seed, &src) == 0, "%s %s: %s", name, key,
              cg_error());
        char what[128];
        snprintf(what, sizeof what, "%s %s train", name, key);
        int ok = src.from_cache && split_equals_(&d, &d.train, json_object_get(lists, "train"), what);
        json_t *val = json_object_get(lists, "val");
        snprintf(what, sizeof what, "%s %s val", name, key);
        if (val) ok &= split_equals_(&d, &d.val, val, what);
        CHECK(src.from_cache && strlen(src.sha256) == 64 && strstr(src.file, key),
              "%s %s: source not recorded", name, key);
        dataset_fewshot(&own, shots, seed);
        int eq = same_items_(&d.train, &own.train) && (!val || same_items_(&d.val, &own.val));
        printf("  %-12s %-18s train %2d val %2d items as listed: %s; clipgrid's own sampling %s\n",
               name, key, d.train.n, val ? d.val.n : 0, ok ? "yes" : "NO",
               eq ? "equal" : "differs");
        CHECK(eq == expect_equal, "%s %s: clipgrid's sampling %s the cache, expected %s", name,
              key, eq ? "equals" : "differs from", expect_equal ? "equal" : "different");
        dataset_free(&d), dataset_free(&own);
    }
    json_decref(exp);
}

static void test_runs(void) {
    printf("runs\n");
    RunData rd;
    CHECK(run_prepare_with(&rd, "fewshot", "imagenet", ROOT, 2, 1, NULL, NULL) == 0, "%s", cg_error());
    json_t *exp = json_load_file(ROOT "/imagenet/split_fewshot/expected.json", 0, NULL);
    json_t *want = json_object_get(json_object_get(exp, "shot_2-seed_1.pkl"), "train");
    CHECK(split_equals_(&rd.train, &rd.train.train, want, "imagenet fewshot run train"),
          "imagenet fewshot run: not the cache's items");
    /* sha256sum tests/data/dassl/imagenet/split_fewshot/shot_2-seed_1.pkl */
    CHECK(rd.fewshot.from_cache &&
              !strcmp(rd.fewshot.sha256,
                      "e43a39a6f11745ebdf770cc9b51f62a8d724052f74c20b8b3bddb43731aa0f75"),
          "imagenet run: source %d sha256 %s", rd.fewshot.from_cache, rd.fewshot.sha256);
    printf("  imagenet fewshot shots 2 seed 1: %d training items from %s\n", rd.train.train.n,
           rd.fewshot.file);
    run_data_free(&rd);
    json_decref(exp);
    /* base2new: the cache, then the base classes (3 of 6, 4 shots each) */
    CHECK(run_prepare_with(&rd, "base2new", "oxford_pets", ROOT, 4, 2, NULL, NULL) == 0, "%s",
          cg_error());
    CHECK(rd.fewshot.from_cache && rd.train.train.n == 12 && rd.train.n_classes == 3,
          "oxford_pets base2new: from_cache %d, %d items, %d classes", rd.fewshot.from_cache,
          rd.train.train.n, rd.train.n_classes);
    run_data_free(&rd);
    /* no cache for these shots: clipgrid's sampling */
    CHECK(run_prepare_with(&rd, "fewshot", "oxford_pets", ROOT, 2, 1, NULL, NULL) == 0 &&
              !rd.fewshot.from_cache && rd.train.train.n == 12,
          "oxford_pets 2 shots: %s", cg_error());
    run_data_free(&rd);
    /* a cache of another dataset is refused, naming the item */
    Dataset d;
    DataSplit tr, va;
    int has_val;
    FewshotSource src;
    if (dataset_load(&d, "imagenet", ROOT "/imagenet")) cg_fatal("%s", cg_error());
    int rc = fewshot_cache_read(ROOT "/oxford_pets/split_fewshot/shot_1-seed_1.pkl", &d, &tr, &va,
                                &has_val, &src);
    CHECK(rc == -1 && strstr(cg_error(), "train[0]") && strstr(cg_error(), "is not an item"),
          "oxford_pets cache on imagenet: %s", rc ? cg_error() : "accepted");
    dataset_free(&d);
}

int main(void) {
    printf("Dassl caches against expected.json\n");
    test_caches("oxford_pets", 1);
    test_caches("imagenet", 0);
    test_runs();
    return test_finish("test_fewshot_cache");
}
