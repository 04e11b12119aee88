/* results/h5write.c — attribute and dataset writers for clipgrid's HDF5 files (see h5write.h). */
#include "results/h5write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

hid_t h5w_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    return fapl;
}

hid_t h5w_create(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = h5w_fapl();
    errno = 0;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    int err = errno; /* the system's reason (ENOSPC, EIO, EACCES, …) when there is one */
    H5Pclose(fapl);
    if (f < 0) cg_error_set("%s: cannot create HDF5 file%s%s%s", path, err ? " (" : "",
                            err ? strerror(err) : "", err ? ")" : "");
    return f;
}

/* The file is built in memory (HDF5's core driver, no backing store) and written to its path in
 * one piece by h5w_close. A full or failing disk then fails a plain write(), which is reported
 * with its path and errno, instead of failing inside HDF5: HDF5 1.10 keeps a file whose flush
 * failed half-open and crashes when the library shuts down (at MPI_Finalize). */
hid_t h5w_create_mem(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = h5w_fapl();
    H5Pset_fapl_core(fapl, (size_t)1 << 20, 0);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) cg_error_set("%s: cannot create HDF5 file (in memory)", path);
    return f;
}

/* write n bytes to path (created or truncated); 0, or −1 with cg_error naming path and errno */
static int write_bytes_(const char *path, const char *buf, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) return cg_error_set("%s: cannot create (%s)", path, strerror(errno)), -1;
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            close(fd);
            return cg_error_set("%s: cannot write (%s)", path, strerror(err)), -1;
        }
        done += (size_t)w;
    }
    if (close(fd) != 0) return cg_error_set("%s: cannot write (%s)", path, strerror(errno)), -1;
    return 0;
}

int h5w_close(hid_t f, const char *path) {
    ssize_t n = H5Fflush(f, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(f, NULL, 0);
    char *image = n > 0 ? malloc((size_t)n) : NULL;
    int rc = image && H5Fget_file_image(f, image, (size_t)n) == n ? 0 : -1;
    if (H5Fclose(f) < 0) rc = -1;
    if (rc) cg_error_set("%s: cannot make the HDF5 file's image", path);
    else rc = write_bytes_(path, image, (size_t)n);
    free(image);
    return rc;
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
