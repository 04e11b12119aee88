/* core/base/comm.h — the communicator of a run's rank group, as core/ sees it: a small table of
 * collectives behind function pointers. core/ knows no MPI or NCCL; the runner provides the
 * MPI implementation (runner/comm_mpi.c) and, with the CUDA backend, the NCCL one. comm_self()
 * is the group of one rank (every collective is the identity). Counts are element counts;
 * buffers are backend ("device") pointers to fp32. Every rank of the group calls every
 * collective in the same order. */
#ifndef CLIPGRID_CORE_COMM_H
#define CLIPGRID_CORE_COMM_H

#include <stddef.h>

typedef struct CgComm CgComm;
struct CgComm {
    int rank, size;
    void *impl;
    /* in-place sum over the group */
    void (*allreduce_sum)(CgComm *c, float *buf, size_t n);
    /* recv = concatenation over ranks r of the counts[r] elements each rank sends */
    void (*allgatherv)(CgComm *c, const float *send, float *recv, const size_t *counts);
    /* sum of one double over the group (losses, correct counts) */
    double (*sum_double)(CgComm *c, double x);
};

CgComm *comm_self(void);

/* contiguous split of n items over the group: [*lo, *lo + *cnt) for `rank` */
void comm_split_range(int n, int size, int rank, int *lo, int *cnt);

#endif
