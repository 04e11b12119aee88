/* core/model/clip_weights.h — loading frozen CLIP ViT weights from safetensors into a ClipModel, in
 * either naming scheme (OpenAI/open_clip or HF CLIPModel, clip.md §8.2–8.4), with the
 * architecture inferred from the tensor shapes; standard configurations; parameter counts. */
#ifndef CLIPGRID_CORE_CLIP_WEIGHTS_H
#define CLIPGRID_CORE_CLIP_WEIGHTS_H

#include <stdio.h>

#include "core/model/clip_config.h"
#include "core/model/clip_names.h"
#include "core/model/safetensors.h"

/* Opens, validates and uploads every weight into one k_alloc arena (fp32). The projections keep
 * the file's orientation: OpenAI [in,out] -> K_W_IN_OUT, HF [out,in] -> K_W_OUT_IN.
 * Returns 0, or -1 with cg_error() naming the file and the problem (m is left zeroed). */
int clip_model_load(ClipModel *m, const char *path);
void clip_model_free(ClipModel *m);

/* Validation without upload: detects the naming scheme, infers and checks the configuration, and
 * checks every tensor's presence, dtype and shape (and that no unknown tensor is present). */
int clip_weights_check(const SafeTensors *st, ClipConfig *cfg, ClipNaming *naming);

/* "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px" (also accepted with '-' for '/').
 * Returns 0, or -1 with cg_error() listing the known names. */
int clip_config_from_arch(ClipConfig *c, const char *arch);
/* Completes a config from its free dimensions (vis.width, vis.layers, patch, image_res,
 * txt.width, txt.layers, embed, vocab, context): heads, mlp, grid, tokens and the arch name
 * (a standard name when every dimension matches one, else "custom"). -1 on invalid input. */
int clip_config_finish(ClipConfig *c);
void clip_config_print(const ClipConfig *c, FILE *f);

/* parameters of each tower per clip.md §1.2 (total includes the logit_scale scalar) */
size_t clip_param_count(const ClipConfig *c, size_t *vision, size_t *text);

#endif
