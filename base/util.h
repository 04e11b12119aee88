/* base/util.h — fatal errors with a location, checked allocation, small file helpers.
 * The lowest layer: kernels/ (C and CUDA) and every layer above report errors through it, so it
 * lives below them all rather than in core/ (kernels/ may not include core/). Usable from C++
 * (nvcc) as it is.
 * A fatal error prints "clipgrid: [prefix] message" and calls the fatal hook (the runner installs
 * one that names rank and host and calls MPI_Abort) and then exits with status 1. */
#ifndef CLIPGRID_BASE_UTIL_H
#define CLIPGRID_BASE_UTIL_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
#define CG_NORETURN [[noreturn]]
extern "C" {
#else
#define CG_NORETURN _Noreturn
#endif

#if defined(__GNUC__)
#define CG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CG_PRINTF(a, b)
#endif

CG_NORETURN void cg_fatal(const char *fmt, ...) CG_PRINTF(1, 2);
/* prefix such as "rank 3 on node07" for every fatal message; hook runs before exit */
void cg_set_fatal_prefix(const char *prefix);
void cg_set_fatal_hook(void (*hook)(void));

/* Recoverable errors: functions that validate input return non-zero and leave a message here. */
void cg_error_set(const char *fmt, ...) CG_PRINTF(1, 2);
const char *cg_error(void);

void *cg_malloc(size_t n);      /* fatal on failure */
void *cg_calloc(size_t n, size_t size);
void *cg_realloc(void *p, size_t n);
char *cg_strdup(const char *s);

/* Whole file into memory (NUL-terminated). Returns NULL and sets cg_error on failure. */
char *cg_read_file(const char *path, size_t *len);
/* gzip or plain file into memory through zlib. Returns NULL and sets cg_error on failure. */
char *cg_read_gz(const char *path, size_t *len);
/* directory part of a path ("a/b/c.h5" -> "a/b", "c.h5" -> "."); caller frees */
char *cg_dirname(const char *path);
/* join dir and name unless name is absolute; caller frees */
char *cg_path_join(const char *dir, const char *name);

double cg_now(void);  /* monotonic seconds */

#ifdef __cplusplus
}
#endif

#endif
