/* runner/digest.h — SHA-256 digests (OpenSSL libcrypto) of what decides a run's result: byte
 * strings, whole files, and files through a cache in OUT (OUT/cache/digests.json, one entry per
 * real path with the size, mtime and inode it was computed at) so that a 600 MB weights file is
 * hashed once, not on every start. Digests are lowercase hex, 64 characters. */
#ifndef CLIPGRID_RUNNER_DIGEST_H
#define CLIPGRID_RUNNER_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX 65   /* 64 hex digits and the terminating zero */

typedef struct Digest Digest;
Digest *digest_new(void);
void digest_add(Digest *d, const void *data, size_t n);
void digest_add_str(Digest *d, const char *s);   /* the text and a terminating '\n' */
/* the hex digest into hex[DIGEST_HEX]; frees d */
void digest_end(Digest *d, char hex[DIGEST_HEX]);

/* the digest of a byte string */
void digest_bytes(const void *data, size_t n, char hex[DIGEST_HEX]);
/* the digest of a file's content; 0, or −1 with cg_error naming the file */
int digest_file(const char *path, char hex[DIGEST_HEX]);
/* digest_file through OUT's cache (cache_dir may be NULL: no cache; an unwritable cache is
 * ignored); *hashed (may be NULL) tells whether the file was read; 0, or −1 with cg_error */
int digest_file_cached(const char *cache_dir, const char *path, char hex[DIGEST_HEX],
                       int *hashed);

#endif
