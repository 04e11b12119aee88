/* core/data/image_transform.c — the Dassl/torchvision pipelines of protocol.md §6 on decoded RGB:
 * test = Resize(res) (shorter side, bicubic) + CenterCrop(res); train = RandomResizedCrop(res,
 * scale, ratio (3/4, 4/3), bicubic) + RandomHorizontalFlip(0.5); both end with ToTensor +
 * Normalize(CLIP mean/std): (float(v)/255 − mean)/std, each operation rounded to float32 as the
 * torch ops are (uint8 → float32, div 255, sub mean, div std). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/image.h"
#include "base/util.h"

const float CLIP_MEAN[3] = {0.48145466f, 0.4578275f, 0.40821073f};
const float CLIP_STD[3] = {0.26862954f, 0.26130258f, 0.27577711f};

/* the 256 normalised values of each channel (the same float32 ops as torch, done once) */
static void norm_table(float t[3][256]) {
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) {
            float x = (float)v / 255.0f;           /* ToTensor: .float().div(255) */
            x = x - CLIP_MEAN[c];                 /* Normalize: .sub(mean) */
            t[c][v] = x / CLIP_STD[c];            /*            .div(std) */
        }
}

/* the w×h window at (x0, y0) of an RGB image with row stride `stride` → CHW float */
static void window_to_chw(const uint8_t *px, size_t stride, int x0, int y0, int w, int h,
                          int flip, float *out) {
    float t[3][256];
    norm_table(t);
    size_t plane = (size_t)w * h;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = px + (size_t)(y0 + y) * stride + (size_t)x0 * 3;
        for (int x = 0; x < w; x++) {
            const uint8_t *p = row + 3 * (size_t)(flip ? w - 1 - x : x);
            size_t i = (size_t)y * w + x;
            out[i] = t[0][p[0]], out[plane + i] = t[1][p[1]], out[2 * plane + i] = t[2][p[2]];
        }
    }
}

void image_to_chw(const ImageRGB *im, int flip, float *out) {
    window_to_chw(im->px, (size_t)im->w * 3, 0, 0, im->w, im->h, flip, out);
}

void image_shorter_side_size(int w, int h, int res, int *nw, int *nh) {
    int s = w <= h ? w : h, l = w <= h ? h : w;
    int nl = (int)((double)((long long)res * l) / (double)s);
    *nw = w <= h ? res : nl;
    *nh = w <= h ? nl : res;
}

void image_center_crop_origin(int w, int h, int res, int *left, int *top) {
    *left = (int)rint((w - res) / 2.0); /* Python round: ties to even */
    *top = (int)rint((h - res) / 2.0);
}

void image_test_transform(const ImageRGB *src, int res, float *out) {
    int nw, nh, left, top;
    image_shorter_side_size(src->w, src->h, res, &nw, &nh);
    ImageRGB tmp = {0, 0, NULL};
    const ImageRGB *r = src;
    if (nw != src->w || nh != src->h) {
        image_resize_bicubic(src, nw, nh, &tmp);
        r = &tmp;
    }
    image_center_crop_origin(r->w, r->h, res, &left, &top);
    window_to_chw(r->px, (size_t)r->w * 3, left, top, res, res, 0, out);
    image_free(&tmp);
}

/* torch.empty(1).uniform_(a, b).item(): bounds and result in float32 */
static double uniform_f32(double u, float a, float b) {
    return (double)(float)((double)a + u * ((double)b - (double)a));
}

CropBox rrc_params(int W, int H, double s0, double s1, double r0, double r1,
                   double (*uniform)(void *ctx), void *ctx) {
    double area = (double)W * H;
    float lr0 = logf((float)r0), lr1 = logf((float)r1);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * uniform_f32(uniform(ctx), (float)s0, (float)s1);
        double aspect = (double)expf((float)uniform_f32(uniform(ctx), lr0, lr1));
        int w = (int)rint(sqrt(target * aspect)), h = (int)rint(sqrt(target / aspect));
        if (0 < w && w <= W && 0 < h && h <= H) {
            CropBox b = {.h = h, .w = w};
            b.top = (int)floor(uniform(ctx) * (H - h + 1));
            b.left = (int)floor(uniform(ctx) * (W - w + 1));
            return b;
        }
    }
    double in_ratio = (double)W / (double)H, rmin = fmin(r0, r1), rmax = fmax(r0, r1);
    CropBox b = {.w = W, .h = H};
    if (in_ratio < rmin) b.h = (int)rint(W / rmin);
    else if (in_ratio > rmax) b.w = (int)rint(H * rmax);
    b.top = (H - b.h) / 2, b.left = (W - b.w) / 2; /* both ≥ 0: Python's // is floor */
    return b;
}

void image_train_transform_scale(const ImageRGB *src, int res, double s0, double s1,
                                 double (*uniform)(void *ctx), void *ctx, float *out) {
    CropBox b = rrc_params(src->w, src->h, s0, s1, 3.0 / 4.0, 4.0 / 3.0, uniform, ctx);
    ImageRGB crop;
    image_resized_crop(src, b.left, b.top, b.w, b.h, res, res, &crop);
    int flip = uniform(ctx) < 0.5;
    image_to_chw(&crop, flip, out);
    image_free(&crop);
}

void image_train_transform(const ImageRGB *src, int res, double (*uniform)(void *ctx),
                           void *ctx, float *out) {
    image_train_transform_scale(src, res, 0.08, 1.0, uniform, ctx, out);
}
