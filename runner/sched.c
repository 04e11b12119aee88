/* runner/sched.c — the grid over MPI ranks without a master that only hands out work
 * (placement rules in runner/grid.h):
 *   - one window on rank 0 holds a counter per class of multi-rank cells and one for the
 *     single-rank cells; work is taken with MPI_Fetch_and_op under a passive lock_all epoch, so
 *     the ranks that finish first take more and rank 0 computes like every other rank;
 *   - multi-rank cells: for each class (rank count r, largest first) the world is cut once, at
 *     start, into ⌊W/r⌋ slots of r consecutive ranks (MPI_Comm_split); the slot's first rank
 *     takes the class's next cell (or −1 when none is left or it is stopping) and broadcasts it
 *     to the slot, whose ranks run it together;
 *   - then every rank takes single-rank cells until none is left or the stop flag is set.
 * Across jobs on one OUT (separate `run` processes, Slurm array tasks) the runs' claims decide:
 * a cell whose claim another live job holds (SCHED_BUSY) is put aside and offered again, pass
 * after pass with a pause between, once the counter is exhausted, until it is finished (there
 * or here, after a takeover of its stale claim) or the stop flag is set.
 * A rank only ever waits for its slot's first rank, which never waits for another group, so
 * stopping (every rank gets the signal; the run loop agrees on it within a group) cannot leave
 * a group waiting. Which rank runs a cell never changes its result (seeds come from the cell). */
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"
#include "results/claim.h"
#include "runner/runner.h"

typedef struct {
    MPI_Win win;
    double seconds;
    int takes;
} Counter;

/* the next index of counter `slot` */
static long take_(Counter *c, int slot) {
    long one = 1, next;
    double t = cg_now();
    MPI_Fetch_and_op(&one, &next, MPI_LONG, 0, slot, MPI_SUM, c->win);
    MPI_Win_flush(0, c->win);
    c->seconds += cg_now() - t, c->takes++;
    return next;
}

/* this rank's slot communicator of each class (MPI_COMM_NULL outside every slot) */
static void slots_(const GridPlan *p, const RunWorld *w, MPI_Comm *slot) {
    for (int c = 0; c < p->n_classes; c++) {
        int r = p->class_ranks[c], k = w->rank / r;
        int in = k < w->size / r;
        MPI_Comm_split(MPI_COMM_WORLD, in ? k : MPI_UNDEFINED, w->rank, &slot[c]);
    }
}

/* the cells of class c (cls −1: single-rank) in cost order */
static int cells_of_(const int *order, int n, const GridPlan *p, int c, int *out) {
    int m = 0;
    for (int k = 0; k < n; k++)
        if (p->cls[order[k]] == c) out[m++] = order[k];
    return m;
}

/* the cells another job held, to offer again */
typedef struct {
    int *cell;
    int n;
} Aside;

/* a pause between passes over the cells put aside, cut short by the stop flag */
static void pause_(volatile sig_atomic_t *stop) {
    double p = claim_stale_seconds() / 10;
    p = p < 0.2 ? 0.2 : p > 5 ? 5 : p;
    for (double t = 0; t < p && !*stop; t += 0.05) usleep(50000);
}

/* offer the cells put aside again until none is left; every rank of `slot` (MPI_COMM_NULL: this
 * rank alone) calls it with the same list. Returns 1 when stopped */
static int offer_again_(Aside *a, MPI_Comm slot, SchedCellFn fn, void *ctx, int *done) {
    volatile sig_atomic_t *stop = signals_stop_flag();
    int me = 0;
    if (slot != MPI_COMM_NULL) MPI_Comm_rank(slot, &me);
    while (a->n > 0) {
        pause_(stop);
        int go = me == 0 && !*stop;
        if (slot != MPI_COMM_NULL) MPI_Bcast(&go, 1, MPI_INT, 0, slot);
        if (!go) return 1;
        int k = 0;
        for (int i = 0; i < a->n; i++) {
            int r = fn(ctx, a->cell[i], slot);
            if (r == SCHED_STOPPED) return 1;
            if (r == SCHED_BUSY) a->cell[k++] = a->cell[i];
            else (*done)++;
        }
        a->n = k;
    }
    return 0;
}

/* one class on this rank's slot; returns 1 when the slot stopped */
static int class_(Counter *ctr, int c, MPI_Comm slot, const int *cells, int m, SchedCellFn fn,
                  void *ctx, int *done) {
    volatile sig_atomic_t *stop = signals_stop_flag();
    int me;
    MPI_Comm_rank(slot, &me);
    Aside a = {cg_malloc((size_t)(m ? m : 1) * sizeof(int)), 0};
    int stopped = 0;
    for (;;) {
        long next = -1;  /* −1 none left, −2 stopping */
        if (me == 0) {
            next = *stop ? -2 : take_(ctr, c);
            if (next >= m) next = -1;
        }
        MPI_Bcast(&next, 1, MPI_LONG, 0, slot);
        if (next < 0) {
            stopped = next == -2;
            break;
        }
        int r = fn(ctx, cells[next], slot);
        if (r == SCHED_STOPPED) { stopped = 1; break; }
        if (r == SCHED_BUSY) a.cell[a.n++] = cells[next];
        else (*done)++;
    }
    if (!stopped) stopped = offer_again_(&a, slot, fn, ctx, done);
    free(a.cell);
    return stopped;
}

int sched_run(const Sweep *s, const int *order, int n, const GridPlan *plan, const RunWorld *w,
              SchedCellFn fn, void *ctx, double *seconds, int *takes) {
    (void)s;
    int done = 0, nc = plan->n_classes, stopped = 0;
    MPI_Comm slot[32];
    slots_(plan, w, slot);
    Counter ctr = {MPI_WIN_NULL, 0, 0};
    long *base;
    MPI_Win_allocate(w->rank == 0 ? (MPI_Aint)((nc + 1) * sizeof(long)) : 0, sizeof(long),
                     MPI_INFO_NULL, MPI_COMM_WORLD, &base, &ctr.win);
    for (int i = 0; w->rank == 0 && i <= nc; i++) base[i] = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock_all(0, ctr.win);
    int *cells = cg_malloc((size_t)(n ? n : 1) * sizeof(int));
    for (int c = 0; c < nc && !stopped; c++) {
        if (slot[c] == MPI_COMM_NULL) continue;
        int m = cells_of_(order, n, plan, c, cells);
        stopped = class_(&ctr, c, slot[c], cells, m, fn, ctx, &done);
    }
    int m = cells_of_(order, n, plan, -1, cells);
    volatile sig_atomic_t *stop = signals_stop_flag();
    Aside a = {cg_malloc((size_t)(m ? m : 1) * sizeof(int)), 0};
    while (!stopped && !*stop) {
        long next = take_(&ctr, nc);
        if (next >= m) break;
        int r = fn(ctx, cells[next], MPI_COMM_NULL);
        if (r == SCHED_STOPPED) stopped = 1;
        else if (r == SCHED_BUSY) a.cell[a.n++] = cells[next];
        else done++;
    }
    if (!stopped && !*stop) offer_again_(&a, MPI_COMM_NULL, fn, ctx, &done);
    free(a.cell);
    free(cells);
    MPI_Win_unlock_all(ctr.win);
    MPI_Win_free(&ctr.win);  /* collective: every rank has finished its work */
    for (int c = 0; c < nc; c++)
        if (slot[c] != MPI_COMM_NULL) MPI_Comm_free(&slot[c]);
    if (seconds) *seconds = ctr.seconds;
    if (takes) *takes = ctr.takes;
    return done;
}
