/* core/data/image_resize.c — Pillow's ImagingResample with the BICUBIC filter for 8-bit RGB,
 * bit-exact (clip.md §7.1, Pillow src/libImaging/Resample.c): per axis, antialiased cubic
 * (a = −0.5) weights in double, normalised, turned into 22-bit fixed point (rounded half away
 * from zero); the horizontal pass first, over only the source rows the vertical pass reads,
 * into a uint8 image; then the vertical pass. A pass whose size does not change is skipped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/image.h"
#include "base/util.h"

#define PRECISION_BITS 22

typedef struct {
    int ksize;
    int *bounds;  /* per output index: first source index, count */
    int32_t *k;   /* per output index: ksize fixed-point weights */
} Coeffs;

static double bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* precompute_coeffs + normalize_coeffs_8bpc for the box [0, in) of an axis of size `in` */
static Coeffs coeffs_make(int in, int out) {
    double scale = (double)(float)in / out, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    Coeffs c;
    c.ksize = (int)ceil(support) * 2 + 1;
    c.bounds = cg_malloc(sizeof(int) * 2 * (size_t)out);
    c.k = cg_malloc(sizeof(int32_t) * (size_t)c.ksize * out);
    double *w = cg_malloc(sizeof(double) * (size_t)c.ksize);
    for (int o = 0; o < out; o++) {
        double center = (o + 0.5) * scale, ss = 1.0 / filterscale, sum = 0.0;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in) hi = in;
        int cnt = hi - lo;
        for (int x = 0; x < cnt; x++) sum += w[x] = bicubic((x + lo - center + 0.5) * ss);
        int32_t *k = c.k + (size_t)o * c.ksize;
        for (int x = 0; x < c.ksize; x++) {
            double v = x < cnt ? (sum != 0.0 ? w[x] / sum : w[x]) : 0.0;
            k[x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS)
                                   : 0.5 + v * (1 << PRECISION_BITS));
        }
        c.bounds[2 * o] = lo, c.bounds[2 * o + 1] = cnt;
    }
    free(w);
    return c;
}

static void coeffs_free(Coeffs *c) { free(c->bounds), free(c->k); }

static inline uint8_t clip8(int v) {
    if (v >= (1 << PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

/* one output row segment of VBLK values: the sums stay in registers over the taps */
enum { VBLK = 64 };
static inline void vertical_block(const uint8_t *s, size_t sstride, const int32_t *k, int cnt,
                                  uint8_t *d) {
    int acc[VBLK];
    for (int i = 0; i < VBLK; i++) acc[i] = 1 << (PRECISION_BITS - 1);
    for (int y = 0; y < cnt; y++, s += sstride)
        for (int i = 0; i < VBLK; i++) acc[i] += s[i] * k[y];
    for (int i = 0; i < VBLK; i++) d[i] = clip8(acc[i]);
}

/* every output row from the source (width w) rows named by cy's bounds (relative to src) */
static void pass_vertical(const uint8_t *src, size_t sstride, int w, const Coeffs *cy, int hout,
                          uint8_t *dst) {
    int n = 3 * w, nb = n / VBLK * VBLK;
    for (int o = 0; o < hout; o++) {
        const int32_t *k = cy->k + (size_t)o * cy->ksize;
        const uint8_t *s = src + (size_t)cy->bounds[2 * o] * sstride;
        int cnt = cy->bounds[2 * o + 1];
        uint8_t *d = dst + (size_t)o * n;
        for (int i = 0; i < nb; i += VBLK) vertical_block(s + i, sstride, k, cnt, d + i);
        for (int i = nb; i < n; i++) {
            int acc = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < cnt; y++) acc += s[(size_t)y * sstride + i] * k[y];
            d[i] = clip8(acc);
        }
    }
}

/* RGB pixels: dst (w rows of h pixels) = transpose of src (h rows of w pixels, row stride
 * `stride` bytes), in cache-sized tiles */
static void transpose_rgb(const uint8_t *src, size_t stride, int w, int h, uint8_t *dst) {
    enum { TILE = 32 };
    for (int y0 = 0; y0 < h; y0 += TILE)
        for (int x0 = 0; x0 < w; x0 += TILE)
            for (int x = x0; x < x0 + TILE && x < w; x++)
                for (int y = y0; y < y0 + TILE && y < h; y++)
                    memcpy(dst + ((size_t)x * h + y) * 3, src + (size_t)y * stride + (size_t)x * 3, 3);
}

/* rows [0, h) of dst (width = cx's outputs) from source rows y0 + [0, h): the same sums as
 * Pillow's horizontal pass, computed as a vertical pass on the transposed rows */
static void pass_horizontal(const uint8_t *src, size_t sstride, int sw, int y0, int h,
                            const Coeffs *cx, int wout, uint8_t *dst) {
    uint8_t *t = cg_malloc((size_t)sw * h * 3), *u = cg_malloc((size_t)wout * h * 3);
    transpose_rgb(src + (size_t)y0 * sstride, sstride, sw, h, t);
    pass_vertical(t, (size_t)h * 3, h, cx, wout, u);
    transpose_rgb(u, (size_t)h * 3, h, wout, dst);
    free(t), free(u);
}

/* Pillow ImagingResampleInner on a (sw × sh) RGB view with row stride `stride` */
static void resample(const uint8_t *src, size_t stride, int sw, int sh, int w, int h,
                     ImageRGB *dst) {
    if (w < 1 || h < 1 || sw < 1 || sh < 1)
        cg_fatal("image resize: bad sizes %d×%d → %d×%d", sw, sh, w, h);
    dst->w = w, dst->h = h;
    dst->px = cg_malloc((size_t)w * h * 3);
    int need_h = w != sw, need_v = h != sh;
    if (!need_h && !need_v) {
        for (int y = 0; y < h; y++) memcpy(dst->px + (size_t)y * w * 3, src + y * stride, (size_t)w * 3);
        return;
    }
    Coeffs cy = coeffs_make(sh, h);
    int y_first = cy.bounds[0], y_last = cy.bounds[2 * h - 2] + cy.bounds[2 * h - 1];
    if (need_h) {
        Coeffs cx = coeffs_make(sw, w);
        uint8_t *tmp = need_v ? cg_malloc((size_t)w * (y_last - y_first) * 3) : dst->px;
        if (need_v) {
            pass_horizontal(src, stride, sw, y_first, y_last - y_first, &cx, w, tmp);
            for (int o = 0; o < h; o++) cy.bounds[2 * o] -= y_first;
            pass_vertical(tmp, (size_t)w * 3, w, &cy, h, dst->px);
            free(tmp);
        } else {
            pass_horizontal(src, stride, sw, 0, h, &cx, w, dst->px);
        }
        coeffs_free(&cx);
    } else {
        pass_vertical(src, stride, w, &cy, h, dst->px);
    }
    coeffs_free(&cy);
}

void image_resize_bicubic(const ImageRGB *src, int w, int h, ImageRGB *dst) {
    resample(src->px, (size_t)src->w * 3, src->w, src->h, w, h, dst);
}

void image_resized_crop(const ImageRGB *src, int left, int top, int cw, int ch, int w, int h,
                        ImageRGB *dst) {
    if (left < 0 || top < 0 || cw < 1 || ch < 1 || left + cw > src->w || top + ch > src->h)
        cg_fatal("image_resized_crop: box (%d,%d) %d×%d outside the %d×%d image", left, top, cw,
                 ch, src->w, src->h);
    size_t stride = (size_t)src->w * 3;
    resample(src->px + top * stride + (size_t)left * 3, stride, cw, ch, w, h, dst);
}
