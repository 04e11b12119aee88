/* runner/shared_training.c — the claim, wait and hand-over of a training shared by runs with one
 * training key, and the safetensors export of learned parameters (shared_training.h). */
#include "runner/shared_training.h"

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
#include "results/claim.h"
#include "runner/provenance.h"

char *shared_path(const char *out, const char *tkey, const char *ext) {
    size_t n = strlen(out) + strlen(tkey) + strlen(ext) + 16;
    char *p = cg_malloc(n);
    snprintf(p, n, "%s/params/%s%s", out, tkey, ext);
    return p;
}

static int exists_(const char *p) { return access(p, F_OK) == 0; }

SharedDecision shared_training_begin(const char *out, const char *tkey,
                                     volatile sig_atomic_t *stop, char *took, size_t took_cap) {
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
        ClaimResult c = claim_try(claim, NULL, took, took_cap);
        if (c == CLAIM_TAKEN) {
            if (exists_(state)) claim_release(claim), d = SHARED_EVALUATE;  /* finished meanwhile */
            else d = SHARED_TRAIN;
            break;
        }
        if (c == CLAIM_ERROR) {  /* cannot claim (a full disk): train it here, unshared */
            fprintf(stderr, "clipgrid: warning: %s\n", cg_error());
            d = SHARED_TRAIN;
            break;
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
    claim_release(claim);
    free(state);
    free(claim);
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
