/* tests/fuzz/fuzz_image.c — libFuzzer harness of image decoding (core/data/image_decode.c: JPEG through
 * libjpeg-turbo, PNG through libpng, by content) and of the preprocessing that follows it
 * (core/data/image_resize.c, core/data/image_transform.c): the test transform, the training transform with
 * random crops and flips, and a resized crop of an arbitrary box. The last 5 bytes of the input
 * choose the output resolution and the crop; the rest is the image file. Images over 4096 pixels
 * are decoded but not transformed (only to keep each input fast; the transforms do not depend
 * on the size). */
#include "core/data/image.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    return 0;
}

typedef struct {
    const uint8_t *p;
    size_t n, at;
} Draws;

/* "random" numbers in [0, 1) from the input bytes, so crashes replay exactly */
static double draw(void *ctx) {
    Draws *d = ctx;
    uint8_t b = d->n ? d->p[d->at++ % d->n] : 0x55;
    return b / 256.0;
}

static void transforms(const ImageRGB *im, const uint8_t *k) {
    int res = 1 + k[0] % 48;
    float *out = malloc(sizeof(float) * 3 * (size_t)res * (size_t)res);
    image_test_transform(im, res, out);
    Draws d = {k, 5, 0};
    image_train_transform(im, res, draw, &d, out);
    image_train_transform_scale(im, res, 0.5, 1.0, draw, &d, out);
    free(out);
    /* a box inside the image, resized to k[4]-derived size */
    int cw = 1 + k[1] % im->w, ch = 1 + k[2] % im->h;
    int left = k[3] % (im->w - cw + 1), top = k[4] % (im->h - ch + 1);
    ImageRGB dst = {0};
    image_resized_crop(im, left, top, cw, ch, 1 + k[1] % 40, 1 + k[2] % 40, &dst);
    image_free(&dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 5) return 0;
    const uint8_t *k = data + size - 5;
    ImageRGB im;
    if (image_decode_mem(data, size - 5, "fuzz-input", &im) == 0) {
        if (im.w < 1 || im.h < 1 || !im.px) abort();
        if ((long)im.w * im.h <= 4096) transforms(&im, k);
        image_free(&im);
    }
    return 0;
}
