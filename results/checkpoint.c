/* results/checkpoint.c — atomic HDF5 checkpoints of a TrainState (see checkpoint.h). */
#include "results/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "results/h5write.h"

#define CKPT_FORMAT "clipgrid checkpoint"
#define CKPT_VERSION 1
/* the most elements a checkpoint array may hold (1 GiB of float32): far above any learnable
 * block, and a bound on what a damaged dataspace can make the reader allocate */
#define CKPT_MAX_ELEMS (1LL << 28)

static int write_f32(hid_t f, const char *name, const float *v, size_t n) {
    hsize_t dims[1] = {n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = d < 0 ? -1 : (n ? H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : 0);
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    return st < 0 ? -1 : 0;
}

static int write_all(hid_t f, const TrainState *st) {
    int rc = 0, n = st->n_epochs_done;
    rc |= h5w_attr_str(f, "format", CKPT_FORMAT);
    rc |= h5w_attr_i32(f, "version", CKPT_VERSION);
    rc |= h5w_attr_i32(f, "epoch", st->epoch);
    rc |= h5w_attr_i32(f, "step", st->step);
    rc |= h5w_attr_i64(f, "opt_steps", st->opt_steps);
    rc |= h5w_attr_f64(f, "epoch_loss_sum", st->epoch_loss_sum);
    rc |= h5w_attr_i64(f, "epoch_correct", st->epoch_correct);
    rc |= h5w_attr_i64(f, "epoch_seen", st->epoch_seen);
    rc |= h5w_attr_i32(f, "n_epochs_done", n);
    rc |= write_f32(f, "params", st->params, st->n_params);
    rc |= write_f32(f, "opt", st->opt, st->n_opt);
    rc |= h5w_dataset_f64(f, "loss_curve", st->loss_curve, (size_t)n);
    rc |= h5w_dataset_f64(f, "acc_curve", st->acc_curve, (size_t)n);
    rc |= h5w_dataset_f64(f, "lr_curve", st->lr_curve, (size_t)n);
    rc |= h5w_dataset_f64(f, "time_curve", st->time_curve, (size_t)n);
    return rc ? -1 : 0;
}

int checkpoint_save(const char *path, const TrainState *st) {
    size_t len = strlen(path) + 16;
    char *tmp = cg_malloc(len);
    snprintf(tmp, len, "%s.tmp", path);
    errno = 0; /* the system's reason for a failed write below (ENOSPC, EIO, …), not an older one */
    hid_t f = h5w_create_mem(tmp);
    if (f < 0) {
        free(tmp);
        return -1;
    }
    int rc = write_all(f, st);
    if (h5w_close(f, tmp) != 0) rc = -1;
    if (rc == 0) {
        int fd = open(tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) rc = -1;
        if (fd >= 0) close(fd);
    }
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    if (rc != 0) {
        cg_error_set("%s: cannot write the checkpoint (%s)", path, errno ? strerror(errno) : "HDF5 error");
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* the number of elements of attribute a (−1 when its dataspace cannot be read) */
static hssize_t attr_npoints(hid_t a) {
    hid_t sp = H5Aget_space(a);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    return n;
}

/* one value: an attribute of any other element count would be read past v */
static int read_attr(hid_t f, const char *name, hid_t type, void *v) {
    if (H5Aexists(f, name) <= 0) return -1;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a < 0) return -1;
    herr_t st = attr_npoints(a) == 1 ? H5Aread(a, type, v) : -1;
    H5Aclose(a);
    return st < 0 ? -1 : 0;
}

/* whether dataset d is stored as checkpoint_save writes it: contiguous, IEEE floats of esz bytes,
 * cnt of them in the file. Anything else is a damaged or foreign file, refused before libhdf5's
 * read path (which trusts a damaged compact or contiguous layout's sizes) is entered. */
static int stored_as_written(hid_t d, size_t esz, hssize_t cnt) {
    hid_t pl = H5Dget_create_plist(d), ft = H5Dget_type(d);
    int ok = pl >= 0 && ft >= 0 && H5Pget_layout(pl) == H5D_CONTIGUOUS &&
             H5Tget_class(ft) == H5T_FLOAT && H5Tget_size(ft) == esz;
    if (ok && cnt > 0) ok = H5Dget_storage_size(d) == (hsize_t)cnt * esz;
    if (pl >= 0) H5Pclose(pl);
    if (ft >= 0) H5Tclose(ft);
    return ok;
}

/* 1-D dataset of `type` into a new buffer of esz-byte elements; *n its length. NULL when the
 * dataset is absent, cannot be opened (a damaged object header: its element count would be −1),
 * holds more than CKPT_MAX_ELEMS elements, is not stored as checkpoint_save stores it, or cannot
 * be read as `type`. */
static void *read_1d(hid_t f, const char *name, hid_t type, size_t esz, size_t *n) {
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return NULL;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return NULL;
    hid_t sp = H5Dget_space(d);
    hssize_t cnt = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (cnt < 0 || cnt > CKPT_MAX_ELEMS || !stored_as_written(d, esz, cnt)) {
        if (sp >= 0) H5Sclose(sp);
        H5Dclose(d);
        return NULL;
    }
    void *buf = cg_malloc((size_t)(cnt > 0 ? cnt : 1) * esz);
    herr_t st = cnt > 0 ? H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : 0;
    H5Sclose(sp), H5Dclose(d);
    if (st < 0) return free(buf), NULL;
    *n = (size_t)cnt;
    return buf;
}

static int read_all(hid_t f, TrainState *st, const char *path) {
    int32_t version = 0, epoch, step, nd;
    int64_t opt_steps, corr, seen;
    char *fmt = NULL;
    hid_t a = H5Aexists(f, "format") > 0 ? H5Aopen(f, "format", H5P_DEFAULT) : -1;
    if (a >= 0) {
        hid_t ty = H5Aget_type(a);
        if (H5Tis_variable_str(ty) > 0 && attr_npoints(a) == 1 && H5Aread(a, ty, &fmt) < 0)
            fmt = NULL;
        H5Tclose(ty), H5Aclose(a);
    }
    int ok = fmt && !strcmp(fmt, CKPT_FORMAT);
    if (fmt) H5free_memory(fmt);
    if (!ok || read_attr(f, "version", H5T_NATIVE_INT32, &version) || version != CKPT_VERSION)
        return cg_error_set("%s: not a clipgrid checkpoint (version %d)", path, (int)CKPT_VERSION), -1;
    if (read_attr(f, "epoch", H5T_NATIVE_INT32, &epoch) || read_attr(f, "step", H5T_NATIVE_INT32, &step) ||
        read_attr(f, "opt_steps", H5T_NATIVE_INT64, &opt_steps) ||
        read_attr(f, "epoch_loss_sum", H5T_NATIVE_DOUBLE, &st->epoch_loss_sum) ||
        read_attr(f, "epoch_correct", H5T_NATIVE_INT64, &corr) ||
        read_attr(f, "epoch_seen", H5T_NATIVE_INT64, &seen) ||
        read_attr(f, "n_epochs_done", H5T_NATIVE_INT32, &nd))
        return cg_error_set("%s: a checkpoint attribute is missing or unreadable", path), -1;
    st->epoch = epoch, st->step = step, st->opt_steps = opt_steps;
    st->epoch_correct = corr, st->epoch_seen = seen, st->n_epochs_done = nd;
    st->params = read_1d(f, "params", H5T_NATIVE_FLOAT, sizeof(float), &st->n_params);
    st->opt = read_1d(f, "opt", H5T_NATIVE_FLOAT, sizeof(float), &st->n_opt);
    double **curves[] = {&st->loss_curve, &st->acc_curve, &st->lr_curve, &st->time_curve};
    static const char *const names[] = {"loss_curve", "acc_curve", "lr_curve", "time_curve"};
    int bad = !st->params || !st->opt || nd < 0 || epoch < 0 || step < 0;
    for (int i = 0; i < 4; i++) {
        size_t n = 0;
        *curves[i] = read_1d(f, names[i], H5T_NATIVE_DOUBLE, sizeof(double), &n);
        bad |= !*curves[i] || n != (size_t)nd;
    }
    if (bad) return cg_error_set("%s: a checkpoint dataset is missing or has the wrong size", path), -1;
    return 0;
}

int checkpoint_load(const char *path, TrainState *st) {
    memset(st, 0, sizeof *st);
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;
    hid_t f = h5w_open_ro(path);
    if (f < 0) return cg_error_set("%s: cannot open the checkpoint as HDF5", path), -1;
    int rc = read_all(f, st, path);
    H5Fclose(f);
    if (rc != 0) {
        train_state_free(st);
        return -1;
    }
    return 1;
}

int checkpoint_save_cb(void *ctx, const TrainState *st) {
    const CheckpointTarget *t = ctx;
    return t->writer ? checkpoint_save(t->path, st) : 0;
}

int checkpoint_load_cb(void *ctx, TrainState *st) {
    const CheckpointTarget *t = ctx;
    return checkpoint_load(t->path, st);
}
