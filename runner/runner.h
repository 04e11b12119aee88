/* runner/runner.h — what the run, plan and demo commands share inside runner/: the MPI world
 * and node layout, the comm over an MPI communicator, node-shared weights, the scheduler, the
 * stop flag, OUT's lock, progress and small formatting helpers. */
#ifndef CLIPGRID_RUNNER_RUNNER_H
#define CLIPGRID_RUNNER_RUNNER_H

#include <mpi.h>
#include <signal.h>
#include <stddef.h>

#include "core/model/clip_config.h"
#include "core/base/comm.h"
#include "runner/grid.h"
#include "runner/sweep.h"

/* "12.3s", "4m05s", "2h10m", "3.5d" */
const char *cli_duration(double seconds, char *buf, size_t len);
/* "7.23 GFLOP", "1.2 PFLOP" */
const char *cli_flops(double flops, char *buf, size_t len);

/* ---- the world (runner/world.c) ----------------------------------------------------------- */

typedef struct {
    int rank, size;              /* MPI_COMM_WORLD */
    int local_rank, local_size;  /* this node's ranks (MPI_COMM_TYPE_SHARED) */
    MPI_Comm node;
    char host[64];
    int threads;                 /* CPU threads of this rank */
    char device[64];             /* "cpu (N threads)" */
} RunWorld;

/* MPI_Init_thread (alone or under mpirun/srun), the node split, the fatal prefix "rank R on
 * HOST" and a fatal hook that calls MPI_Abort */
void world_init(RunWorld *w, int *argc, char ***argv);
/* the CPU backend: `threads` (> 0), else CLIPGRID_THREADS, else the node's cores split among
 * its local ranks; then, with CLIPGRID_BACKEND=cuda|auto, one GPU per rank (runner/gpu_bind.c).
 * 0, or −1 with cg_error on every rank (cuda asked for and not usable) */
int world_init_backend(RunWorld *w, int threads);
/* rank 0 prints one line per rank: rank, host, pid, local rank, device, CPU threads */
void world_start_table(const RunWorld *w);
void world_finalize(RunWorld *w);
/* every rank gets rank 0's int / bytes */
int world_bcast_int(int v);

/* ---- comm over MPI (runner/comm_mpi.c) ---------------------------------------------------- */

CgComm *comm_mpi_create(MPI_Comm comm);   /* duplicates comm */
void comm_mpi_free(CgComm *c);

/* ---- frozen weights once per node (runner/node_weights.c) --------------------------------- */

typedef struct {
    ClipModel model;
    MPI_Win win;         /* the node's host copy (MPI_WIN_NULL once a GPU copy is made) */
    float *device;       /* a GPU backend: this rank's device copy (NULL on the CPU) */
} NodeWeights;

/* collective over `node`: the node's first rank validates the file and fills an MPI shared
 * window; with the CPU backend every local rank's ClipModel points into it, with a GPU backend
 * each rank uploads its own copy from it. 0, or −1 with cg_error (on every rank) */
int node_weights_load(NodeWeights *nw, const char *path, MPI_Comm node);
void node_weights_free(NodeWeights *nw);

/* ---- stop flag (runner/signals.c) -------------------------------------------------------- */

/* SIGTERM and SIGUSR1 set the flag (Slurm preemption and --signal); a second SIGTERM or SIGINT
 * while stopping ends the process at once */
void signals_install(void);
volatile sig_atomic_t *signals_stop_flag(void);
/* this rank takes no more work (a write error on OUT): as a signal would, but not one */
void signals_stop_rank(void);

/* ---- OUT's lock (runner/lock.c): `gc` only; `run` cooperates through claims ---------------- */

/* flock OUT/.lock (created) and write "host pid" into it; −1 with cg_error naming the holder */
int out_lock(const char *out_dir, int *fd);
void out_unlock(int fd);

/* ---- progress (runner/progress.c) ---------------------------------------------------------- */

typedef struct Progress Progress;
/* rank 0: a thread that prints a line per finished run (from OUT/runs and the run's log) and a
 * progress line with the ETA every `interval` seconds; todo marks the cells of this sweep run */
Progress *progress_start(const char *out_dir, const Sweep *s, const unsigned char *todo,
                         double interval);
/* final lines for runs not yet reported, then the thread ends */
void progress_stop(Progress *p);

/* ---- scheduling (runner/sched.c) ----------------------------------------------------------- */

/* run one cell on this rank, alone (group == MPI_COMM_NULL) or as a member of a group; returns
 * SCHED_DONE when the run ended (done or failed, here or by another job), SCHED_STOPPED when it
 * stopped (checkpointed), SCHED_BUSY when another job on the same OUT holds its claim (the same
 * answer on every rank of the group) */
enum { SCHED_DONE = 0, SCHED_STOPPED = 1, SCHED_BUSY = 2 };
typedef int (*SchedCellFn)(void *ctx, int cell, MPI_Comm group);

/* every rank calls it: the multi-rank cells of `plan` class by class on fixed slots of ranks,
 * then the single-rank cells, each taken largest first from a shared counter (MPI_Fetch_and_op
 * on a window of rank 0) until none is left or the stop flag is set (runner/grid.h has the
 * rules, runner/sched.c the details). A cell another job holds (SCHED_BUSY) is put aside and
 * offered again after the others, until it is finished there or taken over here (its claim
 * went stale) or the stop flag is set. Returns the runs this rank did;
 * *seconds and *takes (may be NULL) get the time spent taking work and how often it was taken. */
int sched_run(const Sweep *s, const int *order, int n, const GridPlan *plan, const RunWorld *w,
              SchedCellFn fn, void *ctx, double *seconds, int *takes);

/* ---- one run (runner/run_cell.c) -------------------------------------------------------------- */

struct Tokenizer;
typedef struct {
    const Sweep *s;
    const char *out;
    const ClipModel *clip;
    const struct Tokenizer *tok;
    const RunWorld *w;
    int loader_threads;
    int finished, failed, stopped;   /* counts on this rank */
    double sched_seconds;            /* spent taking work from the shared counters */
    int sched_takes;
    double book_seconds;             /* per-run bookkeeping outside train_run (data, files) */
    double last_aggregate;           /* world rank 0: when results.h5 was last rebuilt */
    int feature_cache;               /* use OUT/features (runner/feature_cache.h) */
} RunCtx;

/* SchedCellFn: prepare the data, train and evaluate, write the run file (rank 0 of the group),
 * with its log in OUT/logs, its marker in OUT/state and its checkpoint in OUT/ckpt */
int run_cell(void *ctx, int cell, MPI_Comm group);
/* "OUT/<sub>/<name><ext>" for a run id (name = run_file_name without ".h5"); caller frees */
char *run_path(const char *out, const char *sub, const char *id, const char *ext);

/* ---- the run command's body (runner/cmd_run.c) -------------------------------------------- */

typedef struct {
    const char *sweep_path;
    const char *out;         /* NULL: the sweep's output */
    int threads;             /* 0: the sweep's or the node split */
    double progress_interval;
    int retry_failed;        /* rerun the runs recorded as failed */
    int quick;               /* preflight without the stat of every image */
    int verbose;             /* diagnostics: scheduler µs per run, start-up phases */
    int no_feature_cache;    /* compute every run's test features itself */
    /* demo: replace the sweep's model and data paths */
    const char *weights, *data_root;
} RunOptions;

/* the whole `run` on an initialised world; exit status (0 done or stopped, 1 failures or
 * errors, 2 bad sweep file) — identical on every rank */
int run_sweep(RunWorld *w, const RunOptions *o);

#endif
