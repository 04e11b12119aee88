/* results/run_file.h — the HDF5 record of one run and the aggregate of all runs
 * (design.md §6; the contract is results/SCHEMA.md):
 *   OUT/runs/<id>.h5      one run, written to OUT/runs/.<id>.h5.tmp and renamed when complete:
 *                         a run is finished exactly when this file exists (status done or
 *                         failed; a failed run holds its error text)
 *   OUT/results.h5        every run file's content in one group per run plus an /index table
 *                         (one row per run), rebuilt from OUT/runs/ by results_aggregate
 *   OUT/grid.json         the sweep's cells as `run`/`plan` resolved them (written by the
 *                         runner before the first run) — `status` counts pending cells from it */
#ifndef CLIPGRID_RESULTS_RUN_FILE_H
#define CLIPGRID_RESULTS_RUN_FILE_H

#include "core/train.h"

typedef struct {
    char id[160];         /* e.g. "base2new/coop/oxford_pets/shots16/seed1" with '/' → '_' on disk */
    char sweep[64];       /* sweep name */
    char setting[32], dataset[32], method[16];
    int seed, shots;
    char host[64];
    int ranks;            /* ranks of the run's group */
    char device[64];      /* "cpu (8 threads)", "NVIDIA H100 …" */
    char *config_json;    /* the resolved MethodConfig and run options as JSON text */
    double start_time, end_time; /* seconds since the epoch */
    double cost_estimate; /* the planner's estimate (seconds) */
} RunMeta;

/* the on-disk file name of a run id (no directory); caller frees */
char *run_file_name(const char *id);
/* write OUT/runs/<id>.h5 atomically; 0, or −1 with cg_error */
int run_file_write(const char *out_dir, const RunMeta *meta, const TrainResult *res);
/* 1 when OUT/runs/<id>.h5 exists (done or failed), 0 otherwise; *failed set for failed runs */
int run_file_exists(const char *out_dir, const char *id, int *failed);
/* rebuild OUT/results.h5 (via a temporary name and rename) from OUT/runs/*.h5 */
int results_aggregate(const char *out_dir);

#endif
