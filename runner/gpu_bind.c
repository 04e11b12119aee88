/* runner/gpu_bind.c — one GPU per rank: the local rank among the host's ranks (MPI's
 * shared-memory split), device = local rank modulo the visible GPUs, the CUDA backend switched
 * on there, and a binding table printed by rank 0 (rank, host, pid, local rank, GPU, PCI bus id,
 * name). Two ranks of a host on the same physical GPU (same PCI bus id) is an error unless
 * sharing is allowed; comparing bus ids rather than counting GPUs also accepts launchers that
 * give each rank its own CUDA_VISIBLE_DEVICES (every rank then sees one GPU, device 0).
 * Success or failure is agreed by all ranks, so no rank is left waiting. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>  // defines: gethostname, getpid

#include "base/util.h"
#include "kernels/ops.h"
#include "runner/comm_nccl.h"

#ifdef CG_HAVE_CUDA
#include <cuda_runtime.h>  // defines: cudaGetDeviceCount, cudaDeviceGetPCIBusId
#endif

typedef struct {
    int rank, local_rank, local_size, device, ngpus;
    long pid;
    char host[64], pci[32], name[64];
} BindRow;

/* this rank's choice: 0, or −1 with the reason in err */
static int choose_device(GpuBinding *b, int allow_share, const char *host, char *err,
                         size_t errlen) {
#ifndef CG_HAVE_CUDA
    (void)b, (void)allow_share, (void)host;
    snprintf(err, errlen, "the CUDA backend is not built in (nvcc was not found at build time)");
    return -1;
#else
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(err, errlen, "no usable CUDA driver or GPU on %s: %s (%s)", host,
                 cudaGetErrorString(e), cudaGetErrorName(e));
        return -1;
    }
    if (n == 0) {
        snprintf(err, errlen, "no GPU visible on %s (CUDA_VISIBLE_DEVICES=%s)", host,
                 getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES") : "unset");
        return -1;
    }
    b->ngpus = n;
    b->device = b->local_rank % n;
    if (k_init_cuda(b->device) != 0) {
        snprintf(err, errlen, "%s", cg_error());
        return -1;
    }
    if (cudaDeviceGetPCIBusId(b->pci, sizeof b->pci, b->device) != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(b->pci, sizeof b->pci, "?");
        if (b->local_size > n && !allow_share) { /* no bus id to compare: count instead */
            snprintf(err, errlen, "%d ranks on %s but %d GPU%s visible: start at most %d "
                     "rank%s per host, or let ranks share GPUs (CLIPGRID_GPU_SHARE=1)",
                     b->local_size, host, n, n == 1 ? "" : "s", n, n == 1 ? "" : "s");
            return -1;
        }
    }
    struct cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, b->device) == cudaSuccess)
        snprintf(b->name, sizeof b->name, "%.63s", prop.name);
    else
        (void)cudaGetLastError(), snprintf(b->name, sizeof b->name, "?");
    return 0;
#endif
}

/* cross-check with the launcher's own local rank where it gives one (a mismatch means the
 * ranks' order on the host differs from the launcher's; the binding stays valid, one GPU each) */
static void warn_launcher_local_rank(int rank, const char *host, int local_rank) {
    const char *vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v && atoi(v) != local_rank)
            fprintf(stderr, "clipgrid: rank %d on %s: local rank %d from MPI's shared-memory "
                    "split, %s=%s\n", rank, host, local_rank, vars[i], v);
    }
}

/* Collective over the host's ranks `node`: 0, or −1 with the reason in err when this rank's GPU
 * (its PCI bus id; "" for a rank that has none) is also another rank's. */
static int check_distinct_gpus(MPI_Comm node, const GpuBinding *b, const char *host, char *err,
                               size_t errlen) {
    enum { ID = sizeof b->pci };
    char mine[ID] = "";
    if (b->device >= 0 && strcmp(b->pci, "?") != 0) snprintf(mine, sizeof mine, "%s", b->pci);
    char *all = cg_malloc((size_t)b->local_size * ID);
    MPI_Allgather(mine, ID, MPI_CHAR, all, ID, MPI_CHAR, node);
    int other = -1;
    for (int r = 0; r < b->local_size && other < 0; r++)
        if (r != b->local_rank && mine[0] && !strcmp(all + (size_t)r * ID, mine)) other = r;
    free(all);
    if (other < 0) return 0;
    snprintf(err, errlen, "local ranks %d and %d on %s both use GPU %s (%d ranks on the host, "
             "%d GPU%s visible to this rank): start at most one rank per GPU, or let ranks "
             "share GPUs (CLIPGRID_GPU_SHARE=1)", other < b->local_rank ? other : b->local_rank,
             other < b->local_rank ? b->local_rank : other, host, mine, b->local_size, b->ngpus,
             b->ngpus == 1 ? "" : "s");
    return -1;
}

static void print_table(const BindRow *all, int size) {
    printf("%5s  %-20s %8s  %-7s %4s  %-16s %s\n", "rank", "host", "pid", "local", "gpu",
           "pci bus id", "name");
    for (int r = 0; r < size; r++)
        printf("%5d  %-20s %8ld  %d/%-5d %4d  %-16s %s\n", all[r].rank, all[r].host, all[r].pid,
               all[r].local_rank, all[r].local_size, all[r].device, all[r].pci, all[r].name);
    fflush(stdout);
}

int gpu_bind(MPI_Comm comm, int allow_share, GpuBinding *b) {
    memset(b, 0, sizeof *b);
    b->device = -1;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    MPI_Comm node;
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &b->local_rank);
    MPI_Comm_size(node, &b->local_size);
    char host[64] = "";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    warn_launcher_local_rank(rank, host, b->local_rank);

    /* every rank's choice, then one agreed outcome: the first failing rank's reason */
    char err[256] = "";
    int ok = choose_device(b, allow_share, host, err, sizeof err) == 0;
    if (!ok) b->device = -1;
    /* every rank of the host takes part, chosen or not */
    char dup[256] = "";
    int shared = check_distinct_gpus(node, b, host, dup, sizeof dup) != 0;
    MPI_Comm_free(&node);
    if (ok && shared && !allow_share) {
        snprintf(err, sizeof err, "%s", dup);
        ok = 0;
    }
    int first_bad = ok ? INT_MAX : rank, worst = INT_MAX;
    MPI_Allreduce(&first_bad, &worst, 1, MPI_INT, MPI_MIN, comm);
    if (worst != INT_MAX) {
        MPI_Bcast(err, sizeof err, MPI_CHAR, worst, comm);
        /* back to the CPU with the others (also a rank that failed after switching) */
        if (k_backend() == K_BACKEND_CUDA) k_init_cpu(k_threads());
        cg_error_set("GPU binding failed on rank %d: %s", worst, err);
        b->device = -1;
        return -1;
    }
    BindRow me = {rank, b->local_rank, b->local_size, b->device, b->ngpus, (long)getpid(),
                  "", "", ""};
    snprintf(me.host, sizeof me.host, "%s", host);
    snprintf(me.pci, sizeof me.pci, "%s", b->pci);
    snprintf(me.name, sizeof me.name, "%s", b->name);
    BindRow *all = rank == 0 ? cg_malloc((size_t)size * sizeof *all) : NULL;
    MPI_Gather(&me, sizeof me, MPI_BYTE, all, sizeof me, MPI_BYTE, 0, comm);
    if (rank == 0) {
        print_table(all, size);
        free(all);
    }
    return 0;
}
