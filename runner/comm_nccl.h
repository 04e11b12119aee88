/* runner/comm_nccl.h — the CgComm of core/base/comm.h over NCCL, for rank groups on the CUDA backend
 * (buffers are device pointers from k_alloc), and the binding of ranks to GPUs. */
#ifndef CLIPGRID_RUNNER_COMM_NCCL_H
#define CLIPGRID_RUNNER_COMM_NCCL_H

#include <mpi.h>

#include "core/base/comm.h"

/* Collective over `group` (every rank calls it, after the CUDA backend is active on each):
 * rank 0 makes the NCCL id, MPI broadcasts it, every rank joins a non-blocking NCCL
 * communicator. Collectives run on the backend's stream; each is watched: an NCCL error or no
 * completion within CLIPGRID_NCCL_TIMEOUT seconds (default 600) prints rank, host and GPU,
 * aborts the communicator (ncclCommAbort) and the job (MPI_Abort). Returns NULL with cg_error
 * on every rank when NCCL cannot be used (not built in, backend not CUDA, two ranks of the group
 * on one GPU); the caller then keeps the MPI comm. */
CgComm *comm_nccl_create(MPI_Comm group);
void comm_nccl_free(CgComm *c);

/* ---- ranks and GPUs (runner/gpu_bind.c) ----------------------------------------------------- */

typedef struct {
    int local_rank, local_size;  /* among the ranks of this host (MPI_COMM_TYPE_SHARED) */
    int ngpus;                   /* GPUs visible to this rank */
    int device;                  /* local_rank % ngpus */
    char pci[32];                /* PCI bus id of the device */
    char name[64];               /* device name */
} GpuBinding;

/* Collective over `comm` (normally MPI_COMM_WORLD): picks device = local rank % visible GPUs,
 * switches the compute backend to CUDA on it (k_init_cuda) and has rank 0 print the binding
 * table (rank, host, pid, local rank, GPU, PCI bus id, name). Two ranks of a host on one
 * physical GPU (same PCI bus id: more ranks than GPUs, or launchers that hand several ranks the
 * same CUDA_VISIBLE_DEVICES) is an error unless allow_share. Returns 0 on every rank, or −1 on
 * every rank with cg_error naming the first rank that failed and why (no CUDA in the build, no
 * driver or GPU, a GPU shared); every rank is then back on the CPU backend. */
int gpu_bind(MPI_Comm comm, int allow_share, GpuBinding *b);

#endif
