/* core/gen/image_write.c — RGB images to files, for the synthetic datasets and the tests: JPEG
 * (RGB as YCbCr 4:2:0, gray through libjpeg's own RGB → luma conversion, and CMYK as an Adobe
 * YCCK file, the kind Photoshop writes and ImageNet holds) with libjpeg, 8-bit RGB PNG with
 * libpng. The CMYK values are chosen so that Pillow's CMYK → RGB conversion gives back about the
 * original colours: k = 255 − max(r, g, b), c = 255·(1 − r/(255 − k)), stored Adobe-inverted. */
#include <errno.h>
#include <stdio.h> /* before jpeglib.h, which needs FILE and size_t */
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/image.h"
#include "base/util.h"

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} WriteErr;

static void write_fail(j_common_ptr c) {
    WriteErr *e = (WriteErr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

static void rgb_to_adobe_cmyk(const uint8_t *rgb, uint8_t *out) {
    int nk = rgb[0] > rgb[1] ? rgb[0] : rgb[1];
    if (rgb[2] > nk) nk = rgb[2];
    for (int c = 0; c < 3; c++) {
        int cc = nk ? (255 * (nk - rgb[c]) + nk / 2) / nk : 0;
        out[c] = (uint8_t)(255 - cc);
    }
    out[3] = (uint8_t)nk; /* 255 − k */
}

/* kind: 1 = gray, 3 = RGB, 4 = CMYK (YCCK) */
static int write_jpeg(const char *path, const ImageRGB *im, int quality, int kind) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        cg_error_set("%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    struct jpeg_compress_struct c;
    WriteErr err;
    uint8_t *volatile row = NULL;
    c.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = write_fail;
    if (setjmp(err.jb)) {
        cg_error_set("%s: cannot write JPEG: %s", path, err.msg);
        jpeg_destroy_compress(&c);
        fclose(f);
        free(row);
        return -1;
    }
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)im->w, c.image_height = (JDIMENSION)im->h;
    c.input_components = kind == 4 ? 4 : 3;
    c.in_color_space = kind == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    if (kind == 1) jpeg_set_colorspace(&c, JCS_GRAYSCALE);
    if (kind == 4) jpeg_set_colorspace(&c, JCS_YCCK);
    jpeg_set_quality(&c, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    row = cg_malloc((size_t)im->w * 4);
    while (c.next_scanline < c.image_height) {
        const uint8_t *src = im->px + (size_t)c.next_scanline * im->w * 3;
        if (kind == 4)
            for (int x = 0; x < im->w; x++) rgb_to_adobe_cmyk(src + 3 * x, row + 4 * x);
        else
            memcpy(row, src, (size_t)im->w * 3);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    if (fclose(f)) {
        cg_error_set("%s: write error: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int image_write_jpeg(const char *path, const ImageRGB *im, int quality) {
    return write_jpeg(path, im, quality, 3);
}

int image_write_jpeg_gray(const char *path, const ImageRGB *im, int quality) {
    return write_jpeg(path, im, quality, 1);
}

int image_write_jpeg_cmyk(const char *path, const ImageRGB *im, int quality) {
    return write_jpeg(path, im, quality, 4);
}

static void png_write_fail(png_structp png, png_const_charp msg) {
    snprintf(png_get_error_ptr(png), 256, "%s", msg);
    png_longjmp(png, 1);
}

int image_write_png(const char *path, const ImageRGB *im) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        cg_error_set("%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    char msg[256] = "";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, msg, png_write_fail, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) cg_fatal("libpng: cannot create write structures");
    if (setjmp(png_jmpbuf(png))) {
        cg_error_set("%s: cannot write PNG: %s", path, msg);
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < im->h; y++) png_write_row(png, im->px + (size_t)y * im->w * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (fclose(f)) {
        cg_error_set("%s: write error: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
