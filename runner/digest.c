/* runner/digest.c — SHA-256 of strings and files, and the per-OUT cache of file digests keyed by
 * (real path, size, mtime, inode) (see digest.h). */
#include "runner/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

struct Digest {
    EVP_MD_CTX *ctx;
};

Digest *digest_new(void) {
    Digest *d = cg_calloc(1, sizeof *d);
    d->ctx = EVP_MD_CTX_new();
    if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
        cg_fatal("OpenSSL: cannot start a SHA-256 digest");
    return d;
}

void digest_add(Digest *d, const void *data, size_t n) {
    if (n) EVP_DigestUpdate(d->ctx, data, n);
}

void digest_add_str(Digest *d, const char *s) {
    digest_add(d, s, strlen(s));
    digest_add(d, "\n", 1);
}

void digest_end(Digest *d, char hex[DIGEST_HEX]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(d->ctx, md, &n);
    for (unsigned i = 0; i < n && i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = 0;
    EVP_MD_CTX_free(d->ctx);
    free(d);
}

void digest_bytes(const void *data, size_t n, char hex[DIGEST_HEX]) {
    Digest *d = digest_new();
    digest_add(d, data, n);
    digest_end(d, hex);
}

int digest_file(const char *path, char hex[DIGEST_HEX]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cg_error_set("%s: cannot read: %s", path, strerror(errno)), -1;
    Digest *d = digest_new();
    size_t cap = 1 << 20;
    char *buf = cg_malloc(cap);
    ssize_t r;
    while ((r = read(fd, buf, cap)) > 0) digest_add(d, buf, (size_t)r);
    int err = r < 0 ? errno : 0;
    free(buf);
    close(fd);
    digest_end(d, hex);
    if (err) return cg_error_set("%s: read error: %s", path, strerror(err)), -1;
    return 0;
}

/* the cache entry's identity of a file: "size mtime_ns inode" */
static void stamp_(const struct stat *st, char *buf, size_t cap) {
    snprintf(buf, cap, "%lld %lld.%09ld %llu", (long long)st->st_size,
             (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (unsigned long long)st->st_ino);
}

int digest_file_cached(const char *cache_dir, const char *path, char hex[DIGEST_HEX],
                       int *hashed) {
    if (hashed) *hashed = 0;
    struct stat st;
    char real[PATH_MAX];
    if (stat(path, &st) || !realpath(path, real))
        return cg_error_set("%s: cannot read: %s", path, strerror(errno)), -1;
    char stamp[96];
    stamp_(&st, stamp, sizeof stamp);
    char *file = NULL;
    int lock = -1;
    json_t *root = NULL;
    if (cache_dir) {
        mkdir(cache_dir, 0755);
        file = cg_path_join(cache_dir, "digests.json");
        char *lp = cg_path_join(cache_dir, ".digests.lock");
        lock = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        free(lp);
        if (lock >= 0) flock(lock, LOCK_EX);  /* no flock (some file systems): go on unlocked */
        root = json_load_file(file, 0, NULL);
    }
    if (!json_is_object(root)) json_decref(root), root = json_object();
    json_t *e = json_object_get(root, real);
    const char *s = json_string_value(json_object_get(e, "stamp"));
    const char *h = json_string_value(json_object_get(e, "sha256"));
    int rc = 0;
    if (s && h && !strcmp(s, stamp) && strlen(h) == 64) {
        memcpy(hex, h, DIGEST_HEX);
    } else if ((rc = digest_file(path, hex)) == 0) {
        if (hashed) *hashed = 1;
        json_object_set_new(root, real, json_pack("{s:s, s:s}", "stamp", stamp, "sha256", hex));
        if (file) {
            char *tmp = cg_path_join(cache_dir, ".digests.json.tmp");
            if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) == 0) rename(tmp, file);
            free(tmp);
        }
    }
    json_decref(root);
    if (lock >= 0) close(lock);
    free(file);
    return rc;
}
