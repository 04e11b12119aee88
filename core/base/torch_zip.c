/* core/base/torch_zip.c — ZIP archives of PyTorch checkpoints through libzip over a memory mapping
 * (core/base/torch_zip.h). A zip_source callback serves the mapping and records where libzip reads,
 * which gives a stored entry's data offset without parsing ZIP headers here. */
#include "core/base/torch_zip.h"

#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include <zlib.h>

#include "base/util.h"

typedef struct {
    const uint8_t *map;
    size_t size;
    zip_uint64_t pos;
    long long last_read;  /* offset of the most recent read */
    zip_error_t err;
} MapSource;

struct TzArchive {
    char *path;
    MapSource src;
    zip_t *zip;
    char prefix[256];
};

static zip_int64_t map_cb_(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd) {
    MapSource *s = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN: s->pos = 0; return 0;
    case ZIP_SOURCE_READ: {
        zip_uint64_t n = s->pos < s->size ? s->size - s->pos : 0;
        if (n > len) n = len;
        s->last_read = (long long)s->pos;
        memcpy(data, s->map + s->pos, n);
        s->pos += n;
        return (zip_int64_t)n;
    }
    case ZIP_SOURCE_CLOSE: return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = s->size, st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR: return zip_error_to_data(&s->err, data, len);
    case ZIP_SOURCE_SEEK: {
        zip_int64_t p = zip_source_seek_compute_offset(s->pos, s->size, data, len, &s->err);
        if (p < 0) return -1;
        s->pos = (zip_uint64_t)p;
        return 0;
    }
    case ZIP_SOURCE_TELL: return (zip_int64_t)s->pos;
    case ZIP_SOURCE_FREE: return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_SEEK,
                                              ZIP_SOURCE_TELL, ZIP_SOURCE_FREE,
                                              ZIP_SOURCE_SUPPORTS, -1);
    default: zip_error_set(&s->err, ZIP_ER_OPNOTSUPP, 0); return -1;
    }
}

/* "top/rest": no absolute path, no "..", "." or empty component, no backslash */
static int name_ok_(const char *name, char *top, size_t cap) {
    if (!name[0] || name[0] == '/' || strchr(name, '\\')) return 0;
    const char *slash = strchr(name, '/');
    if (!slash || (size_t)(slash - name) >= cap) return 0;
    for (const char *c = name; *c;) {
        size_t n = strcspn(c, "/");
        if ((n == 2 && !strncmp(c, "..", 2)) || (n == 1 && c[0] == '.')) return 0;
        if (n == 0 && c[n] == '/') return 0;
        c += n + (c[n] == '/');
    }
    memcpy(top, name, (size_t)(slash - name));
    top[slash - name] = 0;
    return 1;
}

static int check_names_(TzArchive *z) {
    zip_int64_t n = zip_get_num_entries(z->zip, 0);
    if (n <= 0) {
        cg_error_set("%s: empty ZIP archive (not a PyTorch checkpoint)", z->path);
        return -1;
    }
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z->zip, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        char top[256];
        if (!name || !name_ok_(name, top, sizeof top)) {
            cg_error_set("%s: ZIP entry '%.200s' is not a path inside the archive's folder (absolute, "
                         "'..', '.', backslash or no folder): refused", z->path, name ? name : "?");
            return -1;
        }
        if (i == 0) snprintf(z->prefix, sizeof z->prefix, "%s", top);
        else if (strcmp(top, z->prefix)) {
            cg_error_set("%s: ZIP entries in two top folders ('%s' and '%s'): not a PyTorch "
                         "checkpoint", z->path, z->prefix, top);
            return -1;
        }
    }
    return 0;
}

TzArchive *tz_open(const char *path, const uint8_t *map, size_t size) {
    TzArchive *z = cg_calloc(1, sizeof *z);
    z->path = cg_strdup(path);
    z->src = (MapSource){.map = map, .size = size, .last_read = -1};
    zip_error_init(&z->src.err);
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *s = zip_source_function_create(map_cb_, &z->src, &err);
    if (s) z->zip = zip_open_from_source(s, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!z->zip) {
        cg_error_set("%s: not a readable ZIP archive: %s", path, zip_error_strerror(&err));
        if (s) zip_source_free(s);
        zip_error_fini(&err);
        tz_close(z);
        return NULL;
    }
    zip_error_fini(&err);
    if (check_names_(z)) {
        tz_close(z);
        return NULL;
    }
    return z;
}

void tz_close(TzArchive *z) {
    if (!z) return;
    if (z->zip) zip_discard(z->zip);
    zip_error_fini(&z->src.err);
    free(z->path);
    free(z);
}

const char *tz_prefix(const TzArchive *z) { return z->prefix; }

long tz_find(TzArchive *z, const char *rel) {
    char name[1024];
    snprintf(name, sizeof name, "%s/%s", z->prefix, rel);
    return (long)zip_name_locate(z->zip, name, ZIP_FL_ENC_RAW);
}

static int stat_(TzArchive *z, long idx, zip_stat_t *st) {
    if (zip_stat_index(z->zip, (zip_uint64_t)idx, 0, st) == 0) return 0;
    cg_error_set("%s: cannot read ZIP entry %ld: %s", z->path, idx, zip_strerror(z->zip));
    return -1;
}

uint8_t *tz_read(TzArchive *z, long idx, size_t max, size_t *len) {
    zip_stat_t st;
    if (stat_(z, idx, &st)) return NULL;
    if (st.size > max) {
        cg_error_set("%s: ZIP entry %s declares %llu bytes, more than the %zu accepted",
                     z->path, st.name, (unsigned long long)st.size, max);
        return NULL;
    }
    zip_file_t *f = zip_fopen_index(z->zip, (zip_uint64_t)idx, 0);
    uint8_t *buf = cg_malloc(st.size + 1);
    zip_int64_t got = f ? zip_fread(f, buf, st.size) : -1;
    if (!f || got != (zip_int64_t)st.size) {
        cg_error_set("%s: cannot read ZIP entry %s: %s", z->path, st.name,
                     f ? zip_file_strerror(f) : zip_strerror(z->zip));
        if (f) zip_fclose(f);
        free(buf);
        return NULL;
    }
    zip_fclose(f);
    *len = st.size;
    return buf;
}

/* the offset libzip reads the entry's first bytes from, confirmed against the mapping */
static int locate_(TzArchive *z, long idx, const zip_stat_t *st, size_t *off) {
    zip_file_t *f = zip_fopen_index(z->zip, (zip_uint64_t)idx, 0);
    uint8_t head[64];
    size_t want = st->size < sizeof head ? (size_t)st->size : sizeof head;
    z->src.last_read = -1;
    zip_int64_t got = f ? zip_fread(f, head, want) : -1;
    long long at = z->src.last_read;
    if (f) zip_fclose(f);
    if (got != (zip_int64_t)want || at < 0 || (size_t)at + st->size > z->src.size ||
        memcmp(z->src.map + at, head, want)) {
        cg_error_set("%s: cannot locate the data of ZIP entry %s in the file", z->path, st->name);
        return -1;
    }
    *off = (size_t)at;
    return 0;
}

int tz_stored_data(TzArchive *z, long idx, size_t *off, size_t *len) {
    zip_stat_t st;
    if (stat_(z, idx, &st)) return -1;
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
        cg_error_set("%s: ZIP entry %s is encrypted", z->path, st.name);
        return -1;
    }
    if (!(st.valid & ZIP_STAT_COMP_METHOD) || st.comp_method != ZIP_CM_STORE ||
        st.comp_size != st.size) {
        cg_error_set("%s: ZIP entry %s is compressed (method %d): tensor storages must be stored "
                     "uncompressed, as torch.save writes them, so that they can be mapped",
                     z->path, st.name, (int)st.comp_method);
        return -1;
    }
    *len = (size_t)st.size;
    if (st.size == 0) return *off = 0, 0;
    if (locate_(z, idx, &st, off)) return -1;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t done = 0; done < *len;) {  /* zlib's crc32 takes uInt lengths */
        uInt n = (uInt)(*len - done > (1u << 30) ? (1u << 30) : *len - done);
        crc = crc32(crc, z->src.map + *off + done, n);
        done += n;
    }
    if ((st.valid & ZIP_STAT_CRC) && crc != st.crc) {
        cg_error_set("%s: ZIP entry %s: CRC-32 %08lx of the data, the archive says %08x "
                     "(corrupt file)", z->path, st.name, (unsigned long)crc, st.crc);
        return -1;
    }
    return 0;
}
