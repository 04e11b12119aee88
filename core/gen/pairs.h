/* core/gen/pairs.h — synthetic image–caption pairs for pretraining (clipgrid pretrain): the
 * pictures of core/gen/synth.h with captions built from a vocabulary of colours, shapes,
 * textures, sizes and positions, e.g. "a photo of a small red striped star on the left." —
 * in the order "a photo of a [size] [texture] colour shape [position]."; size and position
 * are each named in half of the captions.
 * Held out: the (colour, shape) pairs of synth classes 0 … holdout−1 — the classes of the demo's
 * datasets — never occur in a caption, in any texture, so zero-shot on those datasets has to
 * compose words it only saw apart. Pair i is a pure function of (seed, i). */
#ifndef CLIPGRID_CORE_PAIRS_H
#define CLIPGRID_CORE_PAIRS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t seed;
    int holdout;              /* held-out classes 0 … holdout−1 (0: none) */
    int image_res;            /* model input R: images [3,R,R] */
    int min_side, max_side;   /* drawn image sides (as the demo's datasets) */
} PairSpec;

PairSpec pair_defaults(void); /* seed 0, holdout 12, R 64, sides 48…96 */
/* the synth class of pair i: one whose (colour, shape) pair is not held out */
int pair_class(const PairSpec *p, uint64_t i);
/* is class c's (colour, shape) held out? */
int pair_held_out(const PairSpec *p, int c);
void pair_caption(const PairSpec *p, uint64_t i, char *buf, size_t n);
/* the image as model input: CLIP's test transform (resize, centre crop, normalise), [3,R,R] */
void pair_image(const PairSpec *p, uint64_t i, float *chw);

#endif
