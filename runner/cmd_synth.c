/* runner/cmd_synth.c — `clipgrid synth`: write synthetic datasets (core/gen/synth.h) in the on-disk
 * layouts of the real ones, for tests and the demo. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset.h"
#include "core/gen/synth.h"
#include "base/util.h"
#include "runner/cli.h"

static void synth_usage(FILE *f) {
    SynthSpec d = synth_defaults();
    fprintf(f,
            "usage: clipgrid synth DATA_ROOT [--layout NAME[,NAME…]] [--classes N] [--per-class K]\n"
            "                      [--val V] [--test T] [--seed S] [--min-side P] [--max-side P]\n\n"
            "Writes synthetic datasets of generated images (class = colour × shape × texture, e.g.\n"
            "\"red circle\") as real JPEG/PNG files with the split files of a real dataset's\n"
            "layout, into DATA_ROOT/<that dataset's folder> (e.g. DATA_ROOT/oxford_pets holding\n"
            "images/ and split_zhou_OxfordPets.json). Deterministic from the seed. Some images\n"
            "are grayscale, one is a CMYK JPEG and one a PNG under a .jpg name.\n\n"
            "  --layout NAMES   dataset layouts, comma-separated (default oxford_pets): any of\n"
            "                   imagenet caltech101 oxford_pets stanford_cars oxford_flowers\n"
            "                   food101 fgvc_aircraft sun397 dtd eurosat ucf101 imagenetv2\n"
            "                   imagenet_sketch imagenet_a imagenet_r, or 'all'\n"
            "  --classes N      classes, 1..%d (default %d); ImageNet-A/R keep the even ones\n"
            "  --per-class K    training images per class (default %d); --train is the same\n"
            "  --val V          validation images per class (default %d)\n"
            "  --test T         test images per class (default %d)\n"
            "  --seed S         seed, unsigned 64-bit (default %llu)\n"
            "  --min-side P, --max-side P   image width/height range (default %d..%d)\n",
            SYNTH_MAX_CLASSES, d.classes, d.train, d.val, d.test, (unsigned long long)d.seed,
            d.min_side, d.max_side);
}

static int parse_count(const char *opt, const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "clipgrid synth: %s expects an integer in %d..%d, got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int write_layouts(const char *root, const char *layouts, const SynthSpec *s) {
    char *copy = cg_strdup(layouts), *save = NULL;
    int rc = 0;
    for (char *name = strtok_r(copy, ",", &save); name && !rc; name = strtok_r(NULL, ",", &save)) {
        if (!strcmp(name, "all")) {
            for (const char *const *p = DATASET_NAMES; *p && !rc; p++) rc = write_layouts(root, *p, s);
            continue;
        }
        char *dir = NULL;
        if (synth_write(root, name, s, &dir)) {
            fprintf(stderr, "clipgrid synth: %s\n", cg_error());
            rc = 1;
            break;
        }
        printf("%s: %s (%d classes)\n", name, dir, s->classes);
        free(dir);
    }
    free(copy);
    return rc;
}

int cmd_synth(int argc, char **argv) {
    SynthSpec s = synth_defaults();
    const char *root = NULL, *layouts = "oxford_pets";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            synth_usage(stdout);
            return 0;
        }
        if (a[0] != '-') {
            if (root) {
                fprintf(stderr, "clipgrid synth: more than one DATA_ROOT ('%s', '%s')\n", root, a);
                return 2;
            }
            root = a;
            continue;
        }
        if (!v) {
            fprintf(stderr, "clipgrid synth: %s needs a value\n", a);
            return 2;
        }
        i++;
        int bad = 0;
        if (!strcmp(a, "--layout")) layouts = v;
        else if (!strcmp(a, "--classes")) bad = parse_count(a, v, 1, SYNTH_MAX_CLASSES, &s.classes);
        else if (!strcmp(a, "--per-class") || !strcmp(a, "--train"))
            bad = parse_count(a, v, 1, 100000, &s.train);
        else if (!strcmp(a, "--val")) bad = parse_count(a, v, 1, 100000, &s.val);
        else if (!strcmp(a, "--test")) bad = parse_count(a, v, 1, 100000, &s.test);
        else if (!strcmp(a, "--min-side")) bad = parse_count(a, v, 8, 4096, &s.min_side);
        else if (!strcmp(a, "--max-side")) bad = parse_count(a, v, 8, 4096, &s.max_side);
        else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            s.seed = strtoull(v, &end, 10);
            bad = errno || end == v || *end || v[0] == '-';
            if (bad) fprintf(stderr, "clipgrid synth: --seed expects an unsigned integer, got '%s'\n", v);
        } else {
            fprintf(stderr, "clipgrid synth: unknown option %s (see --help)\n", a);
            return 2;
        }
        if (bad) return 2;
    }
    if (!root) {
        synth_usage(stderr);
        return 2;
    }
    if (s.max_side < s.min_side) {
        fprintf(stderr, "clipgrid synth: --max-side %d < --min-side %d\n", s.max_side, s.min_side);
        return 2;
    }
    return write_layouts(root, layouts, &s);
}
