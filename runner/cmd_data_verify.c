/* runner/cmd_data_verify.c — `clipgrid data verify DIR --dataset NAME`: read the dataset as a
 * run would, decode every listed image (train, val, test; in parallel) and compare the split
 * sizes with the published ones (protocol.md §7.1, the CoOp paper's table), so that a corrupt or
 * truncated JPEG is found before hours of training, not after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset.h"
#include "core/data/image.h"
#include "base/util.h"
#include "runner/cli.h"

#define MAX_SHOWN 20

/* train / val / test of protocol.md §7.1 (−1: not given there) */
static const struct {
    const char *name;
    int train, val, test;
} PUBLISHED[] = {
    {"imagenet", 1281167, -1, 50000},   {"caltech101", 4128, 1649, 2465},
    {"oxford_pets", 2944, 736, 3669},   {"stanford_cars", 6509, 1635, 8041},
    {"oxford_flowers", 4093, 1633, 2463}, {"food101", 50500, 20200, 30300},
    {"fgvc_aircraft", 3334, 3333, 3333}, {"sun397", 15880, 3970, 19850},
    {"dtd", 2820, 1128, 1692},          {"eurosat", 13500, 5400, 8100},
    {"ucf101", 7639, 1898, 3783},       {"imagenetv2", -1, -1, 10000},
    {"imagenet_sketch", -1, -1, 50889}, {"imagenet_a", -1, -1, 7500},
    {"imagenet_r", -1, -1, 30000},      {NULL, 0, 0, 0},
};

/* decode every item of a split; prints the first failures; returns the failures */
static int decode_split_(const char *which, const DataSplit *sp, int *shown) {
    char (*why)[320] = cg_calloc((size_t)sp->n + 1, sizeof *why);
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : bad)
    for (int i = 0; i < sp->n; i++) {
        ImageRGB im;
        if (image_decode_file(sp->items[i].path, &im)) {
            snprintf(why[i], sizeof why[i], "%s", cg_error());
            bad++;
        } else image_free(&im);
    }
    for (int i = 0; i < sp->n; i++)
        if (why[i][0] && (*shown)++ < MAX_SHOWN)
            printf("corrupt %s item %d: %s\n", which, i, why[i]);
    free(why);
    return bad;
}

static int size_line_(const char *which, int n, int published) {
    if (published < 0) {
        printf("%-5s %8d images (no published size)\n", which, n);
        return 0;
    }
    int ok = n == published;
    printf("%-5s %8d images, published %d: %s\n", which, n, published, ok ? "ok" : "DIFFERENT");
    return !ok;
}

int cmd_data_verify(const char *dir, const char *name) {
    Dataset d;
    if (dataset_load(&d, name, dir)) {
        fprintf(stderr, "clipgrid data verify: %s\n", cg_error());
        return 1;
    }
    printf("dataset %s in %s: %d classes\n", name, d.dir, d.n_classes);
    int k = 0;
    while (PUBLISHED[k].name && strcmp(PUBLISHED[k].name, name)) k++;
    int diff = 0;
    if (PUBLISHED[k].name) {
        diff += size_line_("train", d.train.n, PUBLISHED[k].train);
        diff += size_line_("val", d.val.n, PUBLISHED[k].val);
        diff += size_line_("test", d.test.n, PUBLISHED[k].test);
    }
    int shown = 0, bad = decode_split_("train", &d.train, &shown);
    bad += decode_split_("val", &d.val, &shown);
    bad += decode_split_("test", &d.test, &shown);
    if (shown > MAX_SHOWN) printf("… %d more corrupt images\n", shown - MAX_SHOWN);
    long total = (long)d.train.n + d.val.n + d.test.n;
    printf("decoded %ld images: %d corrupt; split sizes %s\n", total, bad,
           diff ? "DIFFER from the published ones" : "as published");
    dataset_free(&d);
    return bad || diff ? 1 : 0;
}
