/* runner/shared_training.c — the claim, wait and hand-over of a training shared by runs with one
 * training key, and the safetensors export of learned parameters (shared_training.h). */
#include "runner/shared_training.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/model/safetensors.h"
#include "base/util.h"
#include "runner/provenance.h"

char *shared_path(const char *out, const char *tkey, const char *ext) {
    size_t n = strlen(out) + strlen(tkey) + strlen(ext) + 16;
    char *p = cg_malloc(n);
    snprintf(p, n, "%s/params/%s%s", out, tkey, ext);
    return p;
}

static int exists_(const char *p) { return access(p, F_OK) == 0; }

/* 1 when the claim names a dead process of this host */
static int claim_dead_(const char *claim) {
    FILE *f = fopen(claim, "r");
    if (!f) return 0;
    char h[64] = "", me[64] = "";
    long pid = 0;
    int n = fscanf(f, "host %63s pid %ld", h, &pid);
    fclose(f);
    gethostname(me, sizeof me - 1);
    return n == 2 && !strcmp(h, me) && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

SharedDecision shared_training_begin(const char *out, const char *tkey,
                                     volatile sig_atomic_t *stop) {
    char *dir = cg_path_join(out, "params");
    mkdir(dir, 0755);
    free(dir);
    char *state = shared_path(out, tkey, ".h5"), *claim = shared_path(out, tkey, ".claim");
    SharedDecision d = SHARED_TRAIN;
    for (;;) {
        if (exists_(state)) {
            d = SHARED_EVALUATE;
            break;
        }
        int fd = open(claim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char host[64] = "?", line[128];
            gethostname(host, sizeof host - 1);
            int len = snprintf(line, sizeof line, "host %s pid %ld\n", host, (long)getpid());
            if (write(fd, line, (size_t)len) != len) { /* an empty claim still claims */ }
            close(fd);
            if (exists_(state)) unlink(claim), d = SHARED_EVALUATE;  /* finished meanwhile */
            else d = SHARED_TRAIN;
            break;
        }
        if (claim_dead_(claim)) {
            unlink(claim);
            continue;
        }
        if (stop && *stop) {
            d = SHARED_STOPPED;
            break;
        }
        usleep(200000);  /* another process trains it: wait for its state */
    }
    free(state);
    free(claim);
    return d;
}

void shared_training_end(const char *out, const char *tkey, const char *final_ckpt, int keep) {
    char *state = shared_path(out, tkey, ".h5"), *claim = shared_path(out, tkey, ".claim");
    if (keep && final_ckpt && exists_(final_ckpt)) rename(final_ckpt, state);
    unlink(claim);
    free(state);
    free(claim);
}

void shared_training_reset(const char *out) {
    char *dir = cg_path_join(out, "params");
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l > 6 && !strcmp(e->d_name + l - 6, ".claim")) {
            char *p = cg_path_join(dir, e->d_name);
            unlink(p);
            free(p);
        }
    }
    if (d) closedir(d);
    free(dir);
}

int shared_params_write(const char *out, const char *tkey, const char *method,
                        const ParamBlock *layout, const float *values) {
    char *path = shared_path(out, tkey, ".safetensors");
    StWriter *w = st_writer_new();
    int rc = 0;
    for (int i = 0; i < layout->count && !rc; i++) {
        const ParamTensor *t = &layout->t[i];
        int64_t shape[4];
        for (int k = 0; k < t->ndim; k++) shape[k] = t->shape[k];
        rc = st_writer_add(w, t->name, ST_F32, t->ndim, shape, values + t->offset);
    }
    st_writer_set_metadata(w, "clipgrid_training_key", tkey);
    st_writer_set_metadata(w, "method", method);
    st_writer_set_metadata(w, "clipgrid_version", clipgrid_version());
    if (!rc) rc = st_writer_write(w, path);
    st_writer_free(w);
    free(path);
    return rc;
}
