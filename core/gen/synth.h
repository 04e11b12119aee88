/* core/gen/synth.h — synthetic datasets for tests and the demo: N classes of generated images
 * (class = colour × shape × texture, e.g. "red circle", "striped blue star"; random background,
 * size, position, aspect ratio and image size), written as real JPEG/PNG files with the split
 * files of a chosen real dataset's layout, so everything downstream goes through the real
 * readers and decoders. Deterministic from the seed. Among the files: every 7th image (from the
 * 4th) is a grayscale JPEG, image 1 is a CMYK JPEG and image 2 a PNG under a .jpg (or .JPEG) name. */
#ifndef CLIPGRID_CORE_SYNTH_H
#define CLIPGRID_CORE_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/data/image.h"

#define SYNTH_MAX_CLASSES 240 /* 10 colours × 8 shapes × 3 textures */

typedef struct {
    int classes;             /* 1 … SYNTH_MAX_CLASSES */
    int train, val, test;    /* images per class in each list */
    uint64_t seed;
    int min_side, max_side;  /* image width and height range in pixels */
    int quality;             /* JPEG quality */
} SynthSpec;

/* defaults: 4 classes, 8/2/4 images, seed 0, sides 48…160, quality 90 */
SynthSpec synth_defaults(void);

/* the class name of class c: "red circle", …, "striped red circle", … */
void synth_classname(int c, char *buf, size_t n);

/* Draw image `index` of class c in a style ("photo", "sketch": outlines on white,
 * "adversarial": heavy noise, "rendition": flat, no noise). The image is a pure function of
 * (seed, stream name, c, index); the style only changes the look. */
void synth_draw(const SynthSpec *s, const char *style, const char *stream, int c, int index,
                ImageRGB *out);

/* The class's parts (indices into the colour, shape and texture lists) and their words
 * ("red", "circle", "" / "striped" / "dotted"), for caption generators (core/gen/pairs.h). */
void synth_class_parts(int c, int *colour, int *shape, int *texture);
const char *synth_colour_name(int colour);
const char *synth_shape_name(int shape);
const char *synth_texture_word(int texture);

/* Where synth_draw(s, any style, stream, c, index) puts its shape: image size w×h, the shape's
 * centre (cx, cy) and radius in pixels (the same draws of the same stream). */
typedef struct {
    int w, h;
    double cx, cy, rad;
} SynthGeometry;
void synth_geometry(const SynthSpec *s, const char *stream, int c, int index, SynthGeometry *g);

/* Write the dataset whose layout is that of `layout` (any clipgrid dataset name) into
 * root/<dataset_dirname(layout)>; the folder name is returned in *dir (caller frees) when dir
 * is not NULL. ImageNet-A/R hold the even classes only (a subset, as the real ones hold 200 of
 * the 1000). Returns 0, or −1 with cg_error set. */
int synth_write(const char *root, const char *layout, const SynthSpec *s, char **dir);

#endif
