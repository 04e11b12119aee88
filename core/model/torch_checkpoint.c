/* core/model/torch_checkpoint.c — a PyTorch ZIP checkpoint (torch.save or torch.jit.save) as a
 * SafeTensors reader: data.pkl through the allow-list pickle reader, its tensors collected by
 * state-dict name, each one's storage located (stored, CRC-checked) inside the file mapping. */
#include "core/model/torch_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/torch_pickle.h"
#include "core/base/torch_zip.h"
#include "base/util.h"

#define MAX_PICKLE (1u << 28)  /* data.pkl above 256 MB: not a weights file */
#define MAX_DEPTH 64

/* legacy format: where each storage's data lies in the file */
typedef struct {
    char key[64];
    size_t off;
    uint64_t numel;
} LegacyStorage;

typedef struct {
    char *path;
    const uint8_t *map;
    size_t size;
    TzArchive *zip;
    TpDoc *doc;
    StTensor *t;
    char **names;
    int n, cap;
    LegacyStorage *ls;   /* legacy format only */
    size_t n_ls;
} Ckpt;

static void ckpt_free_(void *p) {
    Ckpt *c = p;
    if (!c) return;
    for (int i = 0; i < c->n; i++) free(c->names[i]);
    free(c->names);
    free(c->ls);
    tp_free(c->doc);
    tz_close(c->zip);
    if (c->map) munmap((void *)c->map, c->size);
    free(c->path);
    free(c);
}

static int map_file_(Ckpt *c) {
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size < 4) {
        cg_error_set("%s: cannot open as a PyTorch checkpoint: %s", c->path,
                     fd < 0 ? strerror(errno) : "not a regular file of at least 4 bytes");
        if (fd >= 0) close(fd);
        return -1;
    }
    c->size = (size_t)sb.st_size;
    void *p = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        cg_error_set("%s: cannot map %zu bytes: %s", c->path, c->size, strerror(errno));
        return -1;
    }
    c->map = p;
    return 0;
}

/* ---- tensors ------------------------------------------------------------------------------- */

static size_t elsize_(int dt) { return dt == TP_F32 ? 4 : dt == TP_I64 ? 8 : 2; }

/* contiguous row-major view inside its storage; numel and byte range checked for overflow */
static int view_ok_(const Ckpt *c, const char *name, const TpValue *t, size_t *numel) {
    size_t n = 1, expect = 1;
    for (int k = t->ndim - 1; k >= 0; k--) {
        if (t->shape[k] != 1 && t->stride[k] != (int64_t)expect) {
            cg_error_set("%s: tensor %s is not contiguous (stride %lld in dim %d, expected %zu)",
                         c->path, name, (long long)t->stride[k], k, expect);
            return -1;
        }
        if (t->shape[k] && expect > (SIZE_MAX >> 4) / (size_t)t->shape[k]) goto big;
        expect *= (size_t)t->shape[k];
    }
    n = expect;
    uint64_t have = (uint64_t)t->storage->i;
    if ((uint64_t)t->i > have || n > have - (uint64_t)t->i) {
        cg_error_set("%s: tensor %s: elements [%lld, %lld) lie outside its storage %s of %llu "
                     "elements", c->path, name, (long long)t->i, (long long)t->i + (long long)n,
                     t->storage->s, (unsigned long long)have);
        return -1;
    }
    *numel = n;
    return 0;
big:
    cg_error_set("%s: tensor %s: shape too large", c->path, name);
    return -1;
}

static int legacy_storage_(Ckpt *c, const TpValue *s, const uint8_t **data) {
    for (size_t i = 0; i < c->n_ls; i++)
        if (!strcmp(c->ls[i].key, s->s)) {
            *data = c->map + c->ls[i].off;
            return 0;
        }
    cg_error_set("%s: storage %s is not in the file's list of storages", c->path, s->s);
    return -1;
}

/* the storage's bytes in the mapping: data/<key>, stored, exactly numel elements */
static int storage_data_(Ckpt *c, const TpValue *s, const uint8_t **data) {
    if (!c->zip) return legacy_storage_(c, s, data);
    char rel[300];
    snprintf(rel, sizeof rel, "data/%s", s->s);
    long idx = tz_find(c->zip, rel);
    if (idx < 0) {
        cg_error_set("%s: storage %s has no archive entry %s/%s", c->path, s->s, tz_prefix(c->zip),
                     rel);
        return -1;
    }
    size_t off, len, es = elsize_(s->dtype);
    if ((uint64_t)s->i > SIZE_MAX / es) {
        cg_error_set("%s: storage %s declares %llu elements: too large", c->path, s->s,
                     (unsigned long long)s->i);
        return -1;
    }
    if (tz_stored_data(c->zip, idx, &off, &len)) return -1;
    if (len != (size_t)s->i * es) {
        cg_error_set("%s: storage %s declares %llu elements (%zu bytes), its entry %s/%s has %zu "
                     "bytes", c->path, s->s, (unsigned long long)s->i, (size_t)s->i * es,
                     tz_prefix(c->zip), rel, len);
        return -1;
    }
    *data = c->map + off;
    return 0;
}

static int add_tensor_(Ckpt *c, const char *name, const TpValue *t) {
    size_t numel;
    const uint8_t *data;
    if (view_ok_(c, name, t, &numel) || storage_data_(c, t->storage, &data)) return -1;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->t = cg_realloc(c->t, (size_t)c->cap * sizeof *c->t);
        c->names = cg_realloc(c->names, (size_t)c->cap * sizeof *c->names);
    }
    size_t es = elsize_(t->storage->dtype);
    StTensor *o = &c->t[c->n];
    memset(o, 0, sizeof *o);
    c->names[c->n] = cg_strdup(name);
    o->name = c->names[c->n++];
    o->dtype = (StDtype)t->storage->dtype;
    o->ndim = t->ndim;
    memcpy(o->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    o->numel = numel;
    o->nbytes = numel * es;
    o->data = numel ? data + (size_t)t->i * es : NULL;
    o->offset = (size_t)(o->data ? (const uint8_t *)o->data - c->map : 0);
    return 0;
}

/* a state dict (name -> tensor; other values skipped) or a TorchScript module tree */
static int collect_(Ckpt *c, const TpValue *v, const char *prefix, int depth) {
    if (depth > MAX_DEPTH) {
        cg_error_set("%s: objects nested deeper than %d levels under '%s'", c->path, MAX_DEPTH,
                     prefix);
        return -1;
    }
    for (size_t i = 0; i < v->n; i++) {
        const TpValue *k = tp_key(v, i), *x = tp_val(v, i);
        if (k->kind != TP_STR) continue;
        char name[1024];
        if (snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k->s) >=
            (int)sizeof name) {
            cg_error_set("%s: tensor name '%.60s…' is longer than %zu bytes", c->path, prefix,
                         sizeof name - 1);
            return -1;
        }
        if (x->kind == TP_TENSOR && add_tensor_(c, name, x)) return -1;
        if (x->kind == TP_OBJECT && collect_(c, x, name, depth + 1)) return -1;
    }
    return 0;
}

/* "module." on every name (DataParallel checkpoints) is removed */
static void strip_module_(Ckpt *c) {
    for (int i = 0; i < c->n; i++)
        if (strncmp(c->names[i], "module.", 7)) return;
    for (int i = 0; i < c->n; i++) {
        memmove(c->names[i], c->names[i] + 7, strlen(c->names[i] + 7) + 1);
        c->t[i].name = c->names[i];
    }
}

static int tensors_(Ckpt *c) {
    const TpValue *root = tp_root(c->doc), *sd = tp_get(root, "state_dict");
    if (root->kind == TP_DICT && sd && sd->kind == TP_DICT) root = sd;  /* open_clip's files */
    if (root->kind != TP_DICT && root->kind != TP_OBJECT) {
        cg_error_set("%s: data.pkl holds neither a state dict nor a TorchScript module", c->path);
        return -1;
    }
    if (collect_(c, root, "", 0)) return -1;
    if (!c->n) {
        cg_error_set("%s: no tensors found in data.pkl", c->path);
        return -1;
    }
    strip_module_(c);
    return 0;
}

static int read_zip_(Ckpt *c) {
    c->zip = tz_open(c->path, c->map, c->size);
    if (!c->zip) return -1;
    long idx = tz_find(c->zip, "data.pkl");
    if (idx < 0) {
        cg_error_set("%s: ZIP archive without %s/data.pkl: not a torch.save / torch.jit.save "
                     "file", c->path, tz_prefix(c->zip));
        return -1;
    }
    size_t len;
    uint8_t *pkl = tz_read(c->zip, idx, MAX_PICKLE, &len);
    if (!pkl) return -1;
    char what[4400];
    snprintf(what, sizeof what, "%s:%s/data.pkl", c->path, tz_prefix(c->zip));
    c->doc = tp_parse(pkl, len, TP_ALLOW_TORCH, what);
    free(pkl);
    return c->doc ? tensors_(c) : -1;
}

/* ---- the legacy (pre-1.6) format: pickles of the magic number, protocol 1001, the system
 * info, the object and the storage keys, then per key an int64 element count and the data ---- */

static const uint8_t LEGACY_MAGIC[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

/* one header pickle at *pos; its root passed to check; the doc is freed */
static int header_(Ckpt *c, size_t *pos, const char *what, int (*check)(const TpValue *)) {
    char w[4400];
    snprintf(w, sizeof w, "%s:%s", c->path, what);
    TpDoc *d = tp_parse(c->map + *pos, c->size - *pos, TP_ALLOW_TORCH, w);
    if (!d) return -1;
    int ok = check(tp_root(d));
    *pos += tp_consumed(d);
    tp_free(d);
    if (!ok) cg_error_set("%s: not a legacy torch.save file (%s is not what torch writes)", c->path,
                          what);
    return ok ? 0 : -1;
}

static int magic_ok_(const TpValue *v) {
    return v->kind == TP_BYTES && v->len == 10 && !memcmp(v->s, LEGACY_MAGIC, 10);
}
static int proto_ok_(const TpValue *v) { return v->kind == TP_INT && v->i == 1001; }
static int sysinfo_ok_(const TpValue *v) {
    const TpValue *le = tp_get(v, "little_endian");
    return le && le->kind == TP_BOOL && le->i == 1;
}

static const TpValue *storage_of_(const TpDoc *d, const char *key) {
    for (size_t i = 0; i < tp_value_count(d); i++) {
        const TpValue *v = tp_value_at(d, i);
        if (v->kind == TP_STORAGE && !strcmp(v->s, key)) return v;
    }
    return NULL;
}

/* the raw storages after the key list: count (int64 LE) then count * element size bytes */
static int legacy_data_(Ckpt *c, const TpValue *keys, size_t pos) {
    c->ls = cg_calloc(keys->n + 1, sizeof *c->ls);
    for (size_t i = 0; i < keys->n; i++) {
        const TpValue *k = keys->items[i], *s = k->kind == TP_STR ? storage_of_(c->doc, k->s) : NULL;
        if (!s || k->len >= sizeof c->ls[0].key) {
            cg_error_set("%s: storage key %zu of the list is not a storage of the object", c->path, i);
            return -1;
        }
        uint64_t numel = 0;
        if (c->size - pos < 8) goto short_;
        memcpy(&numel, c->map + pos, 8);
        size_t es = elsize_(s->dtype);
        if (numel != (uint64_t)s->i) {
            cg_error_set("%s: storage %s: %llu elements in the data, %llu declared", c->path,
                         k->s, (unsigned long long)numel, (unsigned long long)s->i);
            return -1;
        }
        if (numel > (c->size - pos - 8) / es) {
            cg_error_set("%s: truncated: storage %s needs %llu elements of %zu bytes, %zu bytes "
                         "left", c->path, k->s, (unsigned long long)numel, es, c->size - pos - 8);
            return -1;
        }
        snprintf(c->ls[i].key, sizeof c->ls[i].key, "%s", k->s);
        c->ls[i].off = pos + 8, c->ls[i].numel = numel;
        c->n_ls = i + 1;
        pos += 8 + numel * es;
    }
    if (pos == c->size) return 0;
    cg_error_set("%s: %zu bytes after the last storage", c->path, c->size - pos);
    return -1;
short_:
    cg_error_set("%s: truncated: the storages' data ends early", c->path);
    return -1;
}

static int read_legacy_(Ckpt *c) {
    size_t pos = 0;
    if (header_(c, &pos, "magic number", magic_ok_) ||
        header_(c, &pos, "protocol version", proto_ok_) ||
        header_(c, &pos, "system info", sysinfo_ok_))
        return -1;
    char what[4400];
    snprintf(what, sizeof what, "%s:object", c->path);
    c->doc = tp_parse(c->map + pos, c->size - pos, TP_ALLOW_TORCH, what);
    if (!c->doc) return -1;
    pos += tp_consumed(c->doc);
    snprintf(what, sizeof what, "%s:storage keys", c->path);
    TpDoc *kd = tp_parse(c->map + pos, c->size - pos, TP_ALLOW_TORCH, what);
    if (!kd) return -1;
    pos += tp_consumed(kd);
    int rc = tp_root(kd)->kind == TP_LIST ? legacy_data_(c, tp_root(kd), pos)
                                          : (cg_error_set("%s: storage keys are not a list", c->path), -1);
    tp_free(kd);
    return rc ? -1 : tensors_(c);
}

int tc_is_torch_file(const char *path) {
    unsigned char b[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, 4, f) : 0;
    if (f) fclose(f);
    /* a ZIP local header, or the legacy format's PROTO 2 + LONG1 of its 10-byte magic number */
    return n == 4 && (!memcmp(b, "PK\x03\x04", 4) || !memcmp(b, "\x80\x02\x8a\x0a", 4));
}

SafeTensors *tc_open(const char *path) {
    Ckpt *c = cg_calloc(1, sizeof *c);
    c->path = cg_strdup(path);
    if (map_file_(c)) goto fail;
    if (c->map[0] == 'P' ? read_zip_(c) : read_legacy_(c)) goto fail;
    tp_free(c->doc), c->doc = NULL;  /* the tensors keep only their names and the mapping */
    StTensor *t = c->t;
    c->t = NULL;
    return st_wrap(path, t, c->n, c->size, ckpt_free_, c);
fail:
    free(c->t);
    ckpt_free_(c);
    return NULL;
}

SafeTensors *weights_open(const char *path) {
    return tc_is_torch_file(path) ? tc_open(path) : st_open(path);
}
