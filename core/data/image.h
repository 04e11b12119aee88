/* core/data/image.h — images as researchers' datasets hold them, and the exact preprocessing of
 * protocol.md §6 / clip.md §7:
 *   - decoding by content (JPEG through libjpeg-turbo, PNG through libpng; a PNG named .JPEG
 *     works), converted to 8-bit RGB as Pillow's convert("RGB") does (gray, CMYK, palette,
 *     alpha, 16-bit);
 *   - Pillow's antialiased fixed-point bicubic resize (uint8 intermediate), bit-exact;
 *   - the test transform (shorter side to `res`, centre crop with Python's round) and the
 *     training transform (torchvision RandomResizedCrop parameters, flip p = 0.5), then ToTensor
 *     and CLIP's normalisation into CHW float32;
 *   - writing JPEG/PNG (for the synthetic datasets).
 * Functions that read input return 0, or −1 with cg_error set to a message naming the file. */
#ifndef CLIPGRID_CORE_IMAGE_H
#define CLIPGRID_CORE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int w, h;
    uint8_t *px; /* RGB interleaved, row-major, h·w·3 bytes */
} ImageRGB;

extern const float CLIP_MEAN[3], CLIP_STD[3];

int image_decode_file(const char *path, ImageRGB *out);
/* `name` is only used in error messages */
int image_decode_mem(const uint8_t *buf, size_t n, const char *name, ImageRGB *out);
void image_free(ImageRGB *im);

/* Pillow Image.resize((w, h), BICUBIC) on RGB uint8, bit-exact (box = whole image) */
void image_resize_bicubic(const ImageRGB *src, int w, int h, ImageRGB *dst);
/* Pillow resize of the box (left, top, left+cw, top+ch) of src to (w, h): what torchvision's
 * resized_crop does through PIL — crop, then resize the cropped image, so the filter never reads
 * pixels outside the box (unlike Image.resize's own box argument). The box must lie inside src. */
void image_resized_crop(const ImageRGB *src, int left, int top, int cw, int ch, int w, int h,
                        ImageRGB *dst);

typedef struct {
    int top, left, h, w;
} CropBox;
/* torchvision RandomResizedCrop.get_params for an image W×H, scale (s0,s1), ratio (r0,r1).
 * `uniform` returns doubles in [0,1); it is called in torchvision's order: per attempt one
 * draw for the area, one for the log-ratio, and on acceptance one for top, one for left
 * (randint(0, H−h+1) taken as floor(u·(H−h+1))), so at most 22 draws. Each uniform draw u
 * becomes torch's float32 sample of U(a, b): (float)(a + u·(b − a)) with a, b rounded to
 * float32 (the log-ratio bounds are float32 logf(r0), logf(r1)); the aspect ratio is expf of
 * that float32, as torch.exp on a float32 tensor. Rounding is Python's round (ties to even).
 * Boxes always lie inside the image. */
CropBox rrc_params(int W, int H, double s0, double s1, double r0, double r1,
                   double (*uniform)(void *ctx), void *ctx);

/* torchvision Resize(res) on a w×h image: the shorter side becomes res, the longer
 * int(res·long/short) (Python float division, truncated) */
void image_shorter_side_size(int w, int h, int res, int *nw, int *nh);
/* torchvision CenterCrop(res) origin on a w×h image (w, h ≥ res): round((w − res)/2) and
 * round((h − res)/2) with Python's round (ties to even) */
void image_center_crop_origin(int w, int h, int res, int *left, int *top);

/* uint8 RGB → float CHW, (v/255 − mean)/std computed in float32 as torchvision does */
void image_to_chw(const ImageRGB *im, int flip, float *out);

/* The two Dassl/CLIP pipelines, output [3, res, res] float32 host memory. */
void image_test_transform(const ImageRGB *src, int res, float *out);
void image_train_transform(const ImageRGB *src, int res, double (*uniform)(void *ctx),
                           void *ctx, float *out);
/* the same with RandomResizedCrop's scale range (s0, s1) (Dassl INPUT.RRCROP_SCALE; MMRL uses
 * (0.5, 1)); image_train_transform is this with (0.08, 1). Draws: rrc_params's, then one for
 * the flip (flipped when the draw is < 0.5, as RandomHorizontalFlip's torch.rand(1) < p). */
void image_train_transform_scale(const ImageRGB *src, int res, double s0, double s1,
                                 double (*uniform)(void *ctx), void *ctx, float *out);

/* writers (synthetic datasets, tests): quality 1..100 */
int image_write_jpeg(const char *path, const ImageRGB *im, int quality);
int image_write_jpeg_gray(const char *path, const ImageRGB *im, int quality); /* luma only */
/* Adobe YCCK JPEG whose CMYK reads back through Pillow's conversion as about `im` */
int image_write_jpeg_cmyk(const char *path, const ImageRGB *im, int quality);
int image_write_png(const char *path, const ImageRGB *im);

#endif
