/* runner/node_weights.c — the frozen CLIP weights once per node: the node's first rank (local
 * rank 0 of MPI_COMM_TYPE_SHARED) validates the file and converts it to fp32 into an MPI
 * shared-memory window. With the CPU backend every local rank's ClipModel is a view on that
 * window (one copy per node); with a GPU backend each rank uploads its own device copy from it
 * and the window is released (core/model/clip_weights_shared.h). */
#include <string.h>

#include "core/model/clip_weights_shared.h"
#include "base/util.h"
#include "kernels/ops.h"
#include "runner/grid.h"
#include "runner/runner.h"

typedef struct {
    int ok;
    ClipConfig cfg;
    float logit_scale;
    int layout;
    char error[512];
} Header;

/* the window's base on every local rank */
static float *window_(NodeWeights *nw, size_t floats, int lr, MPI_Comm node) {
    float *base = NULL, *arena;
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "alloc_shared_noncontig", "true");
    MPI_Win_allocate_shared(lr == 0 ? (MPI_Aint)(floats * sizeof(float)) : 0, sizeof(float), info,
                            node, &base, &nw->win);
    MPI_Info_free(&info);
    MPI_Aint size;
    int disp;
    MPI_Win_shared_query(nw->win, 0, &size, &disp, &arena);
    return arena;
}

int node_weights_load(NodeWeights *nw, const char *path, MPI_Comm node) {
    int lr;
    MPI_Comm_rank(node, &lr);
    memset(nw, 0, sizeof *nw);
    nw->win = MPI_WIN_NULL;
    Header h;
    memset(&h, 0, sizeof h);
    if (lr == 0 && !(h.ok = grid_model_config(path, &h.cfg) == 0))
        snprintf(h.error, sizeof h.error, "%s", cg_error());
    MPI_Bcast(&h, sizeof h, MPI_BYTE, 0, node);
    if (!h.ok) return cg_error_set("%s", h.error), -1;
    size_t floats = clip_arena_floats(&h.cfg);
    float *arena = window_(nw, floats, lr, node);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, nw->win);
    if (lr == 0) {
        KWLayout layout;
        h.ok = clip_weights_load_host(path, arena, floats, &h.cfg, &h.logit_scale, &layout) == 0;
        if (!h.ok) snprintf(h.error, sizeof h.error, "%s", cg_error());
        h.layout = layout;
    }
    MPI_Win_sync(nw->win);
    MPI_Bcast(&h, sizeof h, MPI_BYTE, 0, node);
    MPI_Win_sync(nw->win);
    MPI_Win_unlock_all(nw->win);
    if (!h.ok) {
        MPI_Win_free(&nw->win);
        return cg_error_set("%s", h.error), -1;
    }
    if (k_backend() == K_BACKEND_CPU) {
        clip_model_view(&nw->model, &h.cfg, arena, h.logit_scale, (KWLayout)h.layout);
        return 0;
    }
    nw->device = k_alloc(floats);  /* a GPU: this rank's own device copy */
    k_upload(nw->device, arena, floats);
    clip_model_view(&nw->model, &h.cfg, nw->device, h.logit_scale, (KWLayout)h.layout);
    MPI_Win_free(&nw->win);
    return 0;
}

void node_weights_free(NodeWeights *nw) {
    clip_model_view_free(&nw->model);
    if (nw->device) k_free(nw->device);
    if (nw->win != MPI_WIN_NULL) MPI_Win_free(&nw->win);
    nw->device = NULL;
    nw->win = MPI_WIN_NULL;
}
