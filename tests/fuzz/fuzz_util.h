/* tests/fuzz/fuzz_util.h — what the libFuzzer harnesses share: the input as a file that the
 * readers open by path (a temporary file in $FUZZ_TMPDIR, else /dev/shm when it is writable,
 * else $TMPDIR or /tmp, rewritten for every input and removed at exit, so no reader API changes; HDF5 cannot
 * open a memfd's /proc/self/fd path, so a real file is used), the quiet single-threaded setup of
 * the libraries, and the repository files a harness needs (found from the harness's own path). */
#ifndef CLIPGRID_TESTS_FUZZ_UTIL_H
#define CLIPGRID_TESTS_FUZZ_UTIL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

typedef struct {
    int fd;
    char path[PATH_MAX];
} FuzzFile;

#define FUZZ_MAX_FILES 4
static char fuzz_files_[FUZZ_MAX_FILES][PATH_MAX];
static int fuzz_n_files_;

static void fuzz_files_remove_(void) {
    for (int i = 0; i < fuzz_n_files_; i++) unlink(fuzz_files_[i]);
}

/* a new temporary file whose name ends in `tag`; its path is f->path */
static inline void fuzz_file_init(FuzzFile *f, const char *tag) {
    const char *dir = getenv("FUZZ_TMPDIR"); /* run_fuzz.sh: a folder it removes afterwards */
    if (!dir || !*dir) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(f->path, sizeof f->path, "%s/clipgrid-fuzz-XXXXXX-%s", dir && *dir ? dir : "/tmp", tag);
    f->fd = mkstemps(f->path, (int)strlen(tag) + 1);
    if (f->fd < 0 || fuzz_n_files_ == FUZZ_MAX_FILES) {
        perror(f->path);
        abort();
    }
    if (!fuzz_n_files_) atexit(fuzz_files_remove_);
    snprintf(fuzz_files_[fuzz_n_files_++], PATH_MAX, "%s", f->path);
}

/* the file's content becomes data[0..n) */
static inline const char *fuzz_file_set(FuzzFile *f, const void *data, size_t n) {
    if (ftruncate(f->fd, 0) != 0 || (n && pwrite(f->fd, data, n, 0) != (ssize_t)n)) {
        perror("memfd write");
        abort();
    }
    return f->path;
}

/* one thread for OpenMP and OpenBLAS, no HDF5 error printing; call from LLVMFuzzerInitialize */
static inline void fuzz_quiet_env(void) {
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1);
}

/* the repository root: two folders above the harness (build-fuzz/fuzz/fuzz_x), or $CLIPGRID_REPO */
static inline const char *fuzz_repo_root(void) {
    static char root[PATH_MAX];
    const char *env = getenv("CLIPGRID_REPO");
    if (env && *env) return env;
    ssize_t n = readlink("/proc/self/exe", root, sizeof root - 1);
    if (n <= 0) return ".";
    root[n] = 0;
    for (int up = 0; up < 3; up++) {
        char *s = strrchr(root, '/');
        if (s) *s = 0;
    }
    return root;
}

/* the input split at the first occurrence of `sep` (parts not NUL-terminated); when `sep` does
 * not occur the second part is empty */
static inline void fuzz_split(const uint8_t *d, size_t n, const char *sep, const uint8_t **a,
                              size_t *na, const uint8_t **b, size_t *nb) {
    size_t ls = strlen(sep);
    const uint8_t *p = ls <= n ? memmem(d, n, sep, ls) : NULL;
    *a = d;
    *na = p ? (size_t)(p - d) : n;
    *b = p ? p + ls : d + n;
    *nb = p ? n - *na - ls : 0;
}

#endif
