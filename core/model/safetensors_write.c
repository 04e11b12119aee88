/* core/model/safetensors_write.c — the safetensors writer and the dtype helpers (names, sizes, host
 * scalar conversions F32 <-> F16 / BF16 with round-to-nearest-even). */
#include "core/model/safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/half.h"
#include "base/util.h"

/* ---- dtype helpers ------------------------------------------------------------------------- */

const char *st_dtype_name(StDtype dt) {
    static const char *names[ST_NUM_DTYPES] = {"F32", "F16", "BF16", "I64"};
    return (unsigned)dt < ST_NUM_DTYPES ? names[dt] : "?";
}

size_t st_dtype_size(StDtype dt) {
    static const size_t sizes[ST_NUM_DTYPES] = {4, 2, 2, 8};
    return (unsigned)dt < ST_NUM_DTYPES ? sizes[dt] : 0;
}

const char *st_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t n = 0;
    buf[0] = 0;
    n += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

static uint32_t f32_bits_(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float f32_from_bits_(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* binary32 -> binary16, round to nearest, ties to even */
uint16_t st_f32_to_f16(float f) {
    uint32_t x = f32_bits_(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return sign | 0x7E00u | (uint16_t)((ax >> 13) & 0x1FFu);  /* NaN */
    if (ax >= 0x477FF000u) return sign | 0x7C00u;  /* >= 65520 rounds to infinity (or is inf) */
    if (ax >= 0x38800000u) {                       /* normal half: >= 2^-14 */
        uint32_t m = ax - 0x38000000u;             /* rebias the exponent from 127 to 15 */
        m += 0xFFFu + ((m >> 13) & 1u);            /* round to nearest even on the 13 lost bits */
        return sign | (uint16_t)(m >> 13);
    }
    if (ax <= 0x33000000u) return sign;            /* <= 2^-25: rounds to zero (tie to even) */
    /* subnormal half: value / 2^-24 = mant * 2^(e - 126), shift in 14..24 */
    uint32_t e = ax >> 23, mant = (ax & 0x7FFFFFu) | 0x800000u;
    uint32_t shift = 126u - e, q = mant >> shift, rem = mant & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return sign | (uint16_t)q;
}

uint16_t st_f32_to_bf16(float f) {
    uint32_t x = f32_bits_(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x40u);  /* quiet NaN */
    x += 0x7FFFu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

float st_f16_to_f32(uint16_t h) { return f32_from_bits_(cg_f16_to_f32_bits(h)); }

float st_bf16_to_f32(uint16_t h) { return f32_from_bits_(cg_bf16_to_f32_bits(h)); }

float st_read_float(const void *p, StDtype dt) {
    if (dt == ST_F32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, p, 2);
    return dt == ST_F16 ? st_f16_to_f32(h) : st_bf16_to_f32(h);
}

/* ---- writer -------------------------------------------------------------------------------- */

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel, nbytes;
    const void *data;   /* raw bytes, or NULL when fn is set */
    StFillFn fn;
    void *ctx;
} StWEntry;

struct StWriter {
    StWEntry *e;
    int n, cap;
    json_t *meta;       /* object of strings */
};

StWriter *st_writer_new(void) {
    StWriter *w = cg_calloc(1, sizeof *w);
    w->meta = json_object();
    return w;
}

void st_writer_free(StWriter *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->e[i].name);
    free(w->e);
    json_decref(w->meta);
    free(w);
}

static int st_writer_entry_(StWriter *w, const char *name, StDtype dtype, int ndim,
                            const int64_t *shape, StWEntry *out) {
    if ((unsigned)dtype >= ST_NUM_DTYPES || ndim < 0 || ndim > ST_MAX_DIMS ||
        strcmp(name, "__metadata__") == 0) {
        cg_error_set("safetensors writer: tensor '%s': bad dtype, rank or name", name);
        return -1;
    }
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->e[i].name, name) == 0) {
            cg_error_set("safetensors writer: duplicate tensor name '%s'", name);
            return -1;
        }
    memset(out, 0, sizeof *out);
    out->dtype = dtype;
    out->ndim = ndim;
    out->numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            cg_error_set("safetensors writer: tensor '%s': negative dimension", name);
            return -1;
        }
        out->shape[i] = shape[i];
        out->numel *= (size_t)shape[i];
    }
    out->nbytes = out->numel * st_dtype_size(dtype);
    out->name = cg_strdup(name);
    return 0;
}

static void st_writer_push_(StWriter *w, const StWEntry *e) {
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        w->e = cg_realloc(w->e, (size_t)w->cap * sizeof *w->e);
    }
    w->e[w->n++] = *e;
}

int st_writer_add(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape,
                  const void *data) {
    StWEntry e;
    if (st_writer_entry_(w, name, dtype, ndim, shape, &e)) return -1;
    e.data = data;
    st_writer_push_(w, &e);
    return 0;
}

int st_writer_add_fn(StWriter *w, const char *name, StDtype dtype, int ndim,
                     const int64_t *shape, StFillFn fn, void *ctx) {
    if (dtype == ST_I64) {
        cg_error_set("safetensors writer: tensor '%s': a fill function produces floats", name);
        return -1;
    }
    StWEntry e;
    if (st_writer_entry_(w, name, dtype, ndim, shape, &e)) return -1;
    e.fn = fn;
    e.ctx = ctx;
    st_writer_push_(w, &e);
    return 0;
}

void st_writer_set_metadata(StWriter *w, const char *key, const char *value) {
    json_object_set_new(w->meta, key, json_string(value));
}

/* compact JSON header, padded with spaces so that 8 + length is a multiple of 8 */
static char *st_writer_header_(const StWriter *w, size_t *len) {
    json_t *root = json_object();
    if (json_object_size(w->meta)) json_object_set(root, "__metadata__", w->meta);
    size_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const StWEntry *e = &w->e[i];
        json_t *shape = json_array();
        for (int d = 0; d < e->ndim; d++) json_array_append_new(shape, json_integer(e->shape[d]));
        json_t *ent = json_pack("{s:s, s:o, s:[I, I]}", "dtype", st_dtype_name(e->dtype), "shape",
                                shape, "data_offsets", (json_int_t)off,
                                (json_int_t)(off + e->nbytes));
        json_object_set_new(root, e->name, ent);
        off += e->nbytes;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    size_t n = strlen(text), padded = (n + 7) / 8 * 8;
    char *h = cg_malloc(padded);
    memcpy(h, text, n);
    memset(h + n, ' ', padded - n);
    free(text);
    *len = padded;
    return h;
}

static void st_convert_(void *dst, const float *src, size_t n, StDtype dt) {
    if (dt == ST_F32) {
        memcpy(dst, src, n * 4);
        return;
    }
    uint16_t *h = dst;
    for (size_t i = 0; i < n; i++)
        h[i] = dt == ST_F16 ? st_f32_to_f16(src[i]) : st_f32_to_bf16(src[i]);
}

static int st_write_entry_(FILE *f, const StWEntry *e, float **scratch, void **bytes,
                           size_t *cap) {
    if (e->data || e->nbytes == 0)
        return e->nbytes && fwrite(e->data, 1, e->nbytes, f) != e->nbytes ? -1 : 0;
    if (e->numel > *cap) {
        *cap = e->numel;
        *scratch = cg_realloc(*scratch, *cap * sizeof(float));
        *bytes = cg_realloc(*bytes, *cap * sizeof(float));
    }
    if (e->fn(e->ctx, *scratch, e->numel)) return -2;
    st_convert_(*bytes, *scratch, e->numel, e->dtype);
    return fwrite(*bytes, 1, e->nbytes, f) != e->nbytes ? -1 : 0;
}

static int st_write_all_(const StWriter *w, FILE *f, const char *path) {
    size_t hlen;
    char *h = st_writer_header_(w, &hlen);
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    int rc = (fwrite(len8, 1, 8, f) != 8 || fwrite(h, 1, hlen, f) != hlen) ? -1 : 0;
    free(h);
    float *scratch = NULL;
    void *bytes = NULL;
    size_t cap = 0;
    for (int i = 0; i < w->n && rc == 0; i++) {
        rc = st_write_entry_(f, &w->e[i], &scratch, &bytes, &cap);
        if (rc == -2) {  /* the fill function set its own message; prefix the file */
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", cg_error());
            cg_error_set("%s: tensor '%s': %s", path, w->e[i].name, msg);
        }
    }
    free(scratch);
    free(bytes);
    if (rc == -1) cg_error_set("%s: write error: %s", path, strerror(errno));
    return rc ? -1 : 0;
}

int st_writer_write(StWriter *w, const char *path) {
    size_t n = strlen(path) + 32;
    char *tmp = cg_malloc(n);
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cg_error_set("%s: cannot create the temporary file %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int rc = st_write_all_(w, f, path);
    if (fclose(f) != 0 && rc == 0) {
        cg_error_set("%s: write error: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        cg_error_set("%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        rc = -1;
    }
    if (rc) remove(tmp);
    free(tmp);
    return rc;
}
