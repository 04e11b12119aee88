/* core/model/clip_meta.h — the parts of a CLIP architecture that tensor shapes cannot tell: the MLP
 * activation (QuickGELU or exact GELU) and the attention head count of each tower.
 *
 * They are taken, per value, from the first of these that gives it:
 *   1. the sweep's model keys (clip_arch_hints_set): activation, heads, text_heads, head_width;
 *   2. the weight file's own metadata (safetensors __metadata__ "clip.activation",
 *      "clip.vision_heads", "clip.text_heads", written by clipgrid make-model and convert);
 *   3. HuggingFace's config.json beside the weights (text_config/vision_config: hidden_act,
 *      num_attention_heads, with CLIPTextConfig/CLIPVisionConfig's defaults for absent keys);
 *   4. open_clip's config JSON beside the weights (open_clip_config.json with "model_cfg", or a
 *      config.json holding "vision_cfg"/"text_cfg"): quick_gelu (default false: GELU),
 *      vision_cfg.head_width (default 64), text_cfg.heads (default 8);
 *   5. OpenAI's own model (QuickGELU, 64-wide heads), only when the shapes are one of OpenAI's
 *      four (ViT-B/32, B/16, L/14, L/14@336px).
 * Any other model with a value still unknown is refused with a message naming the key to set.
 * Each resolved value records where it came from (ClipConfig.act_src / heads_src). */
#ifndef CLIPGRID_CORE_CLIP_META_H
#define CLIPGRID_CORE_CLIP_META_H

#include "core/model/clip_config.h"
#include "core/model/safetensors.h"

typedef struct {
    int act;          /* -1: not given, else a ClipAct */
    int heads;        /* 0: not given; both towers unless text_heads is given */
    int text_heads;   /* 0: not given */
    int head_width;   /* 0: not given; heads = width / head_width where no count is given */
    char src[160];    /* e.g. "sweeps/x.yaml model keys" */
} ClipArchHints;

/* The process-wide hints (the sweep has one model); NULL clears them. Copied. */
void clip_arch_hints_set(const ClipArchHints *h);
const ClipArchHints *clip_arch_hints_get(void);
void clip_arch_hints_clear(ClipArchHints *h);   /* act -1, everything else 0 */

/* Fills c->act, c->vis.heads, c->txt.heads and their sources for the weights at `path` whose
 * shapes are already in c (heads 0). Then the caller runs clip_config_finish. 0 or -1. */
int clip_arch_resolve(ClipConfig *c, const char *path, const SafeTensors *st);

/* "quick_gelu"/"quickgelu" -> CLIP_ACT_QUICKGELU, "gelu" -> CLIP_ACT_GELU, else -1 */
int clip_act_parse(const char *s);
const char *clip_act_name(ClipAct a);

#endif
