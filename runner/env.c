/* runner/env.c — the environment variables of runner/env.h, read once. */
#include "runner/env.h"

#include <stdio.h>
#include <stdlib.h>

#include "results/claim.h"

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
    e.claim_stale = (v = str_("CLIPGRID_CLAIM_STALE")) && atof(v) > 0 ? atof(v) : 600.0;
    e.no_flock = (v = str_("CLIPGRID_NO_FLOCK")) && v[0] == '1';
    const char *aj = str_("SLURM_ARRAY_JOB_ID"), *at = str_("SLURM_ARRAY_TASK_ID");
    if (aj && at) snprintf(e.job, sizeof e.job, "%s_%s", aj, at);
    else snprintf(e.job, sizeof e.job, "%s", (v = str_("SLURM_JOB_ID")) ? v : "-");
    done = 1;
    return &e;
}

void run_env_configure_claims(void) {
    const RunEnv *e = run_env();
    claim_configure(e->job, e->claim_stale);
}
