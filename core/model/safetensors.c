/* core/model/safetensors.c — the validating safetensors reader (memory-mapped, read-only).
 * The writer and the dtype helpers are in core/model/safetensors_write.c. */
#include "core/model/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader assumes a little-endian host"
#endif

struct SafeTensors {
    char *path;
    const uint8_t *map;   /* whole file, read-only */
    size_t size;          /* file size in bytes */
    size_t data_len;      /* size of the data buffer = size - 8 - N */
    const uint8_t *data;  /* start of the data buffer */
    json_t *root;         /* the parsed header; tensor names point into it */
    json_t *meta;         /* borrowed "__metadata__" object or NULL */
    const char **meta_keys;  /* [n_meta], point into root */
    int n_meta;
    StTensor *t;          /* [n], header order */
    int n;
    int *by_name;         /* [n] indices sorted by name */
    void (*release)(void *);  /* st_wrap: frees the owner's mapping and names */
    void *owner;
};

/* ---- mapping the file ---------------------------------------------------------------------- */

static int st_map_(SafeTensors *st) {
    int fd = open(st->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cg_error_set("%s: cannot open: %s", st->path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cg_error_set("%s: not a regular file", st->path);
        close(fd);
        return -1;
    }
    st->size = (size_t)sb.st_size;
    if (st->size < 8) {
        cg_error_set("%s: file is %zu bytes, shorter than the 8-byte header length that starts a "
                     "safetensors file (empty or truncated file)", st->path, st->size);
        close(fd);
        return -1;
    }
    void *p = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        cg_error_set("%s: cannot map %zu bytes: %s", st->path, st->size, strerror(errno));
        return -1;
    }
    st->map = p;
    return 0;
}

static uint64_t st_le64_(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

/* ---- header -------------------------------------------------------------------------------- */

static int st_load_json_(SafeTensors *st, uint64_t n) {
    json_error_t err;
    st->root = json_loadb((const char *)st->map + 8, (size_t)n, JSON_REJECT_DUPLICATES, &err);
    if (!st->root) {
        if (json_error_code(&err) == json_error_duplicate_key)
            cg_error_set("%s: duplicate tensor name in the header: %s", st->path, err.text);
        else
            cg_error_set("%s: header is not valid JSON: %s (header byte %d)", st->path, err.text,
                         err.position);
        return -1;
    }
    if (!json_is_object(st->root)) {
        cg_error_set("%s: header is JSON but not an object (a safetensors header maps tensor "
                     "names to entries)", st->path);
        return -1;
    }
    return 0;
}

static int st_header_(SafeTensors *st) {
    uint64_t n = st_le64_(st->map);
    if (n > ST_MAX_HEADER) {
        cg_error_set("%s: header length %llu exceeds the %llu-byte limit (not a safetensors file?)",
                     st->path, (unsigned long long)n, ST_MAX_HEADER);
        return -1;
    }
    if (n > st->size - 8) {
        cg_error_set("%s: header length %llu runs past the end of the file (%zu bytes after the "
                     "length field; file truncated?)", st->path, (unsigned long long)n,
                     st->size - 8);
        return -1;
    }
    if (n == 0) {
        cg_error_set("%s: header length is 0; expected a JSON object", st->path);
        return -1;
    }
    st->data = st->map + 8 + n;
    st->data_len = st->size - 8 - (size_t)n;
    return st_load_json_(st, n);
}

static int st_dtype_parse_(const char *s, StDtype *dt) {
    static const char *names[ST_NUM_DTYPES] = {"F32", "F16", "BF16", "I64"};
    for (int i = 0; i < ST_NUM_DTYPES; i++)
        if (strcmp(s, names[i]) == 0) {
            *dt = (StDtype)i;
            return 0;
        }
    return -1;
}

static int st_entry_dtype_(SafeTensors *st, const char *name, json_t *e, StTensor *t) {
    json_t *d = json_object_get(e, "dtype");
    if (!json_is_string(d)) {
        cg_error_set("%s: tensor '%s': missing or non-string \"dtype\"", st->path, name);
        return -1;
    }
    if (st_dtype_parse_(json_string_value(d), &t->dtype)) {
        cg_error_set("%s: tensor '%s' has dtype '%s', expected F32, F16 or BF16 (I64 only for "
                     "position_ids)", st->path, name, json_string_value(d));
        return -1;
    }
    return 0;
}

static int st_entry_shape_(SafeTensors *st, const char *name, json_t *e, StTensor *t) {
    json_t *s = json_object_get(e, "shape");
    if (!json_is_array(s) || json_array_size(s) > ST_MAX_DIMS) {
        cg_error_set("%s: tensor '%s': \"shape\" must be an array of at most %d non-negative "
                     "integers", st->path, name, ST_MAX_DIMS);
        return -1;
    }
    t->ndim = (int)json_array_size(s);
    uint64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        json_t *v = json_array_get(s, (size_t)i);
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            cg_error_set("%s: tensor '%s': shape element %d is not a non-negative integer",
                         st->path, name, i);
            return -1;
        }
        t->shape[i] = (int64_t)json_integer_value(v);
        if (__builtin_mul_overflow(numel, (uint64_t)t->shape[i], &numel)) {
            cg_error_set("%s: tensor '%s': shape overflows 64 bits", st->path, name);
            return -1;
        }
    }
    t->numel = (size_t)numel;
    return 0;
}

static int st_entry_offsets_(SafeTensors *st, const char *name, json_t *e, StTensor *t) {
    json_t *o = json_object_get(e, "data_offsets");
    json_t *b = json_array_get(o, 0), *en = json_array_get(o, 1);
    if (!json_is_array(o) || json_array_size(o) != 2 || !json_is_integer(b) ||
        !json_is_integer(en) || json_integer_value(b) < 0 || json_integer_value(en) < 0) {
        cg_error_set("%s: tensor '%s': \"data_offsets\" must be [begin, end] with non-negative "
                     "integers", st->path, name);
        return -1;
    }
    uint64_t begin = (uint64_t)json_integer_value(b), end = (uint64_t)json_integer_value(en);
    char sh[160];
    st_shape_str(sh, sizeof sh, t->ndim, t->shape);
    if (begin > end) {
        cg_error_set("%s: tensor '%s': data_offsets [%llu, %llu) has begin > end", st->path, name,
                     (unsigned long long)begin, (unsigned long long)end);
        return -1;
    }
    if (end > st->data_len) {
        cg_error_set("%s: tensor '%s': data_offsets [%llu, %llu) end beyond the data buffer "
                     "(%zu bytes; file truncated?)", st->path, name, (unsigned long long)begin,
                     (unsigned long long)end, st->data_len);
        return -1;
    }
    uint64_t need;
    if (__builtin_mul_overflow((uint64_t)t->numel, (uint64_t)st_dtype_size(t->dtype), &need) ||
        need != end - begin) {
        cg_error_set("%s: tensor '%s': data_offsets [%llu, %llu) hold %llu bytes, but shape %s "
                     "of %s needs %llu bytes", st->path, name, (unsigned long long)begin,
                     (unsigned long long)end, (unsigned long long)(end - begin), sh,
                     st_dtype_name(t->dtype), (unsigned long long)need);
        return -1;
    }
    t->offset = (size_t)begin;
    t->nbytes = (size_t)(end - begin);
    t->data = t->nbytes ? st->data + begin : NULL;
    return 0;
}

static int st_entry_(SafeTensors *st, const char *name, json_t *e, StTensor *t) {
    if (!json_is_object(e)) {
        cg_error_set("%s: tensor '%s': header entry is not an object", st->path, name);
        return -1;
    }
    t->name = name;
    if (st_entry_dtype_(st, name, e, t) || st_entry_shape_(st, name, e, t) ||
        st_entry_offsets_(st, name, e, t))
        return -1;
    return 0;
}

static int st_metadata_check_(SafeTensors *st, json_t *m) {
    if (!json_is_object(m)) {
        cg_error_set("%s: \"__metadata__\" must be an object of strings", st->path);
        return -1;
    }
    const char *k;
    json_t *v;
    st->meta_keys = cg_calloc(json_object_size(m) + 1, sizeof *st->meta_keys);
    json_object_foreach(m, k, v) {
        if (!json_is_string(v)) {
            cg_error_set("%s: \"__metadata__\" entry '%s' is not a string", st->path, k);
            return -1;
        }
        st->meta_keys[st->n_meta++] = k;
    }
    st->meta = m;
    return 0;
}

static int st_entries_(SafeTensors *st) {
    st->t = cg_calloc(json_object_size(st->root) + 1, sizeof(StTensor));
    const char *k;
    json_t *v;
    json_object_foreach(st->root, k, v) {
        if (strcmp(k, "__metadata__") == 0) {
            if (st_metadata_check_(st, v)) return -1;
            continue;
        }
        if (st_entry_(st, k, v, &st->t[st->n])) return -1;
        st->n++;
    }
    return 0;
}

/* ---- layout checks ------------------------------------------------------------------------- */

/* qsort_r (glibc) comparators over tensor indices */
static int st_cmp_offset_(const void *a, const void *b, void *ctx) {
    const SafeTensors *st = ctx;
    const StTensor *x = &st->t[*(const int *)a], *y = &st->t[*(const int *)b];
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return 0;
}

static int st_cmp_name_(const void *a, const void *b, void *ctx) {
    const SafeTensors *st = ctx;
    return strcmp(st->t[*(const int *)a].name, st->t[*(const int *)b].name);
}

static int *st_sorted_(SafeTensors *st, int (*cmp)(const void *, const void *, void *)) {
    int *idx = cg_malloc((size_t)(st->n ? st->n : 1) * sizeof(int));
    for (int i = 0; i < st->n; i++) idx[i] = i;
    qsort_r(idx, (size_t)st->n, sizeof(int), cmp, st);
    return idx;
}

/* Like the official reader: the ranges, sorted by begin, must tile the data buffer exactly.
 * An overlap, a gap between tensors or bytes after the last tensor are all errors. */
static int st_check_tiling_(SafeTensors *st) {
    int *idx = st_sorted_(st, st_cmp_offset_);
    size_t expect = 0;
    int rc = 0;
    for (int i = 0; i < st->n && !rc; i++) {
        const StTensor *t = &st->t[idx[i]], *prev = i ? &st->t[idx[i - 1]] : NULL;
        if (t->offset < expect) {
            cg_error_set("%s: tensors '%s' [%zu, %zu) and '%s' [%zu, %zu) overlap in the data "
                         "buffer", st->path, prev->name, prev->offset,
                         prev->offset + prev->nbytes, t->name, t->offset, t->offset + t->nbytes);
            rc = -1;
        } else if (t->offset > expect) {
            cg_error_set("%s: gap in the data buffer: bytes [%zu, %zu) before tensor '%s' belong "
                         "to no tensor", st->path, expect, t->offset, t->name);
            rc = -1;
        }
        expect = t->offset + t->nbytes;
    }
    if (!rc && expect != st->data_len) {
        cg_error_set("%s: %zu trailing bytes: the tensors end at byte %zu of a %zu-byte data "
                     "buffer", st->path, st->data_len - expect, expect, st->data_len);
        rc = -1;
    }
    free(idx);
    return rc;
}

static int st_index_names_(SafeTensors *st) {
    st->by_name = st_sorted_(st, st_cmp_name_);
    for (int i = 1; i < st->n; i++)
        if (strcmp(st->t[st->by_name[i]].name, st->t[st->by_name[i - 1]].name) == 0) {
            cg_error_set("%s: duplicate tensor name '%s'", st->path, st->t[st->by_name[i]].name);
            return -1;
        }
    return 0;
}

/* ---- public -------------------------------------------------------------------------------- */

SafeTensors *st_open(const char *path) {
    SafeTensors *st = cg_calloc(1, sizeof *st);
    st->path = cg_strdup(path);
    if (st_map_(st) || st_header_(st) || st_entries_(st) || st_check_tiling_(st) ||
        st_index_names_(st)) {
        st_close(st);
        return NULL;
    }
    return st;
}

SafeTensors *st_wrap(const char *path, StTensor *t, int n, size_t file_size,
                     void (*release)(void *), void *owner) {
    SafeTensors *st = cg_calloc(1, sizeof *st);
    st->path = cg_strdup(path);
    st->t = t, st->n = n, st->size = file_size, st->release = release, st->owner = owner;
    if (st_index_names_(st)) {
        st_close(st);
        return NULL;
    }
    return st;
}

void st_close(SafeTensors *st) {
    if (!st) return;
    if (st->release) st->release(st->owner);
    if (st->map) munmap((void *)st->map, st->size);
    if (st->root) json_decref(st->root);
    free(st->t);
    free(st->by_name);
    free(st->meta_keys);
    free(st->path);
    free(st);
}

int st_count(const SafeTensors *st) { return st->n; }

const StTensor *st_get(const SafeTensors *st, int i) {
    return (i >= 0 && i < st->n) ? &st->t[i] : NULL;
}

int st_index(const SafeTensors *st, const char *name) {
    int lo = 0, hi = st->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(name, st->t[st->by_name[mid]].name);
        if (c == 0) return st->by_name[mid];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return -1;
}

const StTensor *st_find(const SafeTensors *st, const char *name) {
    int i = st_index(st, name);
    return i < 0 ? NULL : &st->t[i];
}

const char *st_metadata(const SafeTensors *st, const char *key) {
    return st->meta ? json_string_value(json_object_get(st->meta, key)) : NULL;
}

int st_metadata_count(const SafeTensors *st) { return st->n_meta; }

const char *st_metadata_key(const SafeTensors *st, int i) {
    return (i >= 0 && i < st->n_meta) ? st->meta_keys[i] : NULL;
}

const char *st_path(const SafeTensors *st) { return st->path; }

size_t st_file_size(const SafeTensors *st) { return st->size; }
