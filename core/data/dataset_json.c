/* core/data/dataset_json.c — the split_zhou_<Name>.json reader (CoOp's read_split): an object with
 * "train", "val" and "test" lists of [relative image path, label, class name]. Paths are joined
 * to the dataset's image folder and must stay inside it; every image must exist; labels are
 * 0 … (largest training label) and each label has one class name. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset_internal.h"
#include "base/util.h"

typedef struct {
    const char *file;   /* the split file (for messages) */
    char *image_dir;    /* absolute */
    char **names;       /* raw class name per label, grown as needed */
    int n_names;
} JsonCtx;

static int set_name(JsonCtx *c, int label, const char *name, const char *where, int idx) {
    if (label >= c->n_names) {
        int n = label + 1;
        c->names = cg_realloc(c->names, sizeof(char *) * (size_t)n);
        for (int i = c->n_names; i < n; i++) c->names[i] = NULL;
        c->n_names = n;
    }
    if (!c->names[label]) c->names[label] = cg_strdup(name);
    else if (strcmp(c->names[label], name)) {
        cg_error_set("%s: %s item %d: label %d is called \"%s\" here but \"%s\" before", c->file,
                     where, idx, label, name, c->names[label]);
        return -1;
    }
    return 0;
}

static int read_list(JsonCtx *c, json_t *root, const char *key, DataSplit *out) {
    json_t *list = json_object_get(root, key);
    if (!json_is_array(list)) {
        cg_error_set("%s: \"%s\" is %s (expected a list of [image path, label, class name])",
                     c->file, key, list ? "not a list" : "missing");
        return -1;
    }
    int cap = 0;
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        json_t *jp = json_array_get(it, 0), *jl = json_array_get(it, 1), *jc = json_array_get(it, 2);
        if (!json_is_array(it) || json_array_size(it) != 3 || !json_is_string(jp) ||
            !json_is_integer(jl) || !json_is_string(jc)) {
            cg_error_set("%s: %s item %zu is not [image path (string), label (integer), class name "
                         "(string)]", c->file, key, i);
            return -1;
        }
        const char *rel = json_string_value(jp), *why = ds_relpath_problem(rel);
        if (why) {
            cg_error_set("%s: %s item %zu: %s: \"%s\"", c->file, key, i, why, rel);
            return -1;
        }
        json_int_t label = json_integer_value(jl);
        if (label < 0 || label > 1000000) {
            cg_error_set("%s: %s item %zu: label %lld out of range", c->file, key, i, (long long)label);
            return -1;
        }
        if (set_name(c, (int)label, json_string_value(jc), key, (int)i)) return -1;
        char *path = ds_path_join2(c->image_dir, rel);
        if (!ds_image_exists(path)) {
            cg_error_set("%s: %s item %zu: image %s does not exist", c->file, key, i, path);
            free(path);
            return -1;
        }
        ds_split_push(out, &cap, path, (int)label);
    }
    return 0;
}

/* labels must be 0 … (largest training label), as Dassl counts classes from the training list */
static int check_labels(JsonCtx *c, Dataset *d) {
    int n = 0;
    for (int i = 0; i < d->train.n; i++)
        if (d->train.items[i].label + 1 > n) n = d->train.items[i].label + 1;
    if (n == 0) {
        cg_error_set("%s: the training list is empty", c->file);
        return -1;
    }
    const DataSplit *lists[2] = {&d->val, &d->test};
    const char *tags[2] = {"val", "test"};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < lists[s]->n; i++)
            if (lists[s]->items[i].label >= n) {
                cg_error_set("%s: %s item %d: label %d out of range (the training list has labels "
                             "0..%d)", c->file, tags[s], i, lists[s]->items[i].label, n - 1);
                return -1;
            }
    for (int y = 0; y < n; y++)
        if (!c->names[y]) {
            cg_error_set("%s: label %d has no images (labels must be 0..%d without gaps)", c->file,
                         y, n - 1);
            return -1;
        }
    d->n_classes = n;
    d->classnames = cg_malloc(sizeof(char *) * (size_t)n);
    for (int y = 0; y < n; y++) d->classnames[y] = ds_classname_final(c->names[y]);
    return 0;
}

int ds_read_split_json(Dataset *d, const DatasetInfo *info) {
    char *file = ds_path_join2(d->dir, info->split_file);
    JsonCtx c = {file, ds_path_join2(d->dir, info->image_dir), NULL, 0};
    int rc = -1;
    json_error_t err;
    json_t *root = NULL;
    if (!ds_file_exists(file)) {
        cg_error_set("dataset %s: split file %s does not exist (download it from the CoOp "
                     "instructions, DATASETS.md)", d->name, file);
        goto done;
    }
    root = json_load_file(file, 0, &err);
    if (!root) {
        cg_error_set("%s: not valid JSON: line %d column %d: %s", file, err.line, err.column, err.text);
        goto done;
    }
    if (!json_is_object(root)) {
        cg_error_set("%s: expected an object with \"train\", \"val\" and \"test\"", file);
        goto done;
    }
    if (read_list(&c, root, "train", &d->train) || read_list(&c, root, "val", &d->val) ||
        read_list(&c, root, "test", &d->test) || check_labels(&c, d))
        goto done;
    rc = 0;
done:
    if (root) json_decref(root);
    for (int i = 0; i < c.n_names; i++) free(c.names[i]);
    free(c.names);
    free(c.image_dir);
    free(file);
    return rc;
}
