/* core/methods/zeroshot.h — zero-shot CLIP through the shared towers: class prompts from the
 * per-dataset templates (protocol.md §7.4), the class prompts of every method, and the frozen
 * text and image features. */
#ifndef CLIPGRID_CORE_ZEROSHOT_H
#define CLIPGRID_CORE_ZEROSHOT_H

#include "core/model/clip_config.h"

struct Tokenizer;

/* The class prompts of every method: one tokeniser (prompts_build), one way to find the
 * end-of-text row (prompts_from_ids: CLIP's argmax of the ids, EOT being the largest id). */
typedef struct {
    int C, context;
    int *ids;   /* host [C, context], SOT … EOT, zero padded */
    int *eot;   /* host [C]: argmax of each row (first occurrence) */
    int *name_lens; /* host [C]: BPE tokens of the class name alone (prompts_build only) */
} ClassPrompts;

/* the CoOp/ZeroshotCLIP template of a dataset ("a photo of a {}." when unknown); names are
 * Dassl's class names (OxfordPets, Caltech101, …) or clipgrid's (oxford_pets, caltech101, …) */
const char *zeroshot_template(const char *dataset);
/* "{}" of tmpl replaced by classname with '_' → ' '; caller frees */
char *prompt_format(const char *tmpl, const char *classname);
/* tokenise one prompt per class into rows of `context` ids (the model's, clip->cfg.context).
 * Returns 0, or −1 with cg_error set (e.g. a prompt too long). */
int prompts_build(ClassPrompts *p, const struct Tokenizer *tok, const char *tmpl,
                  const char *const *classnames, int C, int context);
/* from already tokenised rows [C, context] */
void prompts_from_ids(ClassPrompts *p, const int *ids, int C, int context);
void prompts_free(ClassPrompts *p);
/* the rows prompts [c0, c0 + n) need: their last end-of-text row + 1 (exact: causal mask) */
int prompts_rows(const ClassPrompts *p, int c0, int n);
/* token embeddings dst [n, T, D] (device) of rows 0..T−1 of prompts [c0, c0 + n) */
void prompts_embed(const ClipModel *m, const ClassPrompts *p, int c0, int n, int T, float *dst);

/* raw (unnormalised) text features [C,E] of token-id prompts; device memory, caller k_frees.
 * Runs the tower only up to the last EOT of the batch, in chunks of `chunk` prompts. */
float *text_features(const ClipModel *m, const ClassPrompts *p, int chunk);
/* raw image features [B,E] of normalised images [B,3,R,R] (device) */
float *image_features(const ClipModel *m, const float *images, int B);
/* the frozen-feature tap of this thread (train.c's evaluation sets it around a test set whose
 * features are cached): while set, image_features records each call's rows into rows[next…]
 * (host) or, with replay, returns rows[next…] without running the tower; NULL: off */
typedef struct {
    float *rows;          /* [n, E] host, in call order */
    size_t n, next;       /* capacity and rows used (in images) */
    int replay;
} FeatureTap;
void image_features_tap(FeatureTap *tap);

#endif
