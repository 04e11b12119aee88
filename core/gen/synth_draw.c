/* core/gen/synth_draw.c — the pictures of the synthetic datasets: a shape of the class's colour and
 * texture on a noisy background of random shade, with random size, position and image shape.
 * Every value comes from a counter-based stream keyed by (seed, style, class, index). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/rng.h"
#include "core/gen/synth.h"
#include "base/util.h"

#define N_COLOURS 10
#define N_SHAPES 8
#define N_TEXTURES 3

static const char *const COLOUR_NAMES[N_COLOURS] = {"red",    "green", "blue",  "yellow", "purple",
                                                    "orange", "cyan",  "pink",  "brown",  "black"};
static const uint8_t COLOURS[N_COLOURS][3] = {
    {220, 30, 30},  {30, 160, 40},  {30, 60, 220},  {240, 220, 30}, {140, 40, 170},
    {250, 140, 20}, {30, 200, 210}, {250, 130, 180}, {130, 80, 30}, {15, 15, 15}};
static const char *const SHAPE_NAMES[N_SHAPES] = {"circle", "square", "triangle", "star",
                                                  "ring",   "cross",  "diamond",  "crescent"};
static const char *const TEXTURE_NAMES[N_TEXTURES] = {"", "striped ", "dotted "};

/* class c → (colour, shape, texture); the pairs are distinct for c < 240 because
 * c + c/10 = 11·(c/10) + c%10 and 11 is coprime with 8 */
static void class_parts(int c, int *colour, int *shape, int *texture) {
    *colour = c % N_COLOURS;
    *shape = (c + c / N_COLOURS) % N_SHAPES;
    *texture = (c / (N_COLOURS * N_SHAPES)) % N_TEXTURES;
}

void synth_classname(int c, char *buf, size_t n) {
    int col, sh, tx;
    class_parts(c, &col, &sh, &tx);
    snprintf(buf, n, "%s%s %s", TEXTURE_NAMES[tx], COLOUR_NAMES[col], SHAPE_NAMES[sh]);
}

void synth_class_parts(int c, int *colour, int *shape, int *texture) {
    class_parts(c, colour, shape, texture);
}
const char *synth_colour_name(int colour) { return COLOUR_NAMES[colour % N_COLOURS]; }
const char *synth_shape_name(int shape) { return SHAPE_NAMES[shape % N_SHAPES]; }
const char *synth_texture_word(int texture) {
    static const char *const W[N_TEXTURES] = {"", "striped", "dotted"};
    return W[texture % N_TEXTURES];
}

/* the draws of synth_draw below, by their position in the stream: 0 w, 1 h, 2 background,
 * 3–5 tint, 6–8 colour jitter, 9 radius, 10 cx, 11 cy (keep the two in step) */
void synth_geometry(const SynthSpec *s, const char *stream, int c, int index, SynthGeometry *g) {
    uint64_t key = cg_rng_key(s->seed, ((uint64_t)c << 32) | (uint32_t)index, stream);
    int span = s->max_side - s->min_side + 1;
    g->w = s->min_side + (int)(cg_rng_uniform(key, 0) * span);
    g->h = s->min_side + (int)(cg_rng_uniform(key, 1) * span);
    int side = g->w < g->h ? g->w : g->h;
    g->rad = side * (0.22 + 0.2 * cg_rng_uniform(key, 9));
    g->cx = g->rad * 0.8 + (g->w - 1.6 * g->rad) * cg_rng_uniform(key, 10);
    g->cy = g->rad * 0.8 + (g->h - 1.6 * g->rad) * cg_rng_uniform(key, 11);
}

/* is (u, v), in units of the shape's radius around its centre, inside the shape? */
static int inside(int shape, double u, double v) {
    double r = sqrt(u * u + v * v), t = atan2(v, u);
    switch (shape) {
    case 0: return r <= 1.0;
    case 1: return fabs(u) <= 0.8 && fabs(v) <= 0.8;
    case 2: return v <= 0.75 && v >= -0.9 && fabs(u) <= (v + 0.9) * 0.6;
    case 3: return r <= 0.45 + 0.5 * pow(fabs(cos(2.5 * (t + M_PI / 2))), 3.0);
    case 4: return r <= 1.0 && r >= 0.55;
    case 5: return (fabs(u) <= 0.3 && fabs(v) <= 0.95) || (fabs(v) <= 0.3 && fabs(u) <= 0.95);
    case 6: return fabs(u) + fabs(v) <= 1.0;
    default: return r <= 1.0 && (u - 0.45) * (u - 0.45) + v * v > 0.7 * 0.7;
    }
}

static uint8_t clamp_u8(double v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrint(v)); }

void synth_draw(const SynthSpec *s, const char *style, const char *stream, int c, int index,
                ImageRGB *out) {
    uint64_t key = cg_rng_key(s->seed, ((uint64_t)c << 32) | (uint32_t)index, stream);
    CgStream st = cg_stream(key, 0);
    int span = s->max_side - s->min_side + 1;
    int w = s->min_side + (int)(cg_stream_uniform(&st) * span);
    int h = s->min_side + (int)(cg_stream_uniform(&st) * span);
    int col, sh, tx;
    class_parts(c, &col, &sh, &tx);
    double bg = 70 + 150 * cg_stream_uniform(&st), bg_tint[3];
    for (int k = 0; k < 3; k++) bg_tint[k] = bg + 30 * (cg_stream_uniform(&st) - 0.5);
    double fg[3];
    for (int k = 0; k < 3; k++) fg[k] = COLOURS[col][k] + 36 * (cg_stream_uniform(&st) - 0.5);
    int side = w < h ? w : h;
    double rad = side * (0.22 + 0.2 * cg_stream_uniform(&st));
    double cx = rad * 0.8 + (w - 1.6 * rad) * cg_stream_uniform(&st);
    double cy = rad * 0.8 + (h - 1.6 * rad) * cg_stream_uniform(&st);
    double stripe = 2.5 + 3 * cg_stream_uniform(&st), noise = 14;
    int sketch = !strcmp(style, "sketch"), rendition = !strcmp(style, "rendition");
    if (!strcmp(style, "adversarial")) noise = 60;
    if (rendition) noise = 0;
    out->w = w;
    out->h = h;
    out->px = cg_malloc((size_t)w * h * 3);
    uint64_t nkey = cg_rng_key(key, 1, "synth noise");
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = (x + 0.5 - cx) / rad, v = (y + 0.5 - cy) / rad;
            int in = inside(sh, u, v);
            if (in && sketch) { /* outline only: inside, but next to the outside */
                double d = 1.5 / rad;
                in = !inside(sh, u + d, v) || !inside(sh, u - d, v) || !inside(sh, u, v + d) ||
                     !inside(sh, u, v - d);
            }
            double shade = 1.0;
            if (in && tx == 1 && fmod((x + y) / stripe, 2.0) < 1.0) shade = 0.55;
            if (in && tx == 2) {
                double fx = fmod(x / (2 * stripe), 1.0) - 0.5, fy = fmod(y / (2 * stripe), 1.0) - 0.5;
                if (fx * fx + fy * fy < 0.08) shade = 1.6;
            }
            double n = noise * (cg_rng_uniform(nkey, (uint64_t)y * w + x) - 0.5);
            uint8_t *p = out->px + ((size_t)y * w + x) * 3;
            for (int k = 0; k < 3; k++) {
                double base = sketch ? 235 : bg_tint[k];
                double val = in ? (shade > 1 ? fg[k] + (255 - fg[k]) * (shade - 1) : fg[k] * shade)
                                : base;
                p[k] = clamp_u8(val + n);
            }
        }
}
