/* core/data/dataset_folder.c — users' own datasets of kind `folder` (core/data/dataset.h): a registry of
 * named folders with their prompt template, and the reader of the layout
 *   DIR/train/<class>/<image>, DIR/test/<class>/<image>, optional DIR/val/<class>/<image>,
 *   optional DIR/classnames.txt ("<folder> <class name…>" per line).
 * Classes are the train/ sub-folders in bytewise sorted order, labelled 0, 1, … in that order;
 * images within a class folder are listed in sorted order too, so labels and lists never depend
 * on the file system. val/ and test/ may only use train/'s class folders. Files whose names do
 * not end in an image extension (.jpg .jpeg .png .bmp .webp, any case) and hidden files are
 * skipped. Class names: classnames.txt, else the folder name with '_' → ' '. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/data/dataset_internal.h"
#include "base/util.h"

#define MAX_FOLDERS 64

typedef struct {
    DatasetInfo info;
    char name[32];
    char *dir, *tmpl;
} Folder;

static Folder g_folders[MAX_FOLDERS];
static int g_n;

static const Folder *find_(const char *name) {
    for (int i = 0; name && i < g_n; i++)
        if (!strcmp(g_folders[i].name, name)) return &g_folders[i];
    return NULL;
}

const DatasetInfo *ds_folder_info(const char *name) {
    const Folder *f = find_(name);
    return f ? &f->info : NULL;
}

const char *dataset_folder_template(const char *name) {
    const Folder *f = find_(name);
    return f ? f->tmpl : NULL;
}

int dataset_folder_register(const char *name, const char *dir, const char *tmpl) {
    if (!name || !*name || strlen(name) >= 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(name)) {
        cg_error_set("folder dataset name '%s' must be 1 to 31 letters, digits, '_', '-' or '.'",
                     name ? name : "");
        return -1;
    }
    if (dataset_info(name) && !find_(name)) {
        cg_error_set("folder dataset '%s': the name is one of the built-in datasets", name);
        return -1;
    }
    if (tmpl && !strstr(tmpl, "{}")) {
        cg_error_set("folder dataset '%s': template '%s' has no {} for the class name", name, tmpl);
        return -1;
    }
    Folder *f = (Folder *)find_(name);
    if (!f) {
        if (g_n == MAX_FOLDERS) return cg_error_set("more than %d folder datasets", MAX_FOLDERS), -1;
        f = &g_folders[g_n++];
    } else {
        free(f->dir), free(f->tmpl);
    }
    snprintf(f->name, sizeof f->name, "%s", name);
    f->dir = cg_strdup(dir);
    f->tmpl = cg_strdup(tmpl ? tmpl : "a photo of a {}.");
    f->info = (DatasetInfo){f->name, f->dir, f->name, LAYOUT_FOLDER, "", NULL};
    return 0;
}

static int is_image_(const char *name) {
    static const char *ext[] = {".jpg", ".jpeg", ".png", ".bmp", ".webp"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t k = strlen(ext[i]);
        if (n > k && !strcasecmp(name + n - k, ext[i])) return 1;
    }
    return 0;
}

/* classnames.txt: "<folder> <name…>" lines, or the folder names */
static int classnames_(Dataset *d, char **folders, int n) {
    char *file = ds_path_join2(d->dir, "classnames.txt");
    char **keys = NULL, **names = NULL;
    int m = ds_file_exists(file) ? ds_read_wnid_classnames(file, &keys, &names) : 0, rc = 0;
    d->classnames = cg_calloc((size_t)n + 1, sizeof(char *));
    for (int y = 0; y < n && !rc; y++) {
        int k = m > 0 ? ds_find_name(keys, m, folders[y]) : -1;
        if (m > 0 && k < 0) {
            cg_error_set("%s: no line for class folder '%s'", file, folders[y]);
            rc = -1;
        } else {
            d->classnames[y] = ds_classname_final(k >= 0 ? names[k] : folders[y]);
        }
    }
    if (m < 0) rc = -1;
    if (m > 0) ds_free_names(keys, m), ds_free_names(names, m);
    free(file);
    return rc;
}

/* DIR/<part>/<class>/<image>: every class folder must be one of train's */
static int read_part_(Dataset *d, const char *part, char **classes, int n, DataSplit *out) {
    char *root = ds_path_join2(d->dir, part);
    char **sub = NULL;
    int cap = 0, ns = ds_list_dir_sorted(root, 1, &sub), rc = ns < 0 ? -1 : 0;
    for (int i = 0; i < ns && !rc; i++) {
        int y = ds_find_name(classes, n, sub[i]);
        if (y < 0) {
            cg_error_set("%s/%s: class folder not in %s/train (classes come from train/)", root,
                         sub[i], d->dir);
            rc = -1;
            break;
        }
        char *cdir = ds_path_join2(root, sub[i]), **files = NULL;
        int nf = ds_list_dir_sorted(cdir, 0, &files);
        if (nf < 0) rc = -1;
        for (int j = 0; j < nf; j++)
            if (is_image_(files[j])) ds_split_push(out, &cap, ds_path_join2(cdir, files[j]), y);
        if (nf > 0) ds_free_names(files, nf);
        free(cdir);
    }
    if (ns > 0) ds_free_names(sub, ns);
    free(root);
    return rc;
}

int ds_read_folder(Dataset *d, const DatasetInfo *info) {
    (void)info;
    char *train = ds_path_join2(d->dir, "train"), *val = ds_path_join2(d->dir, "val");
    char **classes = NULL;
    int n = ds_list_dir_sorted(train, 1, &classes), rc = -1;
    if (n == 0) cg_error_set("%s: no class folders (expected train/<class>/<image>)", train);
    if (n > 0) {
        d->n_classes = n;
        rc = classnames_(d, classes, n);
        if (!rc) rc = read_part_(d, "train", classes, n, &d->train);
        if (!rc) rc = read_part_(d, "test", classes, n, &d->test);
        if (!rc && ds_dir_exists(val)) rc = read_part_(d, "val", classes, n, &d->val);
        if (!rc && d->train.n == 0) {
            cg_error_set("%s: no images (.jpg .jpeg .png .bmp .webp) in the class folders", train);
            rc = -1;
        }
    }
    if (n > 0) ds_free_names(classes, n);
    free(train), free(val);
    return rc;
}
