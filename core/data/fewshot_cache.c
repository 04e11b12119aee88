/* core/data/fewshot_cache.c — Dassl's split_fewshot/shot_K-seed_S.pkl caches (core/data/fewshot_cache.h):
 * found, digested (SHA-256 through nettle), parsed by the allow-list pickle reader, and their
 * Datum items mapped onto the loaded dataset's own items by trailing path. */
#include "core/data/fewshot_cache.h"

#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset_internal.h"
#include "core/base/torch_pickle.h"
#include "base/util.h"

#define MAX_CACHE (1u << 30)

int fewshot_cache_find(const char *fewshot_root, const char *dirname, const char *dir, int shots,
                       int seed, char *path, size_t cap) {
    char name[64];
    snprintf(name, sizeof name, "shot_%d-seed_%d.pkl", shots, seed);
    if (fewshot_root && *fewshot_root && dirname) {
        snprintf(path, cap, "%s/%s/split_fewshot/%s", fewshot_root, dirname, name);
        if (ds_file_exists(path)) return 1;
        snprintf(path, cap, "%s/%s/%s", fewshot_root, dirname, name);
        if (ds_file_exists(path)) return 1;
    }
    snprintf(path, cap, "%s/split_fewshot/%s", dir, name);
    return ds_file_exists(path);
}

static void sha256_hex_(const void *buf, size_t len, char out[65]) {
    struct sha256_ctx c;
    uint8_t dg[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    sha256_update(&c, len, buf);
    sha256_digest(&c, sizeof dg, dg);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(out + 2 * i, 3, "%02x", dg[i]);
}

/* ---- the dataset's items by path relative to its folder ------------------------------------ */

typedef struct {
    const char *rel;   /* into the item's absolute path */
    int label;
} Known;

static int cmp_known_(const void *a, const void *b) {
    return strcmp(((const Known *)a)->rel, ((const Known *)b)->rel);
}

static Known *index_(const Dataset *d, int *n) {
    const DataSplit *sp[3] = {&d->train, &d->val, &d->test};
    size_t dl = strlen(d->dir);
    Known *k = cg_malloc(sizeof *k * (size_t)(d->train.n + d->val.n + d->test.n + 1));
    *n = 0;
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < sp[s]->n; i++) {
            const char *p = sp[s]->items[i].path;
            if (strncmp(p, d->dir, dl) || p[dl] != '/') continue;
            k[(*n)++] = (Known){p + dl + 1, sp[s]->items[i].label};
        }
    qsort(k, (size_t)*n, sizeof *k, cmp_known_);
    return k;
}

/* the longest trailing part of impath (at a '/') that is a known item */
static const Known *match_(const Known *k, int n, const char *impath) {
    for (const char *s = impath; s; s = strchr(s, '/')) {
        while (*s == '/') s++;
        Known key = {s, 0};
        const Known *hit = bsearch(&key, k, (size_t)n, sizeof *k, cmp_known_);
        if (hit) return hit;
    }
    return NULL;
}

/* ---- Datum lists --------------------------------------------------------------------------- */

static int datum_(const char *file, const char *list, size_t i, const TpValue *v,
                  const char **impath, int *label) {
    const TpValue *p = tp_get(v, "_impath"), *l = tp_get(v, "_label");
    if (v->kind != TP_OBJECT || !p || p->kind != TP_STR || !l || l->kind != TP_INT) {
        cg_error_set("%s: %s[%zu] is not a Dassl Datum with _impath and _label", file, list, i);
        return -1;
    }
    *impath = p->s, *label = (int)l->i;
    return 0;
}

static int items_(const char *file, const char *list, const TpValue *v, const Dataset *d,
                  const Known *k, int nk, DataSplit *out) {
    int cap = 0;
    memset(out, 0, sizeof *out);
    if (v->kind != TP_LIST) {
        cg_error_set("%s: \"%s\" is not a list of Datum", file, list);
        return -1;
    }
    for (size_t i = 0; i < v->n; i++) {
        const char *impath;
        int label;
        if (datum_(file, list, i, v->items[i], &impath, &label)) return -1;
        const Known *hit = match_(k, nk, impath);
        if (!hit) {
            cg_error_set("%s: %s[%zu] %s is not an item of the dataset in %s (no trailing part of "
                         "the path names one of its images)", file, list, i, impath, d->dir);
            return -1;
        }
        if (hit->label != label) {
            cg_error_set("%s: %s[%zu] %s has label %d, the dataset in %s gives %s label %d (a "
                         "cache of another split?)", file, list, i, impath, label, d->dir,
                         hit->rel, hit->label);
            return -1;
        }
        ds_split_push(out, &cap, ds_path_join2(d->dir, hit->rel), label);
    }
    return 0;
}

static int parse_(const char *file, const uint8_t *buf, size_t len, const Dataset *d,
                  DataSplit *train, DataSplit *val, int *has_val) {
    TpDoc *doc = tp_parse(buf, len, TP_ALLOW_DASSL, file);
    if (!doc) return -1;
    const TpValue *root = tp_root(doc), *tr = tp_get(root, "train"), *va = tp_get(root, "val");
    int nk, rc = -1;
    Known *k = index_(d, &nk);
    if (root->kind != TP_DICT || !tr) {
        cg_error_set("%s: not a Dassl few-shot cache (expected a dict with \"train\")", file);
    } else if (!items_(file, "train", tr, d, k, nk, train)) {
        *has_val = va != NULL;
        rc = va ? items_(file, "val", va, d, k, nk, val) : 0;
    }
    free(k);
    tp_free(doc);
    return rc;
}

int fewshot_cache_read(const char *file, const Dataset *d, DataSplit *train, DataSplit *val,
                       int *has_val, FewshotSource *src) {
    size_t len;
    memset(train, 0, sizeof *train), memset(val, 0, sizeof *val);
    char *buf = cg_read_file(file, &len);
    if (!buf) return -1;
    int rc = len > MAX_CACHE ? (cg_error_set("%s: %zu bytes is too large", file, len), -1)
                             : parse_(file, (const uint8_t *)buf, len, d, train, val, has_val);
    if (!rc) {
        memset(src, 0, sizeof *src);
        src->from_cache = 1;
        snprintf(src->file, sizeof src->file, "%s", file);
        sha256_hex_(buf, len, src->sha256);
        src->n_train = train->n, src->n_val = *has_val ? val->n : 0;
    } else {
        ds_split_free(train), ds_split_free(val);
    }
    free(buf);
    return rc;
}

int dataset_fewshot_select(Dataset *d, const char *fewshot_root, int shots, int seed,
                           FewshotSource *src) {
    memset(src, 0, sizeof *src);
    char file[1024];
    if (shots <= 0 || !fewshot_cache_find(fewshot_root, dataset_dirname(d->name), d->dir, shots,
                                          seed, file, sizeof file))
        return dataset_fewshot(d, shots, seed);
    DataSplit train, val;
    int has_val;
    if (fewshot_cache_read(file, d, &train, &val, &has_val, src)) return -1;
    ds_split_free(&d->train);
    d->train = train;
    if (has_val) ds_split_free(&d->val), d->val = val;
    return 0;
}
