/* core/model/clip_save.h — writing a ClipModel's current weights (e.g. after pretraining) as an
 * OpenAI-named F32 safetensors file that clip_model_load reads back bit for bit. */
#ifndef CLIPGRID_CORE_CLIP_SAVE_H
#define CLIPGRID_CORE_CLIP_SAVE_H

#include "core/model/clip_config.h"

/* metadata: NULL-terminated key, value, key, value, … (may be NULL). The projections must be in
 * OpenAI orientation (K_W_IN_OUT). 0, or −1 with cg_error naming the file. */
int clip_model_save(const ClipModel *m, const char *path, const char *const *metadata);

#endif
