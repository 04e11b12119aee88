/* results/run_state.h — what a sweep in progress leaves in OUT besides the run files, so that
 * `clipgrid status` can tell pending from running (design.md §6, SCHEMA.md "OUT/grid.json" and
 * "OUT/state/"):
 *   OUT/grid.json                 the sweep's cells (written once by the runner, rank 0, before
 *                                 the first run; rewritten when the same OUT is run again)
 *   OUT/state/<name>.running      one JSON marker per running run (<name> = run_file_name(id)
 *                                 without ".h5"), written by rank 0 of the run's group when the
 *                                 run starts and after each epoch, removed when the run ends
 *                                 (after run_file_write) or stops (SIGTERM: checkpoint, then
 *                                 run_state_clear);
 *   OUT/claims/<key>.claim        the run's claim (results/claim.h): made before its marker,
 *                                 released after it, kept alive by its job's heartbeat.
 * Every write goes to a temporary name and is renamed into place. A marker is live while its
 * run's claim is live; one whose claim is gone, stale (heartbeat older than the bound, whatever
 * host asks) or held by a dead process of this host is stale: a killed job's run, taken over
 * by the next job that reaches it. run_state_prune removes stale markers (any job may call it:
 * live markers of other jobs stay). */
#ifndef CLIPGRID_RESULTS_RUN_STATE_H
#define CLIPGRID_RESULTS_RUN_STATE_H

#include <stddef.h>

typedef struct {
    char id[160];
    char setting[32], dataset[32], method[16], variant[48];
    int seed, shots;
    int ranks;              /* ranks of the run's group */
    double cost_estimate;   /* the planner's estimate, seconds */
    char key[24];           /* the run key (runner/run_key.h): the run file is runs/<key>.h5;
                               "" in grid files of older versions (then runs/<id name>.h5) */
    char tkey[24];          /* the training key (checkpoints, params/): "" for zero-shot */
} GridCell;

typedef struct {
    char sweep[64];
    int n;
    GridCell *cells;
} GridFile;

/* write OUT/grid.json atomically; 0, or −1 with cg_error */
int grid_file_write(const char *out_dir, const char *sweep, const GridCell *cells, int n);
/* 0 read, 1 no grid.json in OUT, −1 bad file (cg_error names it and what is wrong) */
int grid_file_read(const char *out_dir, GridFile *g);
void grid_file_free(GridFile *g);

typedef struct {
    char id[160];
    char key[24];           /* the run key ("" from older versions) */
    char host[64];          /* "" → gethostname() on write */
    long pid;               /* 0 → getpid() on write */
    int rank;               /* world rank of the group's first rank */
    int ranks;              /* ranks in the run's group */
    char device[64];
    double start_time;      /* seconds since the epoch; 0 → now on first write */
    double update_time;     /* set to now by every write */
    int epoch, epochs;      /* epochs finished so far, of epochs (0 of 0 for zero-shot) */
    double cost_estimate;   /* the planner's estimate, seconds */
    int stale;              /* set by run_state_list: the run's claim is gone or stale */
    char job[48];           /* set by run_state_list from the claim: its Slurm job, "-" */
    double heartbeat_age;   /* set by run_state_list: seconds since the claim's heartbeat */
    int dead;               /* set by run_state_list: its holder is a dead process of this host */
} RunningMarker;

/* "OUT/claims/<key>.claim", the claim of run `key`; caller frees */
char *run_claim_path(const char *out_dir, const char *key);

/* create or update OUT/state/<name>.running (fills host, pid, start_time, update_time in *m) */
int run_state_write(const char *out_dir, RunningMarker *m);
/* remove the marker of run `id` (absent is fine); 0, or −1 with cg_error */
int run_state_clear(const char *out_dir, const char *id);
/* remove the stale markers, and temporary files of marker writes older than an hour; live
 * markers of other jobs stay. 0, or −1 with cg_error */
int run_state_prune(const char *out_dir);
/* every readable marker, sorted by id; unreadable ones are skipped with a warning on stderr;
 * 0, or −1 with cg_error; free *out with free() */
int run_state_list(const char *out_dir, RunningMarker **out, int *n);

#endif
