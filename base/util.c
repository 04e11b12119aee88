/* base/util.c — fatal errors, recoverable error text, checked allocation, file reading. */
#define _POSIX_C_SOURCE 200809L
#include "base/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static char fatal_prefix[256];
static void (*fatal_hook)(void);
static _Thread_local char error_text[1024];

void cg_set_fatal_prefix(const char *prefix) {
    snprintf(fatal_prefix, sizeof fatal_prefix, "%s", prefix ? prefix : "");
}

void cg_set_fatal_hook(void (*hook)(void)) { fatal_hook = hook; }

void cg_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    if (fatal_prefix[0]) fprintf(stderr, "clipgrid: [%s] ", fatal_prefix);
    else fprintf(stderr, "clipgrid: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    if (fatal_hook) fatal_hook();
    exit(1);
}

void cg_error_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
}

const char *cg_error(void) { return error_text; }

void *cg_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) cg_fatal("out of memory allocating %zu bytes", n);
    return p;
}

void *cg_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) cg_fatal("out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *cg_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) cg_fatal("out of memory reallocating %zu bytes", n);
    return q;
}

char *cg_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = cg_malloc(n);
    memcpy(d, s, n);
    return d;
}

char *cg_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cg_error_set("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = cg_malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) buf = cg_realloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        cg_error_set("%s: read error", path);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

char *cg_read_gz(const char *path, size_t *len) {
    gzFile g = gzopen(path, "rb");
    if (!g) {
        cg_error_set("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = cg_malloc(cap);
    for (;;) {
        if (cap - n - 1 < (1u << 16)) buf = cg_realloc(buf, cap *= 2);
        int got = gzread(g, buf + n, (unsigned)(cap - n - 1));
        if (got < 0) {
            int code;
            const char *msg = gzerror(g, &code);
            cg_error_set("%s: corrupt or truncated gzip data (%s)", path, msg);
            gzclose(g);
            free(buf);
            return NULL;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    int code = Z_OK;
    const char *msg = gzerror(g, &code);
    if (code != Z_OK) { /* a truncated stream ends with Z_BUF_ERROR, not a read error */
        cg_error_set("%s: corrupt or truncated gzip data (%s)", path, msg);
        gzclose(g);
        free(buf);
        return NULL;
    }
    gzclose(g);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

char *cg_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return cg_strdup(".");
    if (slash == path) return cg_strdup("/");
    size_t n = (size_t)(slash - path);
    char *d = cg_malloc(n + 1);
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

char *cg_path_join(const char *dir, const char *name) {
    if (name[0] == '/' || !dir || !dir[0]) return cg_strdup(name);
    size_t a = strlen(dir), b = strlen(name);
    char *p = cg_malloc(a + b + 2);
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

double cg_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
