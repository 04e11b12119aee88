/* core/data/dataset_fgvc.c — FGVC-Aircraft as CoOp reads it (no split JSON): variants.txt gives the
 * class names (label = line index), images_variant_{train,val,test}.txt give "<id> <variant>"
 * lines; the image is images/<id>.jpg. */
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset_internal.h"
#include "base/util.h"

static char *strip_ws(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\v' ||
                 s[n - 1] == '\f'))
        s[--n] = 0;
    return s;
}

/* Python's readlines: one entry per '\n'-terminated line, a last unterminated line counts */
static int split_lines(char *text, char ***out) {
    int n = 0, cap = 0;
    char **lines = NULL;
    for (char *p = text; *p;) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        if (n == cap) lines = cg_realloc(lines, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 256));
        lines[n++] = strip_ws(p);
        if (!e) break;
        p = e + 1;
    }
    *out = lines;
    return n;
}

static int read_variant_list(Dataset *d, const char *file_name, char **variants, int n_var,
                             DataSplit *out) {
    char *file = ds_path_join2(d->dir, file_name), *text = cg_read_file(file, NULL), **lines = NULL;
    char *image_dir = ds_path_join2(d->dir, "images");
    int rc = -1, cap = 0;
    if (!text) {
        cg_error_set("dataset fgvc_aircraft: cannot read %s", file);
        goto done;
    }
    int n = split_lines(text, &lines);
    for (int i = 0; i < n; i++) {
        char *sp = strchr(lines[i], ' ');
        const char *variant = sp ? sp + 1 : "";
        if (sp) *sp = 0;
        /* {name: index} keeps the last index of a repeated name */
        int label = -1;
        for (int v = 0; v < n_var; v++)
            if (!strcmp(variants[v], variant)) label = v;
        if (label < 0) {
            cg_error_set("%s line %d: variant \"%s\" is not in variants.txt", file, i + 1, variant);
            goto done;
        }
        char name[4096];
        snprintf(name, sizeof name, "%s.jpg", lines[i]);
        const char *why = ds_relpath_problem(name);
        if (why) {
            cg_error_set("%s line %d: %s: \"%s\"", file, i + 1, why, name);
            goto done;
        }
        char *path = ds_path_join2(image_dir, name);
        if (!ds_image_exists(path)) {
            cg_error_set("%s line %d: image %s does not exist", file, i + 1, path);
            free(path);
            goto done;
        }
        ds_split_push(out, &cap, path, label);
    }
    rc = 0;
done:
    free(lines);
    free(text);
    free(image_dir);
    free(file);
    return rc;
}

int ds_read_fgvc(Dataset *d, const DatasetInfo *info) {
    char *file = ds_path_join2(d->dir, "variants.txt"), *text = cg_read_file(file, NULL), **lines = NULL;
    int rc = -1;
    if (!text) {
        cg_error_set("dataset fgvc_aircraft: cannot read %s (the data/ folder of "
                     "fgvc-aircraft-2013b is expected)", file);
        free(file);
        return -1;
    }
    int n = split_lines(text, &lines);
    if (!n) {
        cg_error_set("%s: no variants", file);
        goto done;
    }
    if (read_variant_list(d, "images_variant_train.txt", lines, n, &d->train) ||
        read_variant_list(d, "images_variant_val.txt", lines, n, &d->val) ||
        read_variant_list(d, "images_variant_test.txt", lines, n, &d->test))
        goto done;
    d->n_classes = n;
    d->classnames = cg_malloc(sizeof(char *) * (size_t)n);
    for (int i = 0; i < n; i++) d->classnames[i] = ds_classname_final(lines[i]);
    rc = 0;
done:
    free(lines);
    free(text);
    free(file);
    (void)info;
    return rc;
}
