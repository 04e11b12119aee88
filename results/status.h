/* results/status.h — where a sweep stands (`clipgrid status`): done and failed runs from
 * OUT/runs (or results.h5's /index when runs/ is absent), running ones from OUT/state markers
 * whose claims (OUT/claims, results/claim.h) are live (stale ones flagged, whatever host asks),
 * pending ones from OUT/grid.json, and the time left: the planner's estimates of what is not
 * done, rescaled by the measured ratio (Σ wall time / Σ estimate) of the finished runs. */
#ifndef CLIPGRID_RESULTS_STATUS_H
#define CLIPGRID_RESULTS_STATUS_H

#include <stdio.h>

#include "results/run_file.h"
#include "results/run_state.h"

typedef struct {
    char out_dir[1024];
    char sweep[64];
    int have_grid;           /* a grid was read */
    int n_grid;              /* its cells (of every selected sweep) */
    int n_sweeps;            /* sweeps selected (--all: every sweep of OUT) */
    int n_keys;              /* distinct run keys of the grid (cells sharing a run count once) */
    int n_other;             /* run files of OUT outside the selected grid (stale, other sweeps) */
    /* cells of the grid by state (a cell whose run is shared counts with that run's state) */
    int n_done, n_failed, n_running, n_stale, n_pending;
    int n_pending_shared;    /* pending cells whose run is an earlier pending cell's */
    int n_markers;           /* entries of running (live and stale) */
    int n_finished;          /* rows in finished */
    RunIndexRow *finished;   /* [n_finished] the runs of the grid's keys, from runs/ (or /index) */
    RunningMarker *running;  /* [n_markers], stale ones flagged */
    GridCell **pending;      /* [n_pending] pointers into grid */
    GridFile grid;
    /* the jobs running here: distinct holders of live claims ("host (job J)" or "host pid P") */
    int n_jobs;
    char jobs[512];
    /* time */
    double measured, estimated; /* Σ wall and Σ estimate of finished runs with an estimate */
    double scale;            /* measured / estimated, 1 when nothing finished */
    double left_rank_seconds;/* pending + the rest of running runs, rescaled */
    int busy_ranks;          /* ranks of live running runs */
} SweepStatus;

/* the rank seconds a running run still needs: its estimate × scale (the calibration of the
 * finished runs) for the epochs it has not done, never less than its own pace projects (elapsed
 * × left/done epochs) and, while it runs, never 0 (a run past its estimate keeps a tenth of it:
 * the ETA does not freeze at 0). `status` and `run`'s progress line both use it. */
double status_running_rest(const RunningMarker *m, double scale, double now);

/* out: the OUT folder or OUT/results.h5; sweep: NULL (the last `run`'s) or a name; all: every
 * sweep. 0, or −1 with cg_error (also when `out` is not an output folder) */
int sweep_status_collect(const char *out, const char *sweep, int all, SweepStatus *st);
void sweep_status_print(FILE *f, const SweepStatus *st, int verbose);
void sweep_status_free(SweepStatus *st);

#endif
