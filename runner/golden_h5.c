/* runner/golden_h5.c — numeric attributes (arrays, h5py booleans), float64 datasets and the
 * float64 digests of large tensors, for `clipgrid golden`. */
#include "runner/golden_h5.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/h5read.h"

int gh5_attr_numbers(hid_t f, const char *obj, const char *name, double *v, int max) {
    if (!h5r_exists(f, obj) && strcmp(obj, "/")) return -1;
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) <= 0) return -1;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Aget_space(a), ty = H5Aget_type(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    int got = -1;
    H5T_class_t cls = H5Tget_class(ty);
    if (n > 0 && n <= max && (cls == H5T_INTEGER || cls == H5T_FLOAT)) {
        if (H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0) got = (int)n;
    } else if (n > 0 && n <= max && cls == H5T_ENUM && H5Tget_size(ty) <= 8) {
        /* h5py stores numpy booleans as an enum over int8 */
        size_t sz = H5Tget_size(ty);
        unsigned char *raw = cg_calloc((size_t)n, 8);
        if (H5Aread(a, ty, raw) >= 0) {
            for (hssize_t i = 0; i < n; i++) {
                int64_t x = 0;
                memcpy(&x, raw + i * sz, sz);
                if (sz == 1) x = (int8_t)x;
                v[i] = (double)x;
            }
            got = (int)n;
        }
        free(raw);
    }
    H5Tclose(ty), H5Sclose(sp), H5Aclose(a);
    return got;
}

double *gh5_read_f64(hid_t f, const char *path, size_t *n) {
    if (!h5r_exists(f, path)) return NULL;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hssize_t cnt = H5Sget_simple_extent_npoints(sp);
    double *buf = cg_malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof(double));
    herr_t st = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Sclose(sp), H5Dclose(d);
    if (st < 0) {
        free(buf);
        return NULL;
    }
    *n = (size_t)cnt;
    return buf;
}

void digest_compute(Digest *d, const float *x, size_t rows, size_t cols) {
    memset(d, 0, sizeof *d);
    d->rows = rows, d->cols = cols;
    d->dim1 = cg_calloc(rows ? rows : 1, sizeof(double));
    d->dim0 = cg_calloc(cols ? cols : 1, sizeof(double));
    double ss = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            double v = x[r * cols + c];
            d->dim1[r] += v, d->dim0[c] += v, d->sum += v, ss += v * v;
            if (fabs(v) > d->max_abs) d->max_abs = fabs(v);
        }
    d->l2 = sqrt(ss);
}

void digest_free(Digest *d) {
    free(d->dim1), free(d->dim0);
    memset(d, 0, sizeof *d);
}
