/* runner/env.h — the environment variables clipgrid reads, all in one place, read once:
 *   CLIPGRID_BACKEND      cpu (default) | cuda | auto      the compute backend of every rank
 *   CLIPGRID_DEVICE       GPU index for a single-process command (default 0; ranks bind by
 *                         local rank, runner/gpu_bind.c)
 *   CLIPGRID_THREADS      CPU threads per rank when --threads is not given
 *   CLIPGRID_GPU_SHARE    1: several ranks may share one GPU
 *   CLIPGRID_VOCAB        the tokenizer vocabulary when --vocab is not given
 *   CLIPGRID_NCCL_TIMEOUT seconds before the NCCL watchdog aborts a stuck collective (600)
 *   CLIPGRID_CLAIM_STALE  seconds after which a run's claim whose heartbeat stopped is taken
 *                         over by another job (600; results/claim.h)
 *   CLIPGRID_NO_FLOCK     1: OUT's lock (gc) behaves as on a file system without flock
 * (CUDA_VISIBLE_DEVICES and the launchers' rank variables are read where they are used: they
 * describe the machine, not clipgrid's settings.) No other file calls getenv for CLIPGRID_*. */
#ifndef CLIPGRID_RUNNER_ENV_H
#define CLIPGRID_RUNNER_ENV_H

typedef struct {
    const char *backend;   /* never NULL: "cpu" when unset */
    int device;            /* −1: unset */
    int threads;           /* 0: unset */
    int gpu_share;
    const char *vocab;     /* NULL: unset */
    double nccl_timeout;   /* seconds */
    double claim_stale;    /* seconds */
    int no_flock;
    char job[48];          /* SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID, else SLURM_JOB_ID, else "-" */
} RunEnv;

const RunEnv *run_env(void);
/* give the claims of results/claim.h this process's Slurm job and the stale bound */
void run_env_configure_claims(void);

#endif
