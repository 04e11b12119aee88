/* core/model/clip_save.h — writing a ClipModel's current weights (e.g. after pretraining) as an
 * OpenAI-named safetensors file: F32 (clip_model_load reads it back bit for bit), or F16/BF16. */
#ifndef CLIPGRID_CORE_CLIP_SAVE_H
#define CLIPGRID_CORE_CLIP_SAVE_H

#include "core/model/clip_config.h"
#include "core/model/safetensors.h"

/* metadata: NULL-terminated key, value, key, value, … (may be NULL). The projections must be in
 * OpenAI orientation (K_W_IN_OUT). 0, or −1 with cg_error naming the file. */
int clip_model_save(const ClipModel *m, const char *path, const char *const *metadata);
/* the same with every weight tensor in `dtype` (ST_F32, ST_F16 or ST_BF16: rounded to nearest
 * even); the logit scale stays F32 */
int clip_model_save_as(const ClipModel *m, const char *path, const char *const *metadata,
                       StDtype dtype);

#endif
