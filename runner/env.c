/* runner/env.c — the environment variables of runner/env.h, read once. */
#include "runner/env.h"

#include <stdlib.h>

static const char *str_(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

const RunEnv *run_env(void) {
    static RunEnv e;
    static int done;
    if (done) return &e;
    const char *v;
    e.backend = (v = str_("CLIPGRID_BACKEND")) ? v : "cpu";
    e.device = (v = str_("CLIPGRID_DEVICE")) ? atoi(v) : -1;
    e.threads = (v = str_("CLIPGRID_THREADS")) ? atoi(v) : 0;
    e.gpu_share = (v = str_("CLIPGRID_GPU_SHARE")) ? atoi(v) > 0 : 0;
    e.vocab = str_("CLIPGRID_VOCAB");
    e.nccl_timeout = (v = str_("CLIPGRID_NCCL_TIMEOUT")) && atof(v) > 0 ? atof(v) : 600.0;
    done = 1;
    return &e;
}
