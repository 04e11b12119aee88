/* runner/comm_nccl.c — the CgComm of core/base/comm.h over NCCL (built when the Makefile finds nccl.h:
 * CG_HAVE_NCCL). The id goes from rank 0 over the group's MPI communicator; the NCCL
 * communicator is non-blocking so that every wait can be watched: ncclCommGetAsyncError is
 * polled with a timeout, and on an error or timeout the rank prints what, where (rank, host,
 * GPU), aborts the communicator and calls MPI_Abort instead of hanging. Device buffers,
 * element counts (fp32), the backend's stream; host scalars over MPI. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>  // defines: gethostname, usleep

#include "base/util.h"
#include "kernels/ops.h"
#include "runner/env.h"
#include "runner/comm_nccl.h"

#ifndef CG_HAVE_NCCL

CgComm *comm_nccl_create(MPI_Comm group) {
    (void)group;
    cg_error_set("comm_nccl_create: NCCL is not built in (no CUDA/NCCL found at build time)");
    return NULL;
}

void comm_nccl_free(CgComm *c) { (void)c; }

#else

#include <cuda_runtime.h>  // defines: cudaStream_t, cudaStreamQuery
#include <nccl.h>

typedef struct {
    MPI_Comm mpi;
    ncclComm_t nccl;       /* NULL once aborted or destroyed */
    cudaStream_t stream;   /* the compute backend's stream */
    double timeout;        /* seconds */
    int rank, device;
    char host[64];
} NcclComm;

static NcclComm *impl_(CgComm *c) { return (NcclComm *)c->impl; }

/* print, abort the communicator and the job */
static _Noreturn CG_PRINTF(2, 3) void nccl_abort(NcclComm *m, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "clipgrid: rank %d on %s (GPU %d): NCCL: %s; aborting the communicator and "
            "the job\n", m->rank, m->host, m->device, msg);
    fflush(stderr);
    if (m->nccl) ncclCommAbort(m->nccl);
    m->nccl = NULL;
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

/* the result of a call on the non-blocking communicator: success or "in progress" */
static void check_called(NcclComm *m, ncclResult_t called, const char *what) {
    if (called != ncclSuccess && called != ncclInProgress)
        nccl_abort(m, "%s: %s (%s)", what, ncclGetErrorString(called),
                   m->nccl ? ncclGetLastError(m->nccl) : "no communicator");
}

/* after a call on the non-blocking communicator (outside a group): wait until it is no longer
 * in progress */
static void wait_ready(NcclComm *m, ncclResult_t called, const char *what) {
    check_called(m, called, what);
    double t0 = cg_now();
    for (;;) {
        ncclResult_t st = ncclSuccess;
        ncclResult_t r = ncclCommGetAsyncError(m->nccl, &st);
        if (r != ncclSuccess)
            nccl_abort(m, "%s: ncclCommGetAsyncError: %s", what, ncclGetErrorString(r));
        if (st == ncclSuccess) return;
        if (st != ncclInProgress)
            nccl_abort(m, "%s: %s (%s)", what, ncclGetErrorString(st), ncclGetLastError(m->nccl));
        if (cg_now() - t0 > m->timeout)
            nccl_abort(m, "%s: still in progress after %.0f s (CLIPGRID_NCCL_TIMEOUT)", what,
                       m->timeout);
        usleep(100);
    }
}

/* wait for the stream's work (the collective just enqueued), watching NCCL's error state */
static void wait_stream(NcclComm *m, const char *what) {
    double t0 = cg_now();
    for (;;) {
        cudaError_t e = cudaStreamQuery(m->stream);
        if (e == cudaSuccess) return;
        if (e != cudaErrorNotReady)
            nccl_abort(m, "%s: the stream failed: %s (%s)", what, cudaGetErrorString(e),
                       cudaGetErrorName(e));
        ncclResult_t st = ncclSuccess;
        ncclResult_t r = ncclCommGetAsyncError(m->nccl, &st);
        if (r != ncclSuccess)
            nccl_abort(m, "%s: ncclCommGetAsyncError: %s", what, ncclGetErrorString(r));
        if (st != ncclSuccess && st != ncclInProgress)
            nccl_abort(m, "%s: %s (%s)", what, ncclGetErrorString(st), ncclGetLastError(m->nccl));
        if (cg_now() - t0 > m->timeout)
            nccl_abort(m, "%s: not complete after %.0f s (CLIPGRID_NCCL_TIMEOUT): a peer rank "
                       "may have died or hung", what, m->timeout);
        usleep(20);
    }
}

/* the ops enqueued before a collective are finished first, so the watchdog times the collective
 * alone (and a failing kernel is reported as such, not as an NCCL timeout) */
static void sync_compute(NcclComm *m, const char *what) {
    cudaError_t e = cudaStreamSynchronize(m->stream);
    if (e != cudaSuccess)
        nccl_abort(m, "%s: the compute before it failed: %s (%s)", what, cudaGetErrorString(e),
                   cudaGetErrorName(e));
}

static void nccl_allreduce_sum(CgComm *c, float *buf, size_t n) {
    NcclComm *m = impl_(c);
    if (n == 0) return;
    sync_compute(m, "ncclAllReduce");
    wait_ready(m, ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, m->nccl, m->stream),
               "ncclAllReduce");
    wait_stream(m, "ncclAllReduce");
}

/* one broadcast per rank with its count, in one group: recv = the ranks' blocks in order */
static void nccl_allgatherv(CgComm *c, const float *send, float *recv, const size_t *counts) {
    NcclComm *m = impl_(c);
    sync_compute(m, "allgatherv");
    check_called(m, ncclGroupStart(), "ncclGroupStart");
    size_t off = 0;
    for (int r = 0; r < c->size; r++) {
        if (counts[r] > 0) { /* inside the group the calls are only queued */
            const float *sb = r == c->rank ? send : recv + off;
            check_called(m, ncclBroadcast(sb, recv + off, counts[r], ncclFloat, r, m->nccl,
                                          m->stream), "ncclBroadcast (allgatherv)");
        }
        off += counts[r];
    }
    wait_ready(m, ncclGroupEnd(), "ncclGroupEnd (allgatherv)");
    wait_stream(m, "allgatherv");
}

static double nccl_sum_double(CgComm *c, double x) {
    double y;
    MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, impl_(c)->mpi);
    return y;
}

/* every rank: 1 when no two ranks of the group use the same GPU (NCCL needs one GPU per rank) */
static int distinct_gpus(MPI_Comm mpi, int size, int device) {
    char mine[96] = "", host[64] = "";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    char pci[32] = "?";
    if (cudaDeviceGetPCIBusId(pci, sizeof pci, device) != cudaSuccess) (void)cudaGetLastError();
    snprintf(mine, sizeof mine, "%s/%s", host, pci);
    char *all = cg_malloc((size_t)size * sizeof mine);
    MPI_Allgather(mine, sizeof mine, MPI_CHAR, all, sizeof mine, MPI_CHAR, mpi);
    int ok = 1;
    for (int i = 0; i < size && ok; i++)
        for (int j = i + 1; j < size && ok; j++)
            if (!strcmp(all + (size_t)i * sizeof mine, all + (size_t)j * sizeof mine)) {
                cg_error_set("comm_nccl_create: ranks %d and %d of the group share GPU %s; NCCL "
                             "needs one GPU per rank", i, j, all + (size_t)i * sizeof mine);
                ok = 0;
            }
    free(all);
    return ok;
}

CgComm *comm_nccl_create(MPI_Comm group) {
    /* the same decision on every rank: is the CUDA backend active everywhere? */
    int cuda = k_backend() == K_BACKEND_CUDA, all_cuda = 0;
    MPI_Allreduce(&cuda, &all_cuda, 1, MPI_INT, MPI_MIN, group);
    if (!all_cuda) {
        cg_error_set("comm_nccl_create: the CUDA backend is not active on every rank of the "
                     "group");
        return NULL;
    }
    NcclComm *m = cg_calloc(1, sizeof *m);
    MPI_Comm_dup(group, &m->mpi);
    int rank, size;
    MPI_Comm_rank(m->mpi, &rank);
    MPI_Comm_size(m->mpi, &size);
    m->rank = rank;
    m->device = k_cuda_device();
    m->stream = (cudaStream_t)k_cuda_stream();
    gethostname(m->host, sizeof m->host);
    m->host[sizeof m->host - 1] = 0;
    m->timeout = run_env()->nccl_timeout;
    if (!distinct_gpus(m->mpi, size, m->device)) {
        MPI_Comm_free(&m->mpi);
        free(m);
        return NULL;
    }
    /* rank 0's id (and whether it could make one) to the group */
    struct { int ok; ncclUniqueId id; } msg;
    memset(&msg, 0, sizeof msg);
    ncclResult_t r = ncclSuccess;
    if (rank == 0) {
        r = ncclGetUniqueId(&msg.id);
        msg.ok = r == ncclSuccess;
    }
    MPI_Bcast(&msg, sizeof msg, MPI_BYTE, 0, m->mpi);
    if (!msg.ok) {
        cg_error_set("comm_nccl_create: ncclGetUniqueId failed on rank 0 of the group%s%s",
                     rank == 0 ? ": " : "", rank == 0 ? ncclGetErrorString(r) : "");
        MPI_Comm_free(&m->mpi);
        free(m);
        return NULL;
    }
    ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
    cfg.blocking = 0;
    r = ncclCommInitRankConfig(&m->nccl, size, msg.id, rank, &cfg);
    /* from here on a failure on one rank leaves the others waiting: abort the job */
    if (r != ncclSuccess && r != ncclInProgress) {
        m->nccl = NULL;
        nccl_abort(m, "ncclCommInitRankConfig (%d ranks): %s", size, ncclGetErrorString(r));
    }
    wait_ready(m, r, "ncclCommInitRankConfig");
    CgComm *c = cg_calloc(1, sizeof *c);
    c->rank = rank;
    c->size = size;
    c->impl = m;
    c->allreduce_sum = nccl_allreduce_sum;
    c->allgatherv = nccl_allgatherv;
    c->sum_double = nccl_sum_double;
    return c;
}

void comm_nccl_free(CgComm *c) {
    if (!c) return;
    NcclComm *m = impl_(c);
    if (m->nccl) {
        sync_compute(m, "comm_nccl_free");
        wait_ready(m, ncclCommFinalize(m->nccl), "ncclCommFinalize");
        ncclResult_t r = ncclCommDestroy(m->nccl);
        if (r != ncclSuccess && r != ncclInProgress)
            nccl_abort(m, "ncclCommDestroy: %s", ncclGetErrorString(r));
        m->nccl = NULL;
    }
    MPI_Comm_free(&m->mpi);
    free(m);
    free(c);
}

#endif
