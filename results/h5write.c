/* results/h5write.c — attribute and dataset writers for clipgrid's HDF5 files (see h5write.h). */
#include "results/h5write.h"

#include <string.h>

#include "base/util.h"

hid_t h5w_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    return fapl;
}

hid_t h5w_create(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = h5w_fapl();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) cg_error_set("%s: cannot create HDF5 file", path);
    return f;
}

hid_t h5w_open_ro(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = h5w_fapl();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0) cg_error_set("%s: cannot open as HDF5 (missing or not an HDF5 file)", path);
    return f;
}

static hid_t vlen_utf8(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* write one scalar or 1-D attribute of type t from buf */
static int write_attr(hid_t obj, const char *name, hid_t t, hsize_t n, int scalar, const void *buf) {
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = a < 0 ? -1 : H5Awrite(a, t, buf);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    if (st < 0) cg_error_set("cannot write HDF5 attribute %s", name);
    return st < 0 ? -1 : 0;
}

int h5w_attr_str(hid_t obj, const char *name, const char *value) {
    const char *v = value ? value : "";
    hid_t t = vlen_utf8();
    int rc = write_attr(obj, name, t, 1, 1, &v);
    H5Tclose(t);
    return rc;
}

int h5w_attr_strs(hid_t obj, const char *name, const char *const *values, int n) {
    hid_t t = vlen_utf8();
    int rc = write_attr(obj, name, t, (hsize_t)n, 0, values);
    H5Tclose(t);
    return rc;
}

int h5w_attr_i32(hid_t obj, const char *name, int32_t value) {
    return write_attr(obj, name, H5T_NATIVE_INT32, 1, 1, &value);
}

int h5w_attr_i64(hid_t obj, const char *name, int64_t value) {
    return write_attr(obj, name, H5T_NATIVE_INT64, 1, 1, &value);
}

int h5w_attr_f64(hid_t obj, const char *name, double value) {
    return write_attr(obj, name, H5T_NATIVE_DOUBLE, 1, 1, &value);
}

int h5w_dataset_f64(hid_t loc, const char *name, const double *v, size_t n) {
    hsize_t dims = n;
    hid_t sp = H5Screate_simple(1, &dims, NULL);
    hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = d < 0 ? -1 : (n ? H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : 0);
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    if (st < 0) cg_error_set("cannot write HDF5 dataset %s", name);
    return st < 0 ? -1 : 0;
}

void h5w_copy_utf8(char *dst, size_t cap, const char *src) {
    if (!cap) return;
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) {
        n = cap - 1;
        /* step back over continuation bytes (10xxxxxx) and the lead byte they belong to */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;
    }
    if (n) memcpy(dst, src, n);
    dst[n] = 0;
}

hid_t h5w_fixed_str(size_t size) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}
