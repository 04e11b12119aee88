/* runner/grid.h — cost estimates of grid cells, their order, and where they run.
 *
 * Cost model (FLOPs of the frozen towers; the learnable parts are negligible):
 *   tower(T)   = layers · (2·T·(4d² + 2·d·mlp) + 4·T²·d)     one pass over T tokens
 *   image      = tower_vis(g² + 1 + extra) + 2·g²·3p²·W       extra = MaPLe/MuDPT n_ctx prompts,
 *                                                             MMRL n_rep_tokens
 *   text       = tower_txt(min(77, 12 + n_ctx))               one class prompt (EOT-truncated)
 *   backward   = 1 × forward (activation gradients only, no weight GEMMs)
 *   train step (B images, C training classes):
 *     coop        B·image + 2·C·text
 *     cocoop      B·image + 2·B·C·text        (one prompt set per image)
 *     maple, mudpt, mmrl   2·B·image + 2·C·text
 *   steps      = epochs · max(1, ⌊n/B⌋), n = shots · C (all training images when shots = 0)
 *   evaluation = Σ over evaluation sets: n_test·image + C_eval·text (cocoop: + n_test·C_eval·text)
 *   seconds    = FLOPs / GRID_FLOPS_PER_SECOND · factor(method) (a nominal rank; `run`
 *                rescales its ETA with the measured ratio of finished runs; the per-method
 *                factors, measured on the demo sweep, are in runner/grid.c)
 * Dataset sizes come from the data folders when they can be read, else from the published split
 * sizes (protocol.md §7). base2new evaluates base (⌈C/2⌉ classes, half the test images) and new;
 * cross_dataset the source and the 10 other datasets; domain_generalization the source and
 * imagenetv2, imagenet_sketch, imagenet_a, imagenet_r.
 *
 * Placement: cells are ordered by cost, largest first (ties: file order). Cells with ranks > 1
 * (clamped to the world size) form classes by rank count, largest first. For a class of r
 * ranks the world is cut into ⌊W/r⌋ fixed slots of consecutive ranks (one MPI_Comm_split per
 * class, made once at start); a slot's first rank takes the class's next cell from a shared
 * counter and broadcasts it to the slot, so slots that finish early do more. Ranks outside every
 * slot of a class (W mod r), and every rank once the class is exhausted, go on to the next class
 * and then to the single-rank cells, taken from their own counter. A rank waits only for its
 * slot's first rank, which never waits for anyone, so a stop (a signal, which every rank gets)
 * cannot leave a group waiting. `plan` simulates this with the estimated costs. */
#ifndef CLIPGRID_RUNNER_GRID_H
#define CLIPGRID_RUNNER_GRID_H

#include "core/model/clip_config.h"
#include "runner/sweep.h"

#define GRID_FLOPS_PER_SECOND 1.0e11

typedef struct {
    char name[32];
    int n_classes, n_train, n_test;
    int from_disk;       /* 1: read from the data folder; 0: published sizes */
} GridDataset;

/* sizes of a dataset: from DATA_ROOT when its folder reads (when data_root != NULL), else the
 * published ones; cached per name for the life of the process */
const GridDataset *grid_dataset(const char *name, const char *data_root);

/* FLOPs of one cell */
double grid_cell_flops(const ClipConfig *cfg, const SweepCell *c, const char *data_root);
/* fill every cell's flops and cost (seconds on one rank) */
void grid_estimate(Sweep *s, const ClipConfig *cfg, const char *data_root);

/* the cells (indices into s->cells, those with todo[i] != 0, or all when todo is NULL) ordered
 * by cost, largest first; returns the count */
int grid_order(const Sweep *s, const unsigned char *todo, int *order);

typedef struct {
    int n_ranks;
    int *first_rank, *n_members;  /* per cell: its (simulated) group; first_rank −1 for
                                     single-rank cells */
    int *cls;                     /* per cell: its class (multi-rank cells; −1 for others) */
    int n_classes, class_ranks[32]; /* the classes' rank counts, largest first */
    int *predicted_rank;          /* per cell: where the simulation puts it (single-rank) */
    double *start, *end;          /* per cell: simulated times (seconds) */
    double makespan;
} GridPlan;

/* the placement of the ordered cells on n_ranks ranks (arrays indexed by cell index) */
void grid_plan(const Sweep *s, const int *order, int n, int n_ranks, GridPlan *p);
void grid_plan_free(GridPlan *p);
/* the class of a cell with `ranks` ranks (−1: a single-rank cell) */
int grid_class_of(const GridPlan *p, int ranks);

/* the weights file's architecture without loading the weights; 0, or −1 with cg_error */
int grid_model_config(const char *weights, ClipConfig *cfg);

#endif
