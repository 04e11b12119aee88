/* runner/golden_h5.h — what `clipgrid golden` needs from fixture files beyond results/h5read.h:
 * numeric attributes that may be arrays or booleans (h5py's enum), float64 datasets, and the
 * float64 digests of large tensors (README §5.7) computed from our own values. */
#ifndef CLIPGRID_RUNNER_GOLDEN_H5_H
#define CLIPGRID_RUNNER_GOLDEN_H5_H

#include <hdf5.h>
#include <stddef.h>

/* up to `max` numbers of attribute `name` of `obj` into v; returns the count, −1 when absent */
int gh5_attr_numbers(hid_t f, const char *obj, const char *name, double *v, int max);
/* a float64 dataset (any numeric type converted); NULL when absent; *n receives the count */
double *gh5_read_f64(hid_t f, const char *path, size_t *n);

/* the reductions of README §5.7 of x [rows, cols] (in float64): sum over dim 1 [rows], over
 * dim 0 [cols], sum, l2 norm, max |x| */
typedef struct {
    double *dim1, *dim0, sum, l2, max_abs;
    size_t rows, cols;
} Digest;
void digest_compute(Digest *d, const float *x, size_t rows, size_t cols);
void digest_free(Digest *d);

#endif
