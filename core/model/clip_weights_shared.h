/* core/model/clip_weights_shared.h — a ClipModel over an arena it does not own: the runner puts one
 * copy of the frozen weights per node in shared memory (runner/node_weights.c); the node's first
 * rank loads the file into that host arena; with the CPU backend every local rank builds its
 * model view on it, with a GPU backend each rank uploads its own device copy from it. The arena
 * layout is clip_model_load's (core/model/clip_names.h descriptor order). */
#ifndef CLIPGRID_CORE_CLIP_WEIGHTS_SHARED_H
#define CLIPGRID_CORE_CLIP_WEIGHTS_SHARED_H

#include <stddef.h>

#include "core/model/clip_config.h"

/* floats of the weight arena of a configuration */
size_t clip_arena_floats(const ClipConfig *cfg);
/* m's tensors point into `arena` (clip_arena_floats(cfg) floats, already filled); m does not
 * own it: free m with clip_model_view_free */
void clip_model_view(ClipModel *m, const ClipConfig *cfg, float *arena, float logit_scale,
                     KWLayout proj_layout);
/* validate `path` and convert its weights to fp32 into the HOST buffer `host` (`floats` must
 * equal the file's clip_arena_floats) in the arena layout; *cfg, *logit_scale and *layout get
 * what clip_model_view needs. 0, or −1 with cg_error */
int clip_weights_load_host(const char *path, float *host, size_t floats, ClipConfig *cfg,
                           float *logit_scale, KWLayout *layout);
void clip_model_view_free(ClipModel *m);

#endif
