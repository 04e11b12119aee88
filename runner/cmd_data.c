/* runner/cmd_data.c — `clipgrid data`: read one dataset as a run would (split files or folders,
 * few-shot picks identical to Dassl's for the seed, base/new subset) and print its classes, the
 * list sizes and, with --shots, the chosen training items in order; --dump writes the first test
 * images through the test transform to HDF5 for comparison with the PyTorch pipeline. */
#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/data/dataset.h"
#include "core/data/image.h"
#include "base/util.h"
#include "core/data/fewshot_cache.h"
#include "runner/cli.h"

static void data_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid data DIR --dataset NAME [--shots K --seed S] [--subset base|new|all]\n"
            "                     [--dump N FILE.h5] [--res R]\n\n"
            "Reads the dataset in DIR — that dataset's own folder, e.g. DATA/oxford_pets holding\n"
            "images/ and split_zhou_OxfordPets.json — and prints its classes (label order, final\n"
            "names) and the sizes of its train/val/test lists.\n\n"
            "  --dataset NAME  imagenet caltech101 oxford_pets stanford_cars oxford_flowers food101\n"
            "                  fgvc_aircraft sun397 dtd eurosat ucf101 imagenetv2 imagenet_sketch\n"
            "                  imagenet_a imagenet_r, or folder: a user's dataset DIR/train/<class>/,\n"
            "                  DIR/test/<class>/, optional DIR/val/ and DIR/classnames.txt\n"
            "  --shots K       Dassl's K-shot sample (train K, val min(K, 4); Python's random\n"
            "                  seeded with S, as CoOp's split_fewshot/shot_K-seed_S.pkl); prints\n"
            "                  the chosen training items in order, one per line: PATH LABEL\n"
            "  --seed S        the run's seed (default 1)\n"
            "  --fewshot-dir F where Dassl's shot_K-seed_S.pkl caches are (default DIR/split_fewshot,\n"
            "                  Dassl's place). When the cache exists its items are used, as a run\n"
            "                  would, and it is compared with clipgrid's own sampling: equal or the\n"
            "                  first difference\n"
            "  --subset WHICH  base / new: CoOp's base-to-new class split, relabelled from 0\n"
            "  --dump N FILE   the first N test images (after --subset) through the test\n"
            "                  transform: HDF5 float32 dataset \"images\" [N,3,R,R] and int32\n"
            "                  \"labels\" [N]\n"
            "  --res R         output side for --dump (default 224)\n\n"
            "       clipgrid data verify DIR --dataset NAME\n"
            "decodes every listed image (in parallel) and compares the train/val/test sizes with\n"
            "the published ones; exit 1 when an image is corrupt or a size differs.\n");
}

static int parse_int(const char *opt, const char *s, int lo, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > INT_MAX) {
        fprintf(stderr, "clipgrid data: %s expects an integer >= %d, got '%s'\n", opt, lo, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int write_dump(const Dataset *d, int n, int res, const char *file) {
    if (n > d->test.n) n = d->test.n;
    size_t per = (size_t)3 * res * res;
    float *images = cg_malloc(sizeof(float) * per * (size_t)(n ? n : 1));
    int *labels = cg_malloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        ImageRGB im;
        if (image_decode_file(d->test.items[i].path, &im)) {
            fprintf(stderr, "clipgrid data: %s\n", cg_error());
            free(images);
            free(labels);
            return 1;
        }
        image_test_transform(&im, res, images + per * (size_t)i);
        image_free(&im);
        labels[i] = d->test.items[i].label;
    }
    int rc = 1;
    hid_t f = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "clipgrid data: cannot create %s\n", file);
    } else {
        hsize_t dims[4] = {(hsize_t)n, 3, (hsize_t)res, (hsize_t)res};
        hid_t sp = H5Screate_simple(4, dims, NULL), sl = H5Screate_simple(1, dims, NULL);
        hid_t di = H5Dcreate2(f, "images", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hid_t dl = H5Dcreate2(f, "labels", H5T_STD_I32LE, sl, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (di >= 0 && dl >= 0 &&
            H5Dwrite(di, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, images) >= 0 &&
            H5Dwrite(dl, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels) >= 0)
            rc = 0;
        else fprintf(stderr, "clipgrid data: cannot write %s\n", file);
        if (di >= 0) H5Dclose(di);
        if (dl >= 0) H5Dclose(dl);
        H5Sclose(sp);
        H5Sclose(sl);
        if (H5Fclose(f) < 0) rc = 1;
    }
    if (!rc) printf("wrote %d test images (%dx%d, test transform) and labels to %s\n", n, res, res, file);
    free(images);
    free(labels);
    return rc;
}

/* replace a split by another (freeing the old items) */
static void dataset_free_split_(DataSplit *old, DataSplit *repl) {
    for (int i = 0; i < old->n; i++) free(old->items[i].path);
    free(old->items);
    *old = *repl;
}

static int same_split_(const DataSplit *a, const DataSplit *b, const char *what) {
    for (int i = 0; i < a->n && i < b->n; i++)
        if (strcmp(a->items[i].path, b->items[i].path) || a->items[i].label != b->items[i].label) {
            printf("  %s item %d: cache %s, clipgrid %s\n", what, i, a->items[i].path,
                   b->items[i].path);
            return 0;
        }
    if (a->n != b->n) printf("  %s: cache %d items, clipgrid %d\n", what, a->n, b->n);
    return a->n == b->n;
}

/* the cache against clipgrid's own sampling of the same dataset (before the subset) */
static int compare_cache_(const char *name, const char *dir, const Dataset *cached,
                          const FewshotSource *src, int shots, int seed) {
    Dataset own;
    if (dataset_load(&own, name, dir) || dataset_fewshot(&own, shots, seed)) return -1;
    printf("few-shot cache %s (sha256 %s): train %d, val %d items\n", src->file, src->sha256,
           src->n_train, src->n_val);
    int eq = same_split_(&cached->train, &own.train, "train");
    if (src->n_val) eq &= same_split_(&cached->val, &own.val, "val");
    printf("clipgrid's own sampling (shots %d, seed %d) %s the cache; the cache's items are "
           "used\n", shots, seed, eq ? "equals" : "differs from");
    dataset_free(&own);
    return 0;
}

static void print_dataset(const Dataset *d) {
    printf("dataset %s (%s) in %s\n", d->name, dataset_dassl_name(d->name), d->dir);
    printf("classes %d\n", d->n_classes);
    for (int y = 0; y < d->n_classes; y++) printf("  %d %s\n", y, d->classnames[y]);
    printf("train %d  val %d  test %d\n", d->train.n, d->val.n, d->test.n);
}

/* `data verify DIR --dataset NAME` (runner/cmd_data_verify.c) */
static int verify_(int argc, char **argv) {
    const char *dir = NULL, *name = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--dataset") && i + 1 < argc) name = argv[++i];
        else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else {
            fprintf(stderr, "clipgrid data verify: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!dir || !name) {
        fprintf(stderr, "usage: clipgrid data verify DIR --dataset NAME\n");
        return 2;
    }
    return cmd_data_verify(dir, name);
}

int cmd_data(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "verify")) return verify_(argc, argv);
    const char *dir = NULL, *name = NULL, *dump_file = NULL, *fs_dir = NULL;
    int shots = 0, seed = 1, dump_n = 0, res = 224;
    ClassSubset subset = SUBSET_ALL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            data_usage(stdout);
            return 0;
        }
        if (a[0] != '-') {
            if (dir) {
                fprintf(stderr, "clipgrid data: more than one DIR ('%s', '%s')\n", dir, a);
                return 2;
            }
            dir = a;
            continue;
        }
        if (!v || (!strcmp(a, "--dump") && i + 2 >= argc)) {
            fprintf(stderr, "clipgrid data: %s needs %s\n", a, strcmp(a, "--dump") ? "a value" : "N and FILE.h5");
            return 2;
        }
        i++;
        int bad = 0;
        if (!strcmp(a, "--dataset")) name = v;
        else if (!strcmp(a, "--shots")) bad = parse_int(a, v, 1, &shots);
        else if (!strcmp(a, "--seed")) bad = parse_int(a, v, 0, &seed);
        else if (!strcmp(a, "--res")) bad = parse_int(a, v, 1, &res);
        else if (!strcmp(a, "--fewshot-dir")) fs_dir = v;
        else if (!strcmp(a, "--dump")) {
            bad = parse_int(a, v, 1, &dump_n);
            dump_file = argv[++i];
        } else if (!strcmp(a, "--subset")) {
            if (!strcmp(v, "base")) subset = SUBSET_BASE;
            else if (!strcmp(v, "new")) subset = SUBSET_NEW;
            else if (!strcmp(v, "all")) subset = SUBSET_ALL;
            else {
                fprintf(stderr, "clipgrid data: --subset expects base, new or all, got '%s'\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "clipgrid data: unknown option %s (see --help)\n", a);
            return 2;
        }
        if (bad) return 2;
    }
    if (!dir || !name) {
        data_usage(stderr);
        return 2;
    }
    if (!strcmp(name, "folder") && dataset_folder_register("folder", dir, NULL)) {
        fprintf(stderr, "clipgrid data: %s\n", cg_error());
        return 1;
    }
    Dataset d;
    FewshotSource src = {0};
    char cache[1024];
    int found = 0;
    if (shots > 0 && fs_dir) {
        snprintf(cache, sizeof cache, "%s/shot_%d-seed_%d.pkl", fs_dir, shots, seed);
        found = access(cache, F_OK) == 0;
    } else if (shots > 0) {
        found = fewshot_cache_find(NULL, NULL, dir, shots, seed, cache, sizeof cache);
    }
    int rc = dataset_load(&d, name, dir);
    if (!rc && found) {
        DataSplit tr, va;
        int has_val;
        rc = fewshot_cache_read(cache, &d, &tr, &va, &has_val, &src);
        if (!rc) {
            dataset_free_split_(&d.train, &tr);
            if (has_val) dataset_free_split_(&d.val, &va);
            rc = compare_cache_(name, dir, &d, &src, shots, seed);
        }
    } else if (!rc) {
        rc = dataset_fewshot(&d, shots, seed);
    }
    if (rc || dataset_subsample(&d, subset)) {
        fprintf(stderr, "clipgrid data: %s\n", cg_error());
        return 1;
    }
    print_dataset(&d);
    if (shots > 0) {
        printf("training items (%d shots, seed %d, %s, subset %s): %d\n", shots, seed,
               src.from_cache ? "from the cache" : "clipgrid's sampling",
               subset == SUBSET_BASE ? "base" : subset == SUBSET_NEW ? "new" : "all", d.train.n);
        for (int i = 0; i < d.train.n; i++) printf("%s %d\n", d.train.items[i].path, d.train.items[i].label);
    }
    rc = dump_file ? write_dump(&d, dump_n, res, dump_file) : 0;
    dataset_free(&d);
    return rc;
}
