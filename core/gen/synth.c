/* core/gen/synth.c — writing a synthetic dataset in the on-disk layout of one of the 15 real ones:
 * split_zhou JSON layouts (class folders under the dataset's image folder, class names with "_"
 * as CoOp's files have them), FGVC-Aircraft's text files, ImageNet's train/val wnid folders with
 * classnames.txt, and the four ImageNet variants (same classnames.txt). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/data/dataset_internal.h"
#include "core/gen/synth.h"
#include "base/util.h"

SynthSpec synth_defaults(void) {
    return (SynthSpec){.classes = 4, .train = 8, .val = 2, .test = 4, .seed = 0,
                       .min_side = 48, .max_side = 160, .quality = 90};
}

static int mkdir_p(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST) {
                cg_error_set("cannot create folder %s: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

typedef struct {
    const SynthSpec *spec;
    const char *layout;
    int counter; /* images written so far: picks the odd formats */
} Writer;

/* draw and write one image; the file format follows the writer's counter */
static int write_image(Writer *w, const char *style, const char *stream, int c, int index,
                       const char *path) {
    char *dir = cg_dirname(path);
    int rc = mkdir_p(dir);
    free(dir);
    if (rc) return -1;
    ImageRGB im;
    synth_draw(w->spec, style, stream, c, index, &im);
    int g = w->counter++, q = w->spec->quality;
    if (g == 1) rc = image_write_jpeg_cmyk(path, &im, q);
    else if (g == 2) rc = image_write_png(path, &im); /* a PNG under a JPEG name */
    else if (g % 7 == 3) rc = image_write_jpeg_gray(path, &im, q);
    else rc = image_write_jpeg(path, &im, q);
    image_free(&im);
    return rc;
}

static void folder_name(int c, char *buf, size_t n) {
    synth_classname(c, buf, n);
    for (char *p = buf; *p; p++)
        if (*p == ' ') *p = '_';
}

static void wnid(int c, char *buf, size_t n) { snprintf(buf, n, "n%08d", 10000000 + c); }

static const char *const SPLITS[3] = {"train", "val", "test"};

static int split_count(const SynthSpec *s, int k) { return k == 0 ? s->train : k == 1 ? s->val : s->test; }

static int write_split_json(Writer *w, const char *dir, const DatasetInfo *info) {
    char *image_dir = ds_path_join2(dir, info->image_dir);
    json_t *root = json_object();
    int rc = -1;
    for (int k = 0; k < 3; k++) {
        json_t *list = json_array();
        json_object_set_new(root, SPLITS[k], list);
        for (int c = 0; c < w->spec->classes; c++)
            for (int i = 0; i < split_count(w->spec, k); i++) {
                char folder[64], rel[160], stream[64];
                folder_name(c, folder, sizeof folder);
                snprintf(rel, sizeof rel, "%s/%s_%s_%04d.jpg", folder, folder, SPLITS[k], i);
                snprintf(stream, sizeof stream, "%s/%s", w->layout, SPLITS[k]);
                char *path = ds_path_join2(image_dir, rel);
                int bad = write_image(w, "photo", stream, c, i, path);
                free(path);
                if (bad) goto done;
                json_array_append_new(list, json_pack("[s, i, s]", rel, c, folder));
            }
    }
    char *file = ds_path_join2(dir, info->split_file);
    if (json_dump_file(root, file, JSON_INDENT(4)) != 0) cg_error_set("cannot write %s", file);
    else rc = 0;
    free(file);
done:
    json_decref(root);
    free(image_dir);
    return rc;
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        cg_error_set("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* append to a growing text buffer */
static void cat(char **buf, size_t *len, const char *s) {
    size_t n = strlen(s);
    *buf = cg_realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static int write_fgvc(Writer *w, const char *dir) {
    char *variants = NULL, *lists[3] = {NULL, NULL, NULL};
    size_t vlen = 0, llen[3] = {0, 0, 0};
    int rc = -1, id = 1000000;
    for (int c = 0; c < w->spec->classes; c++) {
        char name[64], line[128];
        synth_classname(c, name, sizeof name);
        snprintf(line, sizeof line, "%s\n", name);
        cat(&variants, &vlen, line);
    }
    for (int k = 0; k < 3; k++)
        for (int c = 0; c < w->spec->classes; c++)
            for (int i = 0; i < split_count(w->spec, k); i++) {
                char name[64], line[128], rel[64], stream[64];
                synth_classname(c, name, sizeof name);
                snprintf(line, sizeof line, "%07d %s\n", id, name);
                snprintf(rel, sizeof rel, "images/%07d.jpg", id++);
                snprintf(stream, sizeof stream, "fgvc_aircraft/%s", SPLITS[k]);
                cat(&lists[k], &llen[k], line);
                char *path = ds_path_join2(dir, rel);
                int bad = write_image(w, "photo", stream, c, i, path);
                free(path);
                if (bad) goto done;
            }
    char *p = ds_path_join2(dir, "variants.txt");
    rc = write_text(p, variants);
    free(p);
    for (int k = 0; k < 3 && !rc; k++) {
        char file[64];
        snprintf(file, sizeof file, "images_variant_%s.txt", SPLITS[k]);
        p = ds_path_join2(dir, file);
        rc = write_text(p, lists[k] ? lists[k] : "");
        free(p);
    }
done:
    free(variants);
    for (int k = 0; k < 3; k++) free(lists[k]);
    return rc;
}

static int write_classnames_txt(const SynthSpec *s, const char *dir) {
    char *text = NULL;
    size_t len = 0;
    for (int c = 0; c < s->classes; c++) {
        char id[16], name[64], line[96];
        wnid(c, id, sizeof id);
        synth_classname(c, name, sizeof name);
        snprintf(line, sizeof line, "%s %s\n", id, name);
        cat(&text, &len, line);
    }
    char *p = ds_path_join2(dir, "classnames.txt");
    int rc = write_text(p, text);
    free(p);
    free(text);
    return rc;
}

static int write_imagenet(Writer *w, const char *dir) {
    if (write_classnames_txt(w->spec, dir)) return -1;
    int g = 0;
    for (int k = 0; k < 3; k += 2) /* train and val (the test set) */
        for (int c = 0; c < w->spec->classes; c++)
            for (int i = 0; i < split_count(w->spec, k); i++) {
                char id[16], rel[128], stream[64];
                wnid(c, id, sizeof id);
                if (k == 0) snprintf(rel, sizeof rel, "images/train/%s/%s_%d.JPEG", id, id, i);
                else snprintf(rel, sizeof rel, "images/val/%s/ILSVRC2012_val_%08d.JPEG", id, ++g);
                snprintf(stream, sizeof stream, "imagenet/%s", SPLITS[k]);
                char *path = ds_path_join2(dir, rel);
                int bad = write_image(w, "photo", stream, c, i, path);
                free(path);
                if (bad) return -1;
            }
    return 0;
}

/* the variants: test images only; A and R keep the even classes */
static int write_variant(Writer *w, const char *dir, const DatasetInfo *info) {
    if (write_classnames_txt(w->spec, dir)) return -1;
    const char *style = !strcmp(info->name, "imagenet_sketch") ? "sketch"
                        : !strcmp(info->name, "imagenet_a")    ? "adversarial"
                        : !strcmp(info->name, "imagenet_r")    ? "rendition" : "photo";
    int subset = !strcmp(info->name, "imagenet_a") || !strcmp(info->name, "imagenet_r");
    char *image_dir = ds_path_join2(dir, info->image_dir);
    int rc = mkdir_p(image_dir);
    for (int c = 0; c < w->spec->classes && !rc; c++) {
        if (subset && c % 2) continue;
        for (int i = 0; i < w->spec->test && !rc; i++) {
            char id[16], rel[128];
            wnid(c, id, sizeof id);
            if (info->layout == LAYOUT_IMAGENETV2) snprintf(rel, sizeof rel, "%d/%08x.jpeg", c, 977 * c + i);
            else snprintf(rel, sizeof rel, "%s/%s_%d.JPEG", id, style, i);
            char *path = ds_path_join2(image_dir, rel);
            rc = write_image(w, style, info->name, c, i, path);
            free(path);
        }
    }
    if (!rc && subset) {
        char *p = ds_path_join2(image_dir, "README.txt");
        rc = write_text(p, "synthetic stand-in for the 200-class subset\n");
        free(p);
    }
    free(image_dir);
    return rc;
}

int synth_write(const char *root, const char *layout, const SynthSpec *s, char **dir_out) {
    const DatasetInfo *info = dataset_info(layout);
    if (!info) {
        cg_error_set("synth: unknown layout '%s' (use a dataset name such as oxford_pets)", layout);
        return -1;
    }
    if (s->classes < 1 || s->classes > SYNTH_MAX_CLASSES || s->train < 1 || s->val < 1 ||
        s->test < 1 || s->min_side < 8 || s->max_side < s->min_side || s->max_side > 4096) {
        cg_error_set("synth: need 1..%d classes, at least one image per class in each list and "
                     "8 <= min side <= max side <= 4096", SYNTH_MAX_CLASSES);
        return -1;
    }
    char *dir = ds_path_join2(root, info->dirname);
    Writer w = {s, layout, 0};
    int rc = mkdir_p(dir);
    if (!rc) switch (info->layout) {
        case LAYOUT_SPLIT_JSON: rc = write_split_json(&w, dir, info); break;
        case LAYOUT_FGVC: rc = write_fgvc(&w, dir); break;
        case LAYOUT_IMAGENET: rc = write_imagenet(&w, dir); break;
        default: rc = write_variant(&w, dir, info); break;
        }
    if (dir_out && !rc) *dir_out = dir;
    else free(dir);
    return rc;
}
