/* results/h5write.h — small writers for clipgrid's own HDF5 files (run files, results.h5):
 * scalar attributes (variable-length UTF-8 strings, int32, int64, float64), 1-D float64
 * datasets, UTF-8-safe copies into fixed-length fields, and the file access properties every
 * clipgrid file is opened with (no HDF5 file locking: files are immutable once renamed into
 * place, and locking fails on some parallel file systems). Each writer returns 0 or −1. */
#ifndef CLIPGRID_RESULTS_H5WRITE_H
#define CLIPGRID_RESULTS_H5WRITE_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

hid_t h5w_fapl(void);  /* file access properties; close with H5Pclose */
/* create a file (truncating) / open read-only, with h5w_fapl; < 0 with cg_error */
hid_t h5w_create(const char *path);
hid_t h5w_open_ro(const char *path);
/* a file built in memory and written to `path` in one piece by h5w_close (created or truncated,
 * not synced): a full or failing disk is then an ordinary write error, 0 or −1 with cg_error
 * naming the path and the system's reason (ENOSPC, EIO, …); checkpoints, run files and
 * results.h5 are written this way */
hid_t h5w_create_mem(const char *path);
int h5w_close(hid_t f, const char *path);

int h5w_attr_str(hid_t obj, const char *name, const char *value);   /* NULL → "" */
int h5w_attr_i32(hid_t obj, const char *name, int32_t value);
int h5w_attr_i64(hid_t obj, const char *name, int64_t value);
int h5w_attr_f64(hid_t obj, const char *name, double value);
/* array of variable-length UTF-8 strings */
int h5w_attr_strs(hid_t obj, const char *name, const char *const *values, int n);
/* 1-D float64 dataset of n values (n may be 0) */
int h5w_dataset_f64(hid_t loc, const char *name, const double *v, size_t n);

/* copy src into dst[cap] (always NUL-terminated), cutting at a UTF-8 character boundary */
void h5w_copy_utf8(char *dst, size_t cap, const char *src);
/* a fixed-length UTF-8 string type of `size` bytes, NUL-terminated and NUL-padded (numpy S dtype) */
hid_t h5w_fixed_str(size_t size);

#endif
