/* core/data/dataset_imagenet.c — ImageNet and its four variants, read from folders and the
 * classnames.txt copied from ImageNet (CoOp's imagenet*.py):
 *   imagenet:        images/train/<wnid>/…, images/val/<wnid>/…; labels = sorted wnid folders;
 *                    val = test = the official validation images;
 *   imagenetv2:      <image_dir>/<i>/… has label i and the name of line i of classnames.txt;
 *   sketch / A / R:  <image_dir>/<wnid>/… with the sorted wnid folders as labels (A and R hold
 *                    200 of them), names looked up by wnid; test-only (train = test).
 * Images inside a class folder are taken in sorted order (Dassl uses os.listdir's order, which
 * depends on the file system; sorting makes the lists — and ImageNet's few-shot picks — the same
 * on every machine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset_internal.h"
#include "base/util.h"

/* every non-hidden entry of class_dir, in sorted order, with the label */
static int add_class_folder(DataSplit *s, int *cap, const char *class_dir, int label) {
    char **files;
    int n = ds_list_dir_sorted(class_dir, 0, &files);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) ds_split_push(s, cap, ds_path_join2(class_dir, files[i]), label);
    ds_free_names(files, n);
    return 0;
}

typedef struct {
    char **wnids, **names;
    int n;
    char *file;
} ClassFile;

static int class_file_read(ClassFile *cf, const char *dir) {
    cf->file = ds_path_join2(dir, "classnames.txt");
    cf->n = ds_read_wnid_classnames(cf->file, &cf->wnids, &cf->names);
    return cf->n < 0 ? -1 : 0;
}

static void class_file_free(ClassFile *cf) {
    if (cf->n > 0) {
        ds_free_names(cf->wnids, cf->n);
        ds_free_names(cf->names, cf->n);
    }
    free(cf->file);
}

/* sorted wnid folders of split_dir → labels; their names from classnames.txt */
static int read_wnid_split(const char *split_dir, const ClassFile *cf, DataSplit *out,
                           char ***folders_out) {
    char **folders;
    int n = ds_list_dir_sorted(split_dir, 1, &folders), cap = 0;
    if (n < 0) return -1;
    if (n == 0) {
        cg_error_set("%s holds no class folders", split_dir);
        free(folders);
        return -1;
    }
    for (int y = 0; y < n; y++) {
        if (ds_find_name(cf->wnids, cf->n, folders[y]) < 0) {
            cg_error_set("%s: folder %s of %s is not listed", cf->file, folders[y], split_dir);
            ds_free_names(folders, n);
            return -1;
        }
        char *class_dir = ds_path_join2(split_dir, folders[y]);
        int rc = add_class_folder(out, &cap, class_dir, y);
        free(class_dir);
        if (rc) {
            ds_free_names(folders, n);
            return -1;
        }
    }
    *folders_out = folders;
    return n;
}

static void set_classnames(Dataset *d, const ClassFile *cf, char **folders, int n) {
    d->n_classes = n;
    d->classnames = cg_malloc(sizeof(char *) * (size_t)n);
    for (int y = 0; y < n; y++)
        d->classnames[y] = ds_classname_final(cf->names[ds_find_name(cf->wnids, cf->n, folders[y])]);
}

int ds_read_imagenet(Dataset *d, const DatasetInfo *info) {
    ClassFile cf = {0};
    char *img = ds_path_join2(d->dir, info->image_dir), *train_dir = ds_path_join2(img, "train");
    char *val_dir = ds_path_join2(img, "val"), **tf = NULL, **vf = NULL;
    int rc = -1, nt = -1, nv = -1;
    if (class_file_read(&cf, d->dir)) goto done;
    if ((nt = read_wnid_split(train_dir, &cf, &d->train, &tf)) < 0) goto done;
    if ((nv = read_wnid_split(val_dir, &cf, &d->test, &vf)) < 0) goto done;
    for (int y = 0; y < nt || y < nv; y++)
        if (nt != nv || strcmp(tf[y], vf[y])) {
            cg_error_set("dataset imagenet: %s and %s do not hold the same class folders (%d and "
                         "%d folders; first difference at position %d)", train_dir, val_dir, nt, nv, y);
            goto done;
        }
    set_classnames(d, &cf, tf, nt);
    ds_split_copy(&d->val, &d->test); /* CoOp: val = test */
    rc = 0;
done:
    if (nt > 0) ds_free_names(tf, nt);
    if (nv > 0) ds_free_names(vf, nv);
    class_file_free(&cf);
    free(img);
    free(train_dir);
    free(val_dir);
    return rc;
}

/* ImageNetV2: folder i (0 … N−1, N = lines of classnames.txt, 1000 for the real file) */
static int read_v2(Dataset *d, const char *image_dir, const ClassFile *cf) {
    int cap = 0;
    for (int y = 0; y < cf->n; y++) {
        char sub[32];
        snprintf(sub, sizeof sub, "%d", y);
        char *class_dir = ds_path_join2(image_dir, sub);
        int rc = ds_dir_exists(class_dir) ? add_class_folder(&d->test, &cap, class_dir, y) : -1;
        if (rc && !ds_dir_exists(class_dir))
            cg_error_set("dataset imagenetv2: folder %s does not exist (expected folders 0..%d, "
                         "one per line of %s)", class_dir, cf->n - 1, cf->file);
        free(class_dir);
        if (rc) return -1;
    }
    d->n_classes = cf->n;
    d->classnames = cg_malloc(sizeof(char *) * (size_t)cf->n);
    for (int y = 0; y < cf->n; y++) d->classnames[y] = ds_classname_final(cf->names[y]);
    return 0;
}

int ds_read_imagenet_variant(Dataset *d, const DatasetInfo *info) {
    ClassFile cf = {0};
    char *image_dir = ds_path_join2(d->dir, info->image_dir), **folders = NULL;
    int rc = -1, n = -1;
    if (!ds_dir_exists(image_dir)) {
        cg_error_set("dataset %s: folder %s does not exist", d->name, image_dir);
        goto done;
    }
    if (class_file_read(&cf, d->dir)) goto done;
    if (info->layout == LAYOUT_IMAGENETV2) {
        if (read_v2(d, image_dir, &cf)) goto done;
    } else {
        if ((n = read_wnid_split(image_dir, &cf, &d->test, &folders)) < 0) goto done;
        set_classnames(d, &cf, folders, n);
    }
    ds_split_copy(&d->train, &d->test); /* CoOp: train_x = test = the data */
    rc = 0;
done:
    if (n > 0) ds_free_names(folders, n);
    class_file_free(&cf);
    free(image_dir);
    return rc;
}
