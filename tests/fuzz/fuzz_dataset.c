/* tests/fuzz/fuzz_dataset.c — libFuzzer harness of the dataset list readers (core/dataset*.c):
 * split_zhou_<Name>.json (jansson), FGVC-Aircraft's variants.txt and images_variant_*.txt, and
 * the classnames.txt of ImageNet and its variants. A small fixed tree of image files and class
 * folders is made once in a temporary folder; the input's first byte picks the format:
 *   0 caltech101 split JSON, 1 stanford_cars split JSON (images in the dataset folder itself),
 *   2 fgvc_aircraft: the rest holds variants.txt, train, val and test lists separated by "##\n",
 *   3 imagenet, 4 imagenetv2, 5 imagenet_sketch, 6 imagenet_a: the rest is classnames.txt.
 * A dataset that loads is then taken through the few-shot sampler and the base/new split, with
 * the shots and the subset from the input's second byte. */
#include <sys/stat.h>

#include "core/data/dataset.h"
#include "tests/fuzz/fuzz_util.h"

static char g_root[PATH_MAX];

static void put(const char *rel, const void *data, size_t n) {
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", g_root, rel);
    for (char *s = strchr(path + strlen(g_root) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        mkdir(path, 0700);
        *s = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        perror(path);
        abort();
    }
}

static void remove_tree(void) {
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    if (g_root[0] && system(cmd) != 0) fprintf(stderr, "fuzz_dataset: cannot remove %s\n", g_root);
}

static void make_tree(void) {
    static const char *files[] = {
        "caltech/101_ObjectCategories/a/1.jpg", "caltech/101_ObjectCategories/a/2.jpg",
        "caltech/101_ObjectCategories/b/1.jpg", "caltech/101_ObjectCategories/c d/x.jpg",
        "caltech/101_ObjectCategories/1.jpg", "cars/cars_train/1.jpg", "cars/cars_test/2.jpg",
        "fgvc/images/1.jpg", "fgvc/images/2.jpg", "fgvc/images/3.jpg", "fgvc/images/a b.jpg",
        "imagenet/images/train/n01/a.JPEG", "imagenet/images/train/n02/b.JPEG",
        "imagenet/images/val/n01/c.JPEG", "imagenet/images/val/n02/d.JPEG",
        "v2/imagenetv2-matched-frequency-format-val/0/a.jpeg",
        "v2/imagenetv2-matched-frequency-format-val/1/b.jpeg",
        "v2/imagenetv2-matched-frequency-format-val/2/c.jpeg", "sketch/images/n01/a.JPEG",
        "sketch/images/n02/b.JPEG", "sketch/images/n02/c.JPEG", "a/imagenet-a/n01/a.jpg",
        "a/imagenet-a/n03/b.jpg", NULL};
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base || !*base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/clipgrid-fuzz-dataset-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(g_root)) {
        perror(g_root);
        abort();
    }
    atexit(remove_tree);
    for (int i = 0; files[i]; i++) put(files[i], "x", 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    make_tree();
    return 0;
}

static const struct {
    const char *dataset, *folder, *file;
} MODES[] = {
    {"caltech101", "caltech", "split_zhou_Caltech101.json"},
    {"stanford_cars", "cars", "split_zhou_StanfordCars.json"},
    {"fgvc_aircraft", "fgvc", NULL},
    {"imagenet", "imagenet", "classnames.txt"},
    {"imagenetv2", "v2", "classnames.txt"},
    {"imagenet_sketch", "sketch", "classnames.txt"},
    {"imagenet_a", "a", "classnames.txt"},
};
#define N_MODES ((int)(sizeof MODES / sizeof MODES[0]))

static void write_fgvc(const uint8_t *d, size_t n) {
    static const char *names[4] = {"fgvc/variants.txt", "fgvc/images_variant_train.txt",
                                   "fgvc/images_variant_val.txt", "fgvc/images_variant_test.txt"};
    for (int i = 0; i < 4; i++) {
        const uint8_t *a, *b;
        size_t na, nb;
        fuzz_split(d, n, "##\n", &a, &na, &b, &nb);
        put(names[i], a, na);
        d = b, n = nb;
    }
}

static void use(Dataset *ds, uint8_t k) {
    if (ds->n_classes < 1 || !ds->test.n) abort();
    for (int i = 0; i < ds->train.n; i++)
        if (ds->train.items[i].label < 0 || ds->train.items[i].label >= ds->n_classes) abort();
    if (dataset_fewshot(ds, k & 7, k >> 3) == 0) dataset_subsample(ds, (ClassSubset)((k >> 6) % 3));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int mode = data[0] % N_MODES;
    uint8_t k = data[1];
    char rel[128], dir[PATH_MAX + 16];
    if (MODES[mode].file) {
        snprintf(rel, sizeof rel, "%s/%s", MODES[mode].folder, MODES[mode].file);
        put(rel, data + 2, size - 2);
    } else {
        write_fgvc(data + 2, size - 2);
    }
    snprintf(dir, sizeof dir, "%s/%s", g_root, MODES[mode].folder);
    Dataset ds;
    if (dataset_load(&ds, MODES[mode].dataset, dir) == 0) {
        use(&ds, k);
        dataset_free(&ds);
    }
    return 0;
}
