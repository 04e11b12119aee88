/* runner/world.c — the MPI world of a sweep: initialisation (alone, under mpirun or srun), the
 * node's ranks (MPI_COMM_TYPE_SHARED), the fatal hook that names rank and host and aborts the
 * job, the CPU threads of each rank (the node's cores split among its local ranks), glibc's
 * malloc kept from handing freed buffers back between runs, and the start table. */
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "kernels/ops.h"
#include "runner/comm_nccl.h"
#include "runner/env.h"
#include "runner/runner.h"

static int world_size_;

static void fatal_hook_(void) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin && world_size_ > 1) MPI_Abort(MPI_COMM_WORLD, 1);
}

void world_init(RunWorld *w, int *argc, char ***argv) {
    memset(w, 0, sizeof *w);
    int provided, init = 0;
    MPI_Initialized(&init);
    if (!init) MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &w->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w->size);
    world_size_ = w->size;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w->rank, MPI_INFO_NULL, &w->node);
    MPI_Comm_rank(w->node, &w->local_rank);
    MPI_Comm_size(w->node, &w->local_size);
    gethostname(w->host, sizeof w->host);
    w->host[sizeof w->host - 1] = 0;
    char prefix[128];
    snprintf(prefix, sizeof prefix, "rank %d on %s", w->rank, w->host);
    if (w->size > 1) cg_set_fatal_prefix(prefix);
    cg_set_fatal_hook(fatal_hook_);
}

/* the CPUs this process may run on */
static int cpus_allowed_(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* CLIPGRID_BACKEND cuda or auto: one GPU per rank (runner/gpu_bind.c, collective); cuda fails
 * when no GPU is usable, auto falls back to the CPU. CLIPGRID_GPU_SHARE=1 lets several ranks
 * share a GPU. 0, or −1 with cg_error on every rank */
static int gpu_(RunWorld *w) {
    const char *be = run_env()->backend;
    if (!strcmp(be, "cpu")) return 0;
    GpuBinding b;
    if (gpu_bind(MPI_COMM_WORLD, run_env()->gpu_share, &b) == 0) {
        snprintf(w->device, sizeof w->device, "cuda:%d %.48s", b.device, b.name);
        return 0;
    }
    if (strcmp(be, "auto")) return -1;
    if (w->rank == 0) fprintf(stderr, "clipgrid: backend cpu (%s)\n", cg_error());
    return 0;
}

/* A rank runs many runs one after another, each allocating (k_alloc, which zeroes) and freeing
 * the same activation buffers. By default glibc serves blocks above a dynamic threshold with
 * mmap and trims the heap top on free, so every run faults its buffers in again: on the demo
 * sweep 170k-250k minor page faults and 0.9 s of system time per 7 s; with mmap only above
 * 32 MiB and no trimming below 1 GiB, 55k and 0.65 s. Memory a rank has used stays its own until
 * it exits (its peak run's working set, which the next run needs again anyway). */
static void keep_freed_memory_(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

int world_init_backend(RunWorld *w, int threads) {
    keep_freed_memory_();
    if (threads <= 0) threads = run_env()->threads;
    if (threads <= 0) {
        int cores = (int)sysconf(_SC_NPROCESSORS_ONLN), allowed = cpus_allowed_();
        threads = cores / w->local_size;
        if (threads > allowed) threads = allowed;
        if (threads < 1) threads = 1;
    }
    k_init_cpu(threads);
    w->threads = k_threads();
    snprintf(w->device, sizeof w->device, "cpu (%d thread%s)", w->threads,
             w->threads == 1 ? "" : "s");
    return gpu_(w);
}

typedef struct {
    int rank, local_rank, local_size, threads;
    long pid;
    char host[64], device[64];
} RankRow;

void world_start_table(const RunWorld *w) {
    RankRow me = {w->rank, w->local_rank, w->local_size, w->threads, (long)getpid(), "", ""};
    memcpy(me.host, w->host, sizeof me.host);
    memcpy(me.device, w->device, sizeof me.device);
    RankRow *all = w->rank == 0 ? cg_malloc((size_t)w->size * sizeof *all) : NULL;
    MPI_Gather(&me, sizeof me, MPI_BYTE, all, sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (w->rank == 0) {
        printf("%5s  %-20s %8s  %-7s %-20s %7s\n", "rank", "host", "pid", "local", "device",
               "threads");
        for (int r = 0; r < w->size; r++)
            printf("%5d  %-20s %8ld  %d/%-5d %-20s %7d\n", all[r].rank, all[r].host, all[r].pid,
                   all[r].local_rank, all[r].local_size, all[r].device, all[r].threads);
        fflush(stdout);
        free(all);
    }
}

int world_bcast_int(int v) {
    MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return v;
}

void world_finalize(RunWorld *w) {
    if (w->node != MPI_COMM_NULL) MPI_Comm_free(&w->node);
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}
