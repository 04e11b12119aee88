/* core/model/clip_names.h — the tensor table of a CLIP ViT for a given ClipConfig: one descriptor
 * per OpenAI tensor (name, shape, model field, random-init distribution) with its HF CLIPModel
 * counterpart(s) (clip.md §8.2, §8.4). It drives the loader (core/model/clip_weights.c), the random
 * generator (core/gen/clip_random.c) and the parameter count, so all three agree by construction.
 *
 * Order: the order in which OpenAI's CLIP constructor registers its parameters (the order of the
 * official fixture tiny768.safetensors). The model arena is laid out in the same order. */
#ifndef CLIPGRID_CORE_CLIP_NAMES_H
#define CLIPGRID_CORE_CLIP_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "core/model/clip_config.h"

typedef enum { CLIP_NAMES_OPENAI = 0, CLIP_NAMES_HF = 1 } ClipNaming;

typedef enum {
    CLIP_T_PLAIN = 0,  /* same shape and data in both schemes */
    CLIP_T_QKV,        /* OpenAI packed in_proj_{weight,bias}; HF q/k/v_proj = row blocks */
    CLIP_T_PROJ,       /* visual.proj / text_projection: HF stores the transpose */
    CLIP_T_LOGIT       /* logit_scale: a host scalar, not in the arena */
} ClipTensorKind;

enum { CLIP_TOWER_TOP = 0, CLIP_TOWER_VISION = 1, CLIP_TOWER_TEXT = 2 };

#define CLIP_NAME_MAX 96

/* One tensor as stored in a file of a given naming scheme. */
typedef struct {
    char name[CLIP_NAME_MAX];
    int ndim;
    int64_t shape[4];
    size_t numel;
    size_t start;      /* first element of the OpenAI tensor that this part holds */
    int transposed;    /* 1: the transpose of the OpenAI tensor (HF projections) */
} ClipPart;

typedef struct {
    char oa[CLIP_NAME_MAX];   /* OpenAI / open_clip name */
    int ndim;
    int64_t shape[4];         /* OpenAI shape */
    size_t numel;
    ClipTensorKind kind;
    int tower;
    float **field;            /* the model field it fills (NULL when built without a model) */
    double mean, std;         /* clip_random's distribution for this tensor */
    int nhf;                  /* 1, or 3 for CLIP_T_QKV */
    ClipPart hf[3];           /* HF CLIPModel name(s) and shape(s) */
} ClipTensorDesc;

/* All tensors of `c`, malloc'd (caller frees), count in *n. With m != NULL, m->vis.blocks and
 * m->txt.blocks must hold c->vis.layers / c->txt.layers entries; `field` then points into m. */
ClipTensorDesc *clip_tensor_descs(const ClipConfig *c, ClipModel *m, int *n);
/* the file tensor(s) of one descriptor in a naming scheme; returns the count (1 or 3) */
int clip_desc_parts(const ClipTensorDesc *d, ClipNaming naming, ClipPart out[3]);
const char *clip_naming_name(ClipNaming naming);

/* Allocates m->vis.blocks / m->txt.blocks (cfg must be set in m->cfg). */
void clip_model_alloc_blocks(ClipModel *m);
/* One k_alloc arena for every weight; points each descriptor's field into it (desc order). */
void clip_model_alloc_arena(ClipModel *m, const ClipTensorDesc *d, int n);

#endif
