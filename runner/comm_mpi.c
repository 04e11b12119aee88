/* runner/comm_mpi.c — the CgComm of core/base/comm.h over an MPI communicator. Counts are element
 * counts; calls larger than INT_MAX elements are split into pieces. Buffers are backend
 * pointers: host memory on the CPU backend, used as they are; on a GPU backend (when NCCL is not
 * available) they go through host copies, since MPI need not be CUDA-aware. */
#include <limits.h>
#include <stdlib.h>

#include "base/util.h"
#include "kernels/ops.h"
#include "runner/runner.h"

#define CHUNK ((size_t)1 << 30)

static MPI_Comm mc_(CgComm *c) { return *(MPI_Comm *)c->impl; }
static int host_(void) { return k_backend() == K_BACKEND_CPU; }

static void reduce_host_(CgComm *c, float *buf, size_t n) {
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t k = n - off < CHUNK ? n - off : CHUNK;
        MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)k, MPI_FLOAT, MPI_SUM, mc_(c));
    }
}

static void mpi_allreduce_sum(CgComm *c, float *buf, size_t n) {
    if (host_()) {
        reduce_host_(c, buf, n);
        return;
    }
    float *h = cg_malloc((n ? n : 1) * sizeof(float));
    k_download(h, buf, n);
    reduce_host_(c, h, n);
    k_upload(buf, h, n);
    free(h);
}

static void mpi_allgatherv(CgComm *c, const float *send, float *recv, const size_t *counts) {
    int *cnt = cg_malloc((size_t)c->size * sizeof(int));
    int *disp = cg_malloc((size_t)c->size * sizeof(int));
    size_t off = 0;
    for (int r = 0; r < c->size; r++) {
        if (counts[r] > INT_MAX || off > INT_MAX)
            cg_fatal("comm allgatherv: %zu elements at offset %zu exceed MPI's int counts",
                     counts[r], off);
        cnt[r] = (int)counts[r];
        disp[r] = (int)off;
        off += counts[r];
    }
    size_t mine = counts[c->rank];
    if (host_()) {
        const void *sb = send == recv + disp[c->rank] ? MPI_IN_PLACE : send;
        MPI_Allgatherv(sb, cnt[c->rank], MPI_FLOAT, recv, cnt, disp, MPI_FLOAT, mc_(c));
    } else {
        float *hs = cg_malloc((mine ? mine : 1) * sizeof(float));
        float *hr = cg_malloc((off ? off : 1) * sizeof(float));
        k_download(hs, send, mine);
        MPI_Allgatherv(hs, cnt[c->rank], MPI_FLOAT, hr, cnt, disp, MPI_FLOAT, mc_(c));
        k_upload(recv, hr, off);
        free(hs), free(hr);
    }
    free(cnt);
    free(disp);
}

static double mpi_sum_double(CgComm *c, double x) {
    double y;
    MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, mc_(c));
    return y;
}

CgComm *comm_mpi_create(MPI_Comm comm) {
    CgComm *c = cg_calloc(1, sizeof *c);
    MPI_Comm *mc = cg_malloc(sizeof *mc);
    MPI_Comm_dup(comm, mc);
    MPI_Comm_rank(*mc, &c->rank);
    MPI_Comm_size(*mc, &c->size);
    c->impl = mc;
    c->allreduce_sum = mpi_allreduce_sum;
    c->allgatherv = mpi_allgatherv;
    c->sum_double = mpi_sum_double;
    return c;
}

void comm_mpi_free(CgComm *c) {
    if (!c) return;
    MPI_Comm_free((MPI_Comm *)c->impl);
    free(c->impl);
    free(c);
}
