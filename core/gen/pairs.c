/* core/gen/pairs.c — synthetic image–caption pairs for pretraining (core/gen/pairs.h). */
#include "core/gen/pairs.h"

#include <stdio.h>

#include "core/base/rng.h"
#include "core/data/image.h"
#include "core/gen/synth.h"

#define PAIR_STREAM "pretrain pairs"

PairSpec pair_defaults(void) {
    return (PairSpec){.seed = 0, .holdout = 12, .image_res = 64, .min_side = 48, .max_side = 96};
}

static SynthSpec synth_spec(const PairSpec *p) {
    SynthSpec s = synth_defaults();
    s.seed = p->seed, s.classes = SYNTH_MAX_CLASSES, s.min_side = p->min_side, s.max_side = p->max_side;
    return s;
}

int pair_held_out(const PairSpec *p, int c) {
    int col, sh, tx, col2, sh2, tx2;
    synth_class_parts(c, &col, &sh, &tx);
    for (int h = 0; h < p->holdout; h++) {
        synth_class_parts(h, &col2, &sh2, &tx2);
        if (col == col2 && sh == sh2) return 1;
    }
    return 0;
}

int pair_class(const PairSpec *p, uint64_t i) {
    uint64_t key = cg_rng_key(p->seed, i, "pretrain pair class");
    for (uint64_t k = 0;; k++) { /* rejection: at most 12 of 80 (colour, shape) pairs are out */
        int c = (int)(cg_rng_u64(key, k) % SYNTH_MAX_CLASSES);
        if (!pair_held_out(p, c)) return c;
    }
}

void pair_caption(const PairSpec *p, uint64_t i, char *buf, size_t n) {
    SynthSpec s = synth_spec(p);
    int c = pair_class(p, i), col, sh, tx;
    synth_class_parts(c, &col, &sh, &tx);
    SynthGeometry g;
    synth_geometry(&s, PAIR_STREAM, c, (int)(i & 0x7fffffff), &g);
    uint64_t key = cg_rng_key(p->seed, i, "pretrain caption");
    int side = g.w < g.h ? g.w : g.h;
    /* the centre across the centre crop of the test transform */
    double xf = (g.cx - (g.w - side) / 2.0) / side;
    const char *size = cg_rng_uniform(key, 0) < 0.5 ? "" : g.rad / side < 0.32 ? "small " : "large ";
    const char *pos = cg_rng_uniform(key, 1) < 0.5 ? ""
                      : xf < 0.4 ? " on the left" : xf > 0.6 ? " on the right" : " in the middle";
    const char *tw = synth_texture_word(tx);
    snprintf(buf, n, "a photo of a %s%s%s%s %s%s.", size, tw, *tw ? " " : "",
             synth_colour_name(col), synth_shape_name(sh), pos);
}

void pair_image(const PairSpec *p, uint64_t i, float *chw) {
    SynthSpec s = synth_spec(p);
    ImageRGB im = {0};
    synth_draw(&s, "photo", PAIR_STREAM, pair_class(p, i), (int)(i & 0x7fffffff), &im);
    image_test_transform(&im, p->image_res, chw);
    image_free(&im);
}
