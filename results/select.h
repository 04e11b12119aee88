/* results/select.h — which results belong to a sweep of OUT (issue 12): the run files are named
 * by run key, and a sweep's grid (OUT/sweeps/<name>/grid.json, written by `run`) maps each of its
 * cells to a key. Selecting a sweep turns the results index into one row per cell of that grid
 * whose key has a run (several cells may share one run, e.g. zero-shot CLIP across seeds and
 * shots), with the cell's id, seed, shots and variant; runs no grid refers to (stale results
 * of an earlier grid, other sweeps) are left out.
 *   default   the sweep of the last `run` (OUT/grid.json)
 *   sweep     a sweep by name (OUT/sweeps/<name>/grid.json)
 *   all       every sweep of OUT; when there are several, a row's variant gets the sweep's name
 *             ("<sweep>" or "<variant>,<sweep>") so the sweeps' rows stay apart in tables
 * An OUT without any grid (a results.h5 alone) is left as it is. */
#ifndef CLIPGRID_RESULTS_SELECT_H
#define CLIPGRID_RESULTS_SELECT_H

#include "results/run_file.h"
#include "results/run_state.h"

/* the grids to use: 0 with the grids and their count filled (n may be 0: no grid in OUT), or −1 with cg_error
 * (an unknown sweep name, naming the sweeps OUT has) */
int results_sweep_grids(const char *out_dir, const char *sweep, int all, GridFile **grids,
                        int *n);
void results_sweep_grids_free(GridFile *grids, int n);
/* the names of the sweeps OUT holds, comma-separated, into buf */
void results_sweep_names(const char *out_dir, char *buf, size_t cap);
/* results_index_read of results_h5, then the rows of a sweep of its folder (sweep NULL: the last
 * `run`'s; all: every sweep); 0, or −1 with cg_error. What table, plot, export and report read */
int results_index_read_sweep(const char *results_h5, const char *sweep, int all, ResultsIndex *ix);
/* replace *ix by the rows of the grids' cells (see above); 0, or −1 with cg_error */
int results_select(ResultsIndex *ix, const GridFile *grids, int n);

#endif
