/* tests/test_dataset.c — the dataset readers on small hand-made layouts written to a temporary
 * folder: split_zhou JSON (OxfordPets with images/, StanfordCars relative to the folder itself),
 * FGVC-Aircraft's text files, ImageNet's folders + classnames.txt (val = test), ImageNetV2's
 * numbered folders, ImageNet-A's wnid subset with README.txt; absolute paths, "_" → " ", the
 * name table; and every bad input: missing split file, non-JSON, wrong item shape, missing
 * image, label out of range, negative label, label gap, conflicting class names, paths leaving
 * the folder, unknown variant, unlisted wnid, train/val folder mismatch, missing V2 folder,
 * unknown dataset, missing folder. Each error must name the file. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/dataset.h"
#include "base/util.h"
#include "tests/testlib.h"

static char root[256];

static void mkdirs(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

/* write text to root/relpath (folders created) */
static void put(const char *rel, const char *fmt, ...) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char *slash = strrchr(path, '/');
    *slash = 0;
    mkdirs(path);
    *slash = '/';
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static char *at(const char *rel) {
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
    return buf[k];
}

/* load must fail with a message containing each of the given fragments */
static void expect_error(const char *what, const char *name, const char *dir, const char *frag1,
                         const char *frag2) {
    Dataset d;
    int rc = dataset_load(&d, name, dir);
    CHECK(rc == -1, "%s: accepted", what);
    if (rc == 0) {
        dataset_free(&d);
        return;
    }
    const char *e = cg_error();
    CHECK(frag1 == NULL || strstr(e, frag1), "%s: message lacks \"%s\": %s", what, frag1, e);
    CHECK(frag2 == NULL || strstr(e, frag2), "%s: message lacks \"%s\": %s", what, frag2, e);
    printf("  %-28s -> %s\n", what, e);
}

static const char *PETS_JSON =
    "{\"train\": [[\"abyssinian_1.jpg\", 0, \"abyssinian\"], [\"american_bulldog_2.jpg\", 1, "
    "\"american_bulldog\"], [\"abyssinian_3.jpg\", 0, \"abyssinian\"]],\n"
    " \"val\": [[\"american_bulldog_4.jpg\", 1, \"american_bulldog\"]],\n"
    " \"test\": [[\"abyssinian_5.jpg\", 0, \"abyssinian\"], [\"american_bulldog_6.jpg\", 1, "
    "\"american_bulldog\"]]}";

static void make_pets(const char *dir, const char *json) {
    char rel[256];
    const char *imgs[] = {"abyssinian_1", "american_bulldog_2", "abyssinian_3",
                          "american_bulldog_4", "abyssinian_5", "american_bulldog_6"};
    for (int i = 0; i < 6; i++) {
        snprintf(rel, sizeof rel, "%s/images/%s.jpg", dir, imgs[i]);
        put(rel, "x");
    }
    snprintf(rel, sizeof rel, "%s/split_zhou_OxfordPets.json", dir);
    put(rel, "%s", json);
}

static void test_pets(void) {
    make_pets("oxford_pets", PETS_JSON);
    Dataset d;
    int rc = dataset_load(&d, "oxford_pets", at("oxford_pets"));
    CHECK(rc == 0, "oxford_pets: %s", cg_error());
    if (rc) return;
    CHECK(d.train.n == 3 && d.val.n == 1 && d.test.n == 2, "pets sizes %d %d %d", d.train.n,
          d.val.n, d.test.n);
    CHECK(d.n_classes == 2, "pets classes %d", d.n_classes);
    CHECK(!strcmp(d.classnames[1], "american bulldog"), "pets name '%s'", d.classnames[1]);
    CHECK(!strcmp(d.train.items[1].path, at("oxford_pets/images/american_bulldog_2.jpg")),
          "pets path %s", d.train.items[1].path);
    CHECK(d.train.items[1].label == 1 && d.test.items[0].label == 0, "pets labels");
    dataset_free(&d);

    /* a relative folder is made absolute */
    char cwd[1024];
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    CHECK(chdir(root) == 0, "chdir");
    rc = dataset_load(&d, "oxford_pets", "oxford_pets");
    CHECK(rc == 0 && d.test.items[0].path[0] == '/', "relative folder: %s",
          rc ? cg_error() : d.test.items[0].path);
    if (!rc) dataset_free(&d);
    CHECK(chdir(cwd) == 0, "chdir back");
}

static void test_cars(void) {
    put("stanford_cars/cars_train/00001.jpg", "x");
    put("stanford_cars/cars_test/00002.jpg", "x");
    put("stanford_cars/split_zhou_StanfordCars.json",
        "{\"train\": [[\"cars_train/00001.jpg\", 0, \"2012 Tesla Model S\"]], \"val\": [], "
        "\"test\": [[\"cars_test/00002.jpg\", 0, \"2012 Tesla Model S\"]]}");
    Dataset d;
    int rc = dataset_load(&d, "stanford_cars", at("stanford_cars"));
    CHECK(rc == 0, "stanford_cars: %s", cg_error());
    if (rc) return;
    CHECK(!strcmp(d.test.items[0].path, at("stanford_cars/cars_test/00002.jpg")), "cars path %s",
          d.test.items[0].path);
    CHECK(d.val.n == 0 && !strcmp(d.classnames[0], "2012 Tesla Model S"), "cars val/name");
    dataset_free(&d);
}

static void test_fgvc(void) {
    put("fgvc_aircraft/variants.txt", "707-320\nA300B4\nF/A-18\n");
    put("fgvc_aircraft/images_variant_train.txt", "0001 707-320\n0002 F/A-18\n0003 A300B4\n");
    put("fgvc_aircraft/images_variant_val.txt", "0004 A300B4\n");
    put("fgvc_aircraft/images_variant_test.txt", "0005 F/A-18\r\n0006 707-320");
    for (int i = 1; i <= 6; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "fgvc_aircraft/images/%04d.jpg", i);
        put(rel, "x");
    }
    Dataset d;
    int rc = dataset_load(&d, "fgvc_aircraft", at("fgvc_aircraft"));
    CHECK(rc == 0, "fgvc: %s", cg_error());
    if (rc) return;
    CHECK(d.n_classes == 3 && d.train.n == 3 && d.val.n == 1 && d.test.n == 2, "fgvc sizes");
    CHECK(d.train.items[1].label == 2 && d.test.items[0].label == 2 && d.test.items[1].label == 0,
          "fgvc labels");
    CHECK(!strcmp(d.classnames[2], "F/A-18"), "fgvc name %s", d.classnames[2]);
    CHECK(!strcmp(d.test.items[1].path, at("fgvc_aircraft/images/0006.jpg")), "fgvc path");
    dataset_free(&d);
    put("fgvc_aircraft/images_variant_val.txt", "0004 A380\n");
    expect_error("fgvc unknown variant", "fgvc_aircraft", at("fgvc_aircraft"),
                 "images_variant_val.txt", "A380");
}

static void test_imagenet(void) {
    put("imagenet/classnames.txt",
        "n01440764 tench\nn01443537 goldfish\r\nn01484850 great white shark\n\n");
    const char *wnids[] = {"n01484850", "n01440764", "n01443537"};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++) {
            char rel[128];
            snprintf(rel, sizeof rel, "imagenet/images/train/%s/%s_%d.JPEG", wnids[i], wnids[i], 2 - k);
            put(rel, "x");
            snprintf(rel, sizeof rel, "imagenet/images/val/%s/ILSVRC2012_val_%d.JPEG", wnids[i], i * 2 + k);
            put(rel, "x");
        }
    put("imagenet/images/train/n01440764/.hidden", "x");
    Dataset d;
    int rc = dataset_load(&d, "imagenet", at("imagenet"));
    CHECK(rc == 0, "imagenet: %s", cg_error());
    if (rc) return;
    CHECK(d.n_classes == 3 && d.train.n == 6 && d.test.n == 6 && d.val.n == 6, "imagenet sizes %d %d",
          d.train.n, d.test.n);
    CHECK(!strcmp(d.classnames[0], "tench") && !strcmp(d.classnames[2], "great white shark"),
          "imagenet names");
    CHECK(!strcmp(d.train.items[0].path, at("imagenet/images/train/n01440764/n01440764_1.JPEG")) &&
              d.train.items[5].label == 2, "imagenet order %s", d.train.items[0].path);
    CHECK(!strcmp(d.val.items[3].path, d.test.items[3].path), "imagenet val = test");
    dataset_free(&d);
    put("imagenet/images/val/n99999999/x.JPEG", "x");
    expect_error("imagenet unlisted wnid", "imagenet", at("imagenet"), "classnames.txt", "n99999999");
    put("imagenet/classnames.txt", "n01440764 tench\nn01443537 goldfish\nn01484850 great white "
                                   "shark\nn99999999 ghost\n");
    expect_error("imagenet train/val differ", "imagenet", at("imagenet"), "images/train", "images/val");
}

static void test_variants(void) {
    put("imagenetv2/classnames.txt", "n01440764 tench\nn01443537 goldfish\n");
    put("imagenetv2/imagenetv2-matched-frequency-format-val/0/a.jpeg", "x");
    put("imagenetv2/imagenetv2-matched-frequency-format-val/1/b.jpeg", "x");
    put("imagenetv2/imagenetv2-matched-frequency-format-val/1/c.jpeg", "x");
    Dataset d;
    int rc = dataset_load(&d, "imagenetv2", at("imagenetv2"));
    CHECK(rc == 0, "imagenetv2: %s", cg_error());
    if (!rc) {
        CHECK(d.n_classes == 2 && d.test.n == 3 && d.test.items[2].label == 1 && d.train.n == 3,
              "imagenetv2 content");
        CHECK(!strcmp(d.classnames[1], "goldfish"), "imagenetv2 names");
        CHECK(dataset_fewshot(&d, 1, 1) == 0 && d.train.n == 3, "variants are not sampled");
        dataset_free(&d);
    }
    put("imagenetv2/classnames.txt", "n01440764 tench\nn01443537 goldfish\nn01484850 shark\n");
    expect_error("imagenetv2 missing folder", "imagenetv2", at("imagenetv2"), "format-val/2",
                 "classnames.txt");

    put("imagenet-adversarial/classnames.txt",
        "n01440764 tench\nn01443537 goldfish\nn01484850 great white shark\n");
    put("imagenet-adversarial/imagenet-a/README.txt", "readme");
    put("imagenet-adversarial/imagenet-a/n01484850/0.jpg", "x");
    put("imagenet-adversarial/imagenet-a/n01443537/1.jpg", "x");
    rc = dataset_load(&d, "imagenet_a", at("imagenet-adversarial"));
    CHECK(rc == 0, "imagenet_a: %s", cg_error());
    if (!rc) {
        CHECK(d.n_classes == 2 && !strcmp(d.classnames[0], "goldfish") &&
                  !strcmp(d.classnames[1], "great white shark") && d.test.items[1].label == 1,
              "imagenet_a subset");
        dataset_free(&d);
    }
    put("imagenet-sketch/classnames.txt", "n01440764 tench\n");
    put("imagenet-sketch/images/n01440764/sketch_1.JPEG", "x");
    rc = dataset_load(&d, "imagenet_sketch", at("imagenet-sketch"));
    CHECK(rc == 0 && d.test.n == 1, "imagenet_sketch: %s", cg_error());
    if (!rc) dataset_free(&d);
}

static void test_bad_json(void) {
    char json[2048];
    expect_error("missing split file", "dtd", at("oxford_pets"), "split_zhou_DescribableTextures.json",
                 NULL);
    make_pets("bad_nojson", "{\"train\": [[\"abyssinian_1.jpg\", 0, \"abyssinian\"]], oops");
    expect_error("not JSON", "oxford_pets", at("bad_nojson"), "split_zhou_OxfordPets.json", "JSON");
    make_pets("bad_shape", "{\"train\": [[\"abyssinian_1.jpg\", 0]], \"val\": [], \"test\": []}");
    expect_error("item shape", "oxford_pets", at("bad_shape"), "split_zhou_OxfordPets.json", "train item 0");
    make_pets("bad_key", "{\"train\": [], \"test\": []}");
    expect_error("missing list", "oxford_pets", at("bad_key"), "split_zhou_OxfordPets.json", "\"val\"");
    make_pets("bad_missing", "{\"train\": [[\"abyssinian_1.jpg\", 0, \"a\"]], \"val\": [], "
                             "\"test\": [[\"nothere.jpg\", 0, \"a\"]]}");
    expect_error("missing image", "oxford_pets", at("bad_missing"), "nothere.jpg",
                 "split_zhou_OxfordPets.json");
    make_pets("bad_range", "{\"train\": [[\"abyssinian_1.jpg\", 0, \"a\"]], \"val\": [], "
                           "\"test\": [[\"abyssinian_3.jpg\", 5, \"b\"]]}");
    expect_error("label out of range", "oxford_pets", at("bad_range"), "split_zhou_OxfordPets.json",
                 "label 5 out of range");
    make_pets("bad_neg", "{\"train\": [[\"abyssinian_1.jpg\", -1, \"a\"]], \"val\": [], \"test\": []}");
    expect_error("negative label", "oxford_pets", at("bad_neg"), "split_zhou_OxfordPets.json", "-1");
    make_pets("bad_gap", "{\"train\": [[\"abyssinian_1.jpg\", 2, \"a\"]], \"val\": [], "
                         "\"test\": [[\"abyssinian_3.jpg\", 2, \"a\"]]}");
    expect_error("label gap", "oxford_pets", at("bad_gap"), "split_zhou_OxfordPets.json", "label 0");
    make_pets("bad_names", "{\"train\": [[\"abyssinian_1.jpg\", 0, \"a\"], [\"abyssinian_3.jpg\", "
                           "0, \"b\"]], \"val\": [], \"test\": []}");
    expect_error("conflicting names", "oxford_pets", at("bad_names"), "split_zhou_OxfordPets.json",
                 "\"b\"");
    snprintf(json, sizeof json, "{\"train\": [[\"../../etc/passwd\", 0, \"a\"]], \"val\": [], \"test\": []}");
    make_pets("bad_dotdot", json);
    expect_error("path with ..", "oxford_pets", at("bad_dotdot"), "split_zhou_OxfordPets.json",
                 "leaves the dataset folder");
    snprintf(json, sizeof json, "{\"train\": [[\"%s\", 0, \"a\"]], \"val\": [], \"test\": []}",
             at("oxford_pets/images/abyssinian_1.jpg"));
    make_pets("bad_abs", json);
    expect_error("absolute path", "oxford_pets", at("bad_abs"), "split_zhou_OxfordPets.json", "absolute");
    make_pets("bad_empty", "{\"train\": [[\"abyssinian_1.jpg\", 0, \"a\"]], \"val\": [], \"test\": []}");
    expect_error("empty test list", "oxford_pets", at("bad_empty"), "test list is empty", NULL);
    expect_error("unknown dataset", "cifar10", at("oxford_pets"), "cifar10", NULL);
    expect_error("missing folder", "oxford_pets", at("nowhere"), "nowhere", NULL);
}

static void test_names(void) {
    int n = 0;
    for (const char *const *p = DATASET_NAMES; *p; p++, n++) CHECK(dataset_known(*p), "%s", *p);
    CHECK(n == 15, "%d names", n);
    CHECK(!strcmp(dataset_dirname("caltech101"), "caltech-101") &&
              !strcmp(dataset_dirname("imagenet_a"), "imagenet-adversarial") &&
              !strcmp(dataset_dassl_name("dtd"), "DescribableTextures") &&
              !dataset_known("imagenet-a"), "name table");
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/cg_test_dataset.XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_names();
    test_pets();
    test_cars();
    test_fgvc();
    test_imagenet();
    test_variants();
    test_bad_json();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return test_finish("test_dataset");
}
