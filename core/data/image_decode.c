/* core/data/image_decode.c — JPEG (libjpeg-turbo) and PNG (libpng) files to 8-bit RGB, recognised by
 * their first bytes, never by name, and converted the way Pillow's Image.open(…).convert("RGB")
 * does (Pillow 9.4, the version of the reference):
 *   JPEG: libjpeg defaults (islow DCT, fancy upsampling) as Pillow's decoder; 1 component → L,
 *         3 → RGB, 4 → CMYK read as Adobe-inverted ("CMYK;I") then Pillow's cmyk2rgb;
 *         libjpeg warnings are ignored as Pillow ignores them, except running out of data
 *         (a file cut anywhere before its EOI marker is refused, as by Pillow).
 *   PNG:  gray 1/2/4/8 → L (expanded ×255/×85/×17), gray 16 → Pillow's mode "I", clamped to
 *         0..255 by convert("RGB"); 16-bit colour keeps the high byte; alpha dropped, not
 *         composited; palette looked up with Pillow's rule that entries past the PLTE are the
 *         gray ramp (i, i, i); tRNS ignored. A missing IEND after complete image data is
 *         accepted, as by Pillow; CRC errors are refused (libpng's default).
 * Every failure returns −1 with cg_error naming the file. */
#include <stdio.h> /* before jpeglib.h, which needs FILE and size_t */
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/image.h"
#include "base/util.h"

/* Pillow refuses images over twice Image.MAX_IMAGE_PIXELS (DecompressionBombError) */
#define MAX_PIXELS (2LL * (1024 * 1024 * 1024 / 4 / 3))

void image_free(ImageRGB *im) {
    free(im->px);
    im->px = NULL;
    im->w = im->h = 0;
}

static int alloc_rgb(ImageRGB *out, long long w, long long h, const char *name) {
    if (w < 1 || h < 1 || w * h > MAX_PIXELS) {
        cg_error_set("%s: image size %lld×%lld is empty or over Pillow's limit of %lld pixels", name,
                     w, h, MAX_PIXELS);
        return -1;
    }
    out->w = (int)w, out->h = (int)h;
    out->px = cg_malloc((size_t)(w * h * 3));
    return 0;
}

/* ---- JPEG ---- */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} JpegErr;

static void jpeg_fail(j_common_ptr c) {
    JpegErr *e = (JpegErr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

/* warnings (level −1) are ignored like Pillow's decoder ignores them, except the one libjpeg's
 * memory source raises when the data ends early (Pillow: "image file is truncated") */
static void jpeg_message(j_common_ptr c, int level) {
    if (level == -1 && c->err->msg_code == JWRN_JPEG_EOF) jpeg_fail(c);
}

static void jpeg_silent(j_common_ptr c) { (void)c; }

/* Pillow: "CMYK;I" unpack inverts, then cmyk2rgb: nk = 255 − k, out = nk − nk·c/255 */
static inline uint8_t muldiv255(int a, int b) {
    int t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

static void jpeg_row_to_rgb(const uint8_t *in, int ncomp, int w, uint8_t *out) {
    for (int x = 0; x < w; x++, out += 3) {
        if (ncomp == 1) {
            out[0] = out[1] = out[2] = in[x];
        } else if (ncomp == 3) {
            memcpy(out, in + 3 * x, 3);
        } else {
            const uint8_t *p = in + 4 * x;
            int nk = p[3]; /* 255 − (255 − k_stored) */
            for (int c = 0; c < 3; c++) out[c] = (uint8_t)(nk - muldiv255(255 - p[c], nk));
        }
    }
}

static int decode_jpeg(const uint8_t *buf, size_t n, const char *name, ImageRGB *out) {
    struct jpeg_decompress_struct ci;
    JpegErr err;
    uint8_t *volatile row = NULL;
    ImageRGB *volatile res = out;
    res->px = NULL;
    ci.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_fail;
    err.pub.emit_message = jpeg_message;
    err.pub.output_message = jpeg_silent;
    if (setjmp(err.jb)) {
        cg_error_set("%s: corrupt or truncated JPEG: %s", name, err.msg);
        jpeg_destroy_decompress(&ci);
        free(row);
        image_free(res);
        return -1;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    int nc = ci.num_components;
    if (nc != 1 && nc != 3 && nc != 4) {
        cg_error_set("%s: JPEG with %d components (Pillow reads 1, 3 or 4)", name, nc);
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    ci.out_color_space = nc == 1 ? JCS_GRAYSCALE : nc == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_start_decompress(&ci);
    if (alloc_rgb(res, ci.output_width, ci.output_height, name)) {
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    row = cg_malloc((size_t)ci.output_width * (size_t)nc);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW r = row;
        uint8_t *dst = res->px + (size_t)ci.output_scanline * res->w * 3;
        jpeg_read_scanlines(&ci, &r, 1);
        jpeg_row_to_rgb(row, nc, res->w, dst);
    }
    jpeg_finish_decompress(&ci); /* reads to EOI: a file without one is truncated, as for Pillow */
    jpeg_destroy_decompress(&ci);
    free(row);
    return 0;
}

/* ---- PNG ---- */

typedef struct {
    const uint8_t *p;
    size_t n, at;
    const char *name;
    char msg[256];
} PngSrc;

static void png_read_mem(png_structp png, png_bytep dst, size_t len) {
    PngSrc *s = png_get_io_ptr(png);
    if (len > s->n - s->at) png_error(png, "file ends before the image data does (truncated)");
    memcpy(dst, s->p + s->at, len);
    s->at += len;
}

static void png_fail(png_structp png, png_const_charp msg) {
    PngSrc *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* one decoded row (after libpng's transforms below) to RGB */
static void png_row_to_rgb(const uint8_t *in, int ctype, int depth16, const uint8_t pal[256][3],
                           int w, uint8_t *out) {
    for (int x = 0; x < w; x++, out += 3) {
        switch (ctype) {
        case PNG_COLOR_TYPE_PALETTE:
            memcpy(out, pal[in[x]], 3);
            break;
        case PNG_COLOR_TYPE_GRAY:
            if (depth16) { /* Pillow "I" → RGB clamps */
                int v = in[2 * x] << 8 | in[2 * x + 1];
                out[0] = out[1] = out[2] = (uint8_t)(v > 255 ? 255 : v);
            } else {
                out[0] = out[1] = out[2] = in[x];
            }
            break;
        case PNG_COLOR_TYPE_GRAY_ALPHA:
            out[0] = out[1] = out[2] = in[2 * x];
            break;
        case PNG_COLOR_TYPE_RGB:
            memcpy(out, in + 3 * x, 3);
            break;
        default: /* RGBA */
            memcpy(out, in + 4 * x, 3);
        }
    }
}

/* Pillow's palette: PLTE entries, then the gray ramp for indices past them */
static void png_palette(png_structp png, png_infop info, uint8_t pal[256][3]) {
    for (int i = 0; i < 256; i++) pal[i][0] = pal[i][1] = pal[i][2] = (uint8_t)i;
    png_colorp plte = NULL;
    int np = 0;
    if (png_get_PLTE(png, info, &plte, &np) & PNG_INFO_PLTE)
        for (int i = 0; i < np && i < 256; i++)
            pal[i][0] = plte[i].red, pal[i][1] = plte[i].green, pal[i][2] = plte[i].blue;
}

static int decode_png(const uint8_t *buf, size_t n, const char *name, ImageRGB *out) {
    PngSrc src = {buf, n, 0, name, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) cg_fatal("libpng: cannot create read structures");
    uint8_t *volatile rows = NULL;
    png_bytep *volatile rowp = NULL;
    ImageRGB *volatile res = out;
    res->px = NULL;
    if (setjmp(png_jmpbuf(png))) {
        cg_error_set("%s: corrupt or truncated PNG: %s", name, src.msg);
        png_destroy_read_struct(&png, &info, NULL);
        free(rows), free(rowp);
        image_free(res);
        return -1;
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_DEFAULT);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    uint8_t pal[256][3];
    int gray16 = ctype == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (ctype == PNG_COLOR_TYPE_PALETTE) {
        png_palette(png, info, pal);
        if (depth < 8) png_set_packing(png);
    } else if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (depth == 16 && !gray16) png_set_strip_16(png); /* high byte, as Pillow's ";16B" */
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (alloc_rgb(res, w, h, name)) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    size_t rb = png_get_rowbytes(png, info);
    rows = cg_malloc(rb * h);
    rowp = cg_malloc(sizeof(png_bytep) * h);
    for (png_uint_32 y = 0; y < h; y++) rowp[y] = rows + rb * y;
    png_read_image(png, rowp);
    for (png_uint_32 y = 0; y < h; y++)
        png_row_to_rgb(rowp[y], ctype, gray16, (const uint8_t(*)[3])pal, (int)w,
                       res->px + (size_t)y * w * 3);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows), free(rowp);
    return 0;
}

/* ---- by content ---- */

int image_decode_mem(const uint8_t *buf, size_t n, const char *name, ImageRGB *out) {
    static const uint8_t PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    out->px = NULL, out->w = out->h = 0;
    if (n >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return decode_jpeg(buf, n, name, out);
    if (n >= 8 && !memcmp(buf, PNG_SIG, 8)) return decode_png(buf, n, name, out);
    cg_error_set("%s: not an image: neither JPEG nor PNG content (%zu bytes)", name, n);
    return -1;
}

int image_decode_file(const char *path, ImageRGB *out) {
    size_t n = 0;
    out->px = NULL, out->w = out->h = 0;
    char *buf = cg_read_file(path, &n);
    if (!buf) return -1;
    int rc = image_decode_mem((const uint8_t *)buf, n, path, out);
    free(buf);
    return rc;
}
