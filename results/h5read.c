/* results/h5read.c — reading datasets and attributes of foreign HDF5 files (see h5read.h). */
#include "results/h5read.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static char *file_name(hid_t loc) {
    static char buf[1024];
    if (H5Fget_name(loc, buf, sizeof buf) < 0) snprintf(buf, sizeof buf, "(hdf5 file)");
    return buf;
}

hid_t h5r_open(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* our messages instead of HDF5's stack dumps */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) cg_error_set("%s: cannot open as HDF5 (missing or not an HDF5 file)", path);
    return f;
}

void h5r_close(hid_t f) {
    if (f >= 0) H5Fclose(f);
}

int h5r_exists(hid_t loc, const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return 0;
            if (!c) return 1;
            *p = c;
        }
    }
}

static void *read_dataset(hid_t loc, const char *path, H5Shape *shape, hid_t memtype, size_t esz) {
    if (!h5r_exists(loc, path)) {
        cg_error_set("%s: no dataset %s", file_name(loc), path);
        return NULL;
    }
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    H5Shape s = {0};
    s.ndim = H5Sget_simple_extent_ndims(sp);
    if (s.ndim < 0 || s.ndim > H5R_MAXDIM) {
        cg_error_set("%s: dataset %s has rank %d", file_name(loc), path, s.ndim);
        H5Sclose(sp), H5Dclose(d);
        return NULL;
    }
    H5Sget_simple_extent_dims(sp, s.dims, NULL);
    s.n = 1;
    for (int i = 0; i < s.ndim; i++) s.n *= s.dims[i];
    void *buf = cg_malloc(s.n * esz);
    herr_t st = H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Sclose(sp), H5Dclose(d);
    if (st < 0) {
        cg_error_set("%s: cannot read dataset %s as %s", file_name(loc), path,
                     esz == sizeof(float) && memtype == H5T_NATIVE_FLOAT ? "float32" : "integers");
        free(buf);
        return NULL;
    }
    if (shape) *shape = s;
    return buf;
}

float *h5r_read_f32(hid_t loc, const char *path, H5Shape *shape) {
    return read_dataset(loc, path, shape, H5T_NATIVE_FLOAT, sizeof(float));
}

int *h5r_read_int(hid_t loc, const char *path, H5Shape *shape) {
    return read_dataset(loc, path, shape, H5T_NATIVE_INT, sizeof(int));
}

static hid_t open_attr(hid_t loc, const char *obj, const char *name) {
    if (!h5r_exists(loc, obj) && strcmp(obj, "/") != 0) {
        cg_error_set("%s: no object %s", file_name(loc), obj);
        return -1;
    }
    if (H5Aexists_by_name(loc, obj, name, H5P_DEFAULT) <= 0) {
        cg_error_set("%s: %s has no attribute %s", file_name(loc), obj, name);
        return -1;
    }
    return H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
}

/* bounds on a string attribute (far above what any clipgrid or fixture file holds): a damaged
 * dataspace or type must not make the reader allocate without limit */
#define H5R_MAX_STRINGS (1 << 20)
#define H5R_MAX_BYTES (1 << 26)  /* count × length of a fixed-length string attribute */

/* read n strings of attribute a (fixed or variable length) into a new array; NULL with cg_error
 * when the attribute cannot be read */
static char **read_strings(hid_t a, int *n_out) {
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    int vlen = H5Tis_variable_str(ft) > 0;
    if (n < 0 || n > H5R_MAX_STRINGS ||
        (!vlen && (size_t)n * (H5Tget_size(ft) + 1) > H5R_MAX_BYTES)) {
        cg_error_set("string attribute with %lld elements of %zu bytes: damaged or not a string "
                     "list", (long long)n, vlen ? (size_t)0 : H5Tget_size(ft));
        H5Tclose(ft), H5Sclose(sp);
        return NULL;
    }
    char **out = cg_calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    herr_t st = 0;
    if (vlen) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char **tmp = cg_calloc((size_t)n, sizeof(char *));
        st = H5Aread(a, mt, tmp);
        for (hssize_t i = 0; i < n; i++) out[i] = cg_strdup(tmp[i] ? tmp[i] : "");
        if (st >= 0) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
        free(tmp);
        H5Tclose(mt);
    } else {
        size_t len = H5Tget_size(ft);
        char *tmp = cg_calloc((size_t)n, len + 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, len + 1);
        st = H5Aread(a, mt, tmp);
        for (hssize_t i = 0; i < n; i++) out[i] = cg_strdup(tmp + i * (len + 1));
        free(tmp);
        H5Tclose(mt);
    }
    H5Tclose(ft), H5Sclose(sp);
    if (st < 0) {
        cg_error_set("string attribute of %lld elements cannot be read", (long long)n);
        for (hssize_t i = 0; i < n; i++) free(out[i]);
        free(out);
        return NULL;
    }
    *n_out = (int)n;
    return out;
}

char **h5r_attr_strings(hid_t loc, const char *obj, const char *name, int *n) {
    hid_t a = open_attr(loc, obj, name);
    if (a < 0) return NULL;
    hid_t ft = H5Aget_type(a);
    int is_str = H5Tget_class(ft) == H5T_STRING;
    H5Tclose(ft);
    if (!is_str) {
        cg_error_set("%s: attribute %s of %s is not a string", file_name(loc), name, obj);
        H5Aclose(a);
        return NULL;
    }
    char **s = read_strings(a, n);
    H5Aclose(a);
    if (!s) {
        char msg[2048];
        snprintf(msg, sizeof msg, "%s: attribute %s of %s: %s", file_name(loc), name, obj, cg_error());
        cg_error_set("%s", msg);
    }
    return s;
}

void h5r_free_strings(char **s, int n) {
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

char *h5r_attr_string(hid_t loc, const char *obj, const char *name) {
    int n = 0;
    char **s = h5r_attr_strings(loc, obj, name, &n);
    if (!s) return NULL;
    char *one = n > 0 ? s[0] : cg_strdup("");
    for (int i = 1; i < n; i++) free(s[i]);
    free(s);
    return one;
}

int h5r_attr_double(hid_t loc, const char *obj, const char *name, double *v) {
    hid_t a = open_attr(loc, obj, name);
    if (a < 0) return -1;
    hid_t sp = H5Aget_space(a);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    /* one element only: H5Aread writes every element of the attribute */
    herr_t st = n == 1 ? H5Aread(a, H5T_NATIVE_DOUBLE, v) : -1;
    H5Aclose(a);
    if (st < 0)
        cg_error_set("%s: attribute %s of %s is not a number (%lld elements)", file_name(loc), name,
                     obj, (long long)n);
    return st < 0 ? -1 : 0;
}

static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    char ***list = data;
    size_t n = 0;
    while ((*list)[n]) n++;
    *list = cg_realloc(*list, (n + 2) * sizeof(char *));
    (*list)[n] = cg_strdup(name);
    (*list)[n + 1] = NULL;
    return 0;
}

char **h5r_group_members(hid_t loc, const char *path, int *n) {
    char **list = cg_calloc(1, sizeof(char *));
    *n = 0;
    if (!h5r_exists(loc, path) && strcmp(path, "/") != 0) return list;
    hid_t g = H5Gopen2(loc, path, H5P_DEFAULT);
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect, &list);
    H5Gclose(g);
    while (list[*n]) (*n)++;
    return list;
}
