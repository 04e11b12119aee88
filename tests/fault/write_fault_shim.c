/* tests/fault/write_fault_shim.c — an LD_PRELOAD shim for tests/cli_write_fault.sh: write,
 * pwrite and pwrite64 to a file whose path contains $CG_FAULT_MATCH fail with $CG_FAULT_ERRNO
 * (a number, default EIO) once $CG_FAULT_AFTER (default 0) such writes have succeeded; every
 * other write goes through. Each injected failure is noted on stderr.
 *   cc -shared -fPIC -O1 -o shim.so tests/fault/write_fault_shim.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static long passed_;

/* 1 when a write to fd is to fail (and sets errno) */
static int inject_(int fd) {
    const char *match = getenv("CG_FAULT_MATCH");
    if (!match || !*match) return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    if (!strstr(path, match)) return 0;
    const char *after = getenv("CG_FAULT_AFTER");
    if (passed_ < (after ? atol(after) : 0)) {
        passed_++;
        return 0;
    }
    const char *e = getenv("CG_FAULT_ERRNO");
    int err = e && *e ? atoi(e) : EIO;
    fprintf(stderr, "write_fault_shim: %s: %s (injected)\n", path, strerror(err));
    errno = err;
    return 1;
}

ssize_t write(int fd, const void *buf, size_t count) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (fd > 2 && inject_(fd)) return -1;
    return real(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    if (inject_(fd)) return -1;
    return real(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
    if (inject_(fd)) return -1;
    return real(fd, buf, count, off);
}
