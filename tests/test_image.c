/* tests/test_image.c — the image pipeline against Pillow 9.4 / torchvision 0.14:
 *   - clip.md §7.2 vectors (synthetic images through the test transform at 224);
 *   - tests/data/images/expected.h5 (tests/reference/image_ref.py): per fixture file, decoded
 *     pixels, Pillow resizes to several sizes, test transform (uint8 crop and float tensor) and
 *     train transforms on recorded draws, all compared bit for bit; RandomResizedCrop boxes for
 *     many sizes and draw sequences; ToTensor + Normalize of every uint8 value;
 *   - bad input (missing, corrupt, truncated, not an image) → −1 with the file named;
 *   - the writers (read back through the decoder).
 * `test_image --write-fixtures DIR` writes the writer-made fixture files the reference reads. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/data/image.h"
#include "base/util.h"
#include "results/h5read.h"
#include "tests/testlib.h"

#define FIXDIR "tests/data/images"

/* clip.md §7.2: R = (3x + 5y) mod 256, G = x·y mod 256, B = (255 − x) mod 256 */
static ImageRGB synthetic(int w, int h) {
    ImageRGB im = {w, h, cg_malloc((size_t)w * h * 3)};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = im.px + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)((3 * x + 5 * y) % 256), p[1] = (uint8_t)((x * y) % 256);
            p[2] = (uint8_t)((255 - x) % 256);
        }
    return im;
}

/* a picture with smooth areas and edges, for the writers */
static ImageRGB picture(int w, int h) {
    ImageRGB im = {w, h, cg_malloc((size_t)w * h * 3)};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = im.px + ((size_t)y * w + x) * 3;
            int disc = (x - w / 2) * (x - w / 2) + (y - h / 2) * (y - h / 2) < h * h / 9;
            p[0] = (uint8_t)(disc ? 220 : 255 * x / w);
            p[1] = (uint8_t)(disc ? 40 : 255 * y / h);
            p[2] = (uint8_t)(disc ? 90 : 128);
        }
    return im;
}

/* ---- clip.md §7.2 ---- */

typedef struct {
    int w, h, rw, rh, left, top;
    int u8[3][3];       /* at (0,0), (100,37), (223,223) as (row, col) */
    double t[3][3];
    long long sum_u8[3];
    double sum_t[3];
} SpecVector;

static const SpecVector SPEC[] = {
    {320, 240, 298, 224, 37, 0,
     {{119, 2, 215}, {2, 56, 176}, {241, 116, 232}},
     {{-0.05505, -1.722082, 1.577094}, {-1.763066, -0.911662, 1.022512}, {1.725958, -0.011196, 1.818836}},
     {6382171, 6294070, 6089440}, {3241.0895, 6546.7202, 12320.733}},
    {200, 300, 224, 336, 0, 56,
     {{250, 0, 255}, {27, 195, 222}, {50, 140, 56}},
     {{1.857344, -1.752097, 2.145897}, {-1.398105, 1.174418, 1.676635}, {-1.062341, 0.348991, -0.683896}},
     {6405017, 6315613, 7802368}, {3574.6051, 6870.0325, 36678.6828}},
    {224, 224, 224, 224, 0, 0,
     {{0, 0, 255}, {99, 116, 218}, {248, 65, 32}},
     {{-1.792263, -1.752097, 2.145897}, {-0.347018, -0.011196, 1.619755}, {1.828147, -0.776592, -1.025178}},
     {6393856, 6266880, 7200256}, {3411.6721, 6138.6584, 28116.6104}},
};

static void test_spec_vectors(void) {
    const int R = 224, at[3][2] = {{0, 0}, {100, 37}, {223, 223}};
    for (size_t v = 0; v < sizeof SPEC / sizeof SPEC[0]; v++) {
        const SpecVector *s = &SPEC[v];
        ImageRGB src = synthetic(s->w, s->h), rs;
        int rw, rh, left, top;
        image_shorter_side_size(s->w, s->h, R, &rw, &rh);
        CHECK(rw == s->rw && rh == s->rh, "%dx%d resized to %dx%d, spec %dx%d", s->w, s->h, rw, rh,
              s->rw, s->rh);
        image_resize_bicubic(&src, rw, rh, &rs);
        image_center_crop_origin(rw, rh, R, &left, &top);
        CHECK(left == s->left && top == s->top, "%dx%d crop at (%d,%d)", s->w, s->h, left, top);
        float *t = cg_malloc(sizeof(float) * 3 * R * R);
        image_test_transform(&src, R, t);
        long long su[3] = {0};
        double st[3] = {0};
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < R * R; i++) {
                su[c] += rs.px[((size_t)(top + i / R) * rw + left + i % R) * 3 + c];
                st[c] += t[c * R * R + i];
            }
        double worst = 0;
        for (int k = 0; k < 3; k++)
            for (int c = 0; c < 3; c++) {
                int y = at[k][0], x = at[k][1];
                int u = rs.px[((size_t)(top + y) * rw + left + x) * 3 + c];
                CHECK(u == s->u8[k][c], "%dx%d (%d,%d) channel %d: u8 %d, spec %d", s->w, s->h, y, x, c,
                      u, s->u8[k][c]);
                double d = fabs(t[c * R * R + y * R + x] - s->t[k][c]);
                if (d > worst) worst = d;
            }
        CHECK(worst < 1e-5, "%dx%d: normalised values differ from the spec by %.2g", s->w, s->h, worst);
        for (int c = 0; c < 3; c++) {
            CHECK(su[c] == s->sum_u8[c], "%dx%d channel %d: u8 sum %lld, spec %lld", s->w, s->h, c,
                  su[c], s->sum_u8[c]);
            CHECK(fabs(st[c] - s->sum_t[c]) < 2e-3, "%dx%d channel %d: sum %.4f, spec %.4f", s->w, s->h,
                  c, st[c], s->sum_t[c]);
        }
        printf("  clip.md §7.2 %dx%d: u8 values and sums exact, max |t − spec| %.1e\n", s->w, s->h, worst);
        free(t), image_free(&src), image_free(&rs);
    }
}

/* ---- fixtures ---- */

static int images_equal(const char *what, const ImageRGB *im, const ImageRGB *ref) {
    if (!ref->px || ref->w != im->w || ref->h != im->h) {
        CHECK(0, "%s: %dx%d, reference %dx%d", what, im->w, im->h, ref->w, ref->h);
        return 0;
    }
    size_t bad = 0, n = (size_t)im->w * im->h * 3;
    int worst = 0;
    for (size_t i = 0; i < n; i++)
        if (im->px[i] != ref->px[i]) {
            bad++;
            int d = abs(im->px[i] - ref->px[i]);
            if (d > worst) worst = d;
        }
    CHECK(bad == 0, "%s: %zu of %zu values differ from Pillow (max %d)", what, bad, n, worst);
    return bad == 0;
}

static int f32_equal(const char *what, const float *a, const float *ref, const H5Shape *sh, size_t n) {
    if (!ref || sh->n != n) {
        CHECK(0, "%s: reference missing or of the wrong size", what);
        return 0;
    }
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != ref[i]) {
            bad++;
            if (fabs(a[i] - ref[i]) > worst) worst = fabs(a[i] - ref[i]);
        }
    CHECK(bad == 0, "%s: %zu of %zu floats differ from torchvision (max %.3g)", what, bad, n, worst);
    return bad == 0;
}

typedef struct {
    const float *u;
    int n, i;
} DrawList;

static double next_draw(void *ctx) {
    DrawList *d = ctx;
    if (d->i >= d->n) cg_fatal("test_image: ran out of recorded draws");
    return d->u[d->i++];
}

/* a uint8 reference image [h, w, 3] from the file as an ImageRGB; NULL px if absent */
static ImageRGB read_u8(hid_t f, const char *path) {
    H5Shape sh;
    ImageRGB im = {0, 0, NULL};
    if (!h5r_exists(f, path)) return im;
    int *v = h5r_read_int(f, path, &sh);
    if (!v || sh.ndim != 3 || sh.dims[2] != 3) {
        CHECK(0, "%s: not an [h, w, 3] image: %s", path, cg_error());
        free(v);
        return im;
    }
    im.h = (int)sh.dims[0], im.w = (int)sh.dims[1];
    im.px = cg_malloc(sh.n);
    for (size_t i = 0; i < sh.n; i++) im.px[i] = (uint8_t)v[i];
    free(v);
    return im;
}

/* the tensor `t` [3, res, res] against `dir`/f32 when stored (torchvision's own tensor), and
 * against `dir`/`u8` (torchvision's uint8 image) through image_to_chw, checked on its own */
static int tensor_matches(hid_t f, const char *dir, const char *u8name, const char *f32name,
                          const float *t, int res, const char *label) {
    char p[800];
    size_t n = (size_t)3 * res * res;
    int ok = 1;
    snprintf(p, sizeof p, "%s/%s", dir, f32name);
    if (h5r_exists(f, p)) {
        H5Shape sh;
        float *ref = h5r_read_f32(f, p, &sh);
        ok &= f32_equal(label, t, ref, &sh, n);
        free(ref);
    }
    snprintf(p, sizeof p, "%s/%s", dir, u8name);
    ImageRGB u = read_u8(f, p);
    if (!u.px || u.w != res || u.h != res) {
        CHECK(0, "%s: %s missing or not %dx%d", label, p, res, res);
        image_free(&u);
        return 0;
    }
    float *ref = cg_malloc(sizeof(float) * n);
    image_to_chw(&u, 0, ref);
    H5Shape sh = {.n = n};
    ok &= f32_equal(label, t, ref, &sh, n);
    free(ref), image_free(&u);
    return ok;
}

static int check_train(hid_t f, const char *grp, const ImageRGB *im, int res, const char *label) {
    char p[700];
    double s0, s1;
    if (h5r_attr_double(f, grp, "s0", &s0) || h5r_attr_double(f, grp, "s1", &s1)) {
        CHECK(0, "%s", cg_error());
        return 0;
    }
    H5Shape sd, sb, sn;
    snprintf(p, sizeof p, "%s/draws", grp);
    float *draws = h5r_read_f32(f, p, &sd);
    snprintf(p, sizeof p, "%s/box", grp);
    int *box = h5r_read_int(f, p, &sb);
    snprintf(p, sizeof p, "%s/ndraws", grp);
    int *nd = h5r_read_int(f, p, &sn);
    int ok = 0;
    if (draws && box && nd) {
        DrawList d = {draws, (int)sd.n, 0};
        CropBox b = rrc_params(im->w, im->h, s0, s1, 3.0 / 4.0, 4.0 / 3.0, next_draw, &d);
        int same = b.top == box[0] && b.left == box[1] && b.h == box[2] && b.w == box[3];
        CHECK(same, "%s: box (%d,%d,%d,%d), torchvision (%d,%d,%d,%d)", label, b.top, b.left, b.h, b.w,
              box[0], box[1], box[2], box[3]);
        DrawList d2 = {draws, (int)sd.n, 0};
        float *t = cg_malloc(sizeof(float) * 3 * res * res);
        image_train_transform_scale(im, res, s0, s1, next_draw, &d2, t);
        CHECK(d2.i == nd[0], "%s: %d draws used, torchvision %d", label, d2.i, nd[0]);
        ok = same && d2.i == nd[0] && tensor_matches(f, grp, "u8", "f32", t, res, label);
        free(t);
    } else {
        CHECK(0, "%s: %s", label, cg_error());
    }
    free(draws), free(box), free(nd);
    return ok;
}

typedef struct {
    int cases, decoded, decoded_same, tests_same, resized, resized_same, trains, trains_same;
} Tally;

static void check_case(hid_t f, const char *grp, Tally *tally) {
    char *file = h5r_attr_string(f, grp, "file"), p[512], label[600];
    double resd;
    if (!file || h5r_attr_double(f, grp, "res", &resd)) {
        CHECK(0, "%s: %s", grp, cg_error());
        free(file);
        return;
    }
    int res = (int)resd;
    char *path = cg_path_join(FIXDIR, file);
    ImageRGB im;
    int rc = image_decode_file(path, &im);
    CHECK(rc == 0, "%s: %s", path, cg_error());
    if (rc) {
        free(file), free(path);
        return;
    }
    tally->cases++;
    snprintf(p, sizeof p, "%s/decoded", grp);
    snprintf(label, sizeof label, "%s decoded", grp);
    ImageRGB ref = read_u8(f, p);
    if (ref.px) {
        tally->decoded++;
        tally->decoded_same += images_equal(label, &im, &ref);
    }
    image_free(&ref);

    int n = 0;
    char **members = h5r_group_members(f, grp, &n);
    for (int i = 0; i < n; i++) {
        int tw, th;
        snprintf(p, sizeof p, "%s/%s", grp, members[i]);
        snprintf(label, sizeof label, "%s %s", grp, members[i]);
        if (sscanf(members[i], "resize_%dx%d", &tw, &th) == 2) {
            ImageRGB out;
            image_resize_bicubic(&im, tw, th, &out);
            ref = read_u8(f, p);
            tally->resized++;
            tally->resized_same += images_equal(label, &out, &ref);
            image_free(&ref), image_free(&out);
        } else if (!strncmp(members[i], "train_", 6)) {
            tally->trains++;
            tally->trains_same += check_train(f, p, &im, res, label);
        }
    }
    h5r_free_strings(members, n);

    /* test transform: the uint8 crop, then the tensor */
    int rw, rh, left, top;
    image_shorter_side_size(im.w, im.h, res, &rw, &rh);
    ImageRGB rs, crop = {res, res, cg_malloc((size_t)res * res * 3)};
    image_resize_bicubic(&im, rw, rh, &rs);
    image_center_crop_origin(rw, rh, res, &left, &top);
    for (int y = 0; y < res; y++)
        memcpy(crop.px + (size_t)y * res * 3, rs.px + ((size_t)(top + y) * rw + left) * 3, (size_t)res * 3);
    snprintf(p, sizeof p, "%s/test_u8", grp);
    snprintf(label, sizeof label, "%s test_u8", grp);
    ref = read_u8(f, p);
    int ok = images_equal(label, &crop, &ref);
    image_free(&ref);
    float *t = cg_malloc(sizeof(float) * 3 * res * res);
    image_test_transform(&im, res, t);
    snprintf(label, sizeof label, "%s test transform", grp);
    ok &= tensor_matches(f, grp, "test_u8", "test_f32", t, res, label);
    tally->tests_same += ok;
    free(t), image_free(&rs), image_free(&crop), image_free(&im), free(file), free(path);
}

static void test_fixtures(hid_t f) {
    int n = 0;
    char **groups = h5r_group_members(f, "/", &n);
    Tally t = {0};
    int expected = 0;
    for (int i = 0; i < n; i++) {
        if (!strchr(groups[i], '@')) continue;
        expected++;
        check_case(f, groups[i], &t);
    }
    h5r_free_strings(groups, n);
    CHECK(expected >= 20, "only %d fixture cases", expected);
    printf("  fixtures: %d cases; identical to Pillow/torchvision: decoded pixels %d/%d, test "
           "transforms %d/%d, resizes %d/%d, train transforms %d/%d\n",
           t.cases, t.decoded_same, t.decoded, t.tests_same, t.cases, t.resized_same, t.resized,
           t.trains_same, t.trains);
}

static void test_rrc_table(hid_t f) {
    H5Shape s1, s2, s3, s4, s5;
    int *wh = h5r_read_int(f, "rrc/WH", &s1), *box = h5r_read_int(f, "rrc/box", &s2);
    int *nd = h5r_read_int(f, "rrc/ndraws", &s3);
    float *sc = h5r_read_f32(f, "rrc/scale", &s4), *dr = h5r_read_f32(f, "rrc/draws", &s5);
    CHECK(wh && box && nd && sc && dr, "rrc table: %s", cg_error());
    if (!(wh && box && nd && sc && dr)) return;
    int n = (int)s1.dims[0], per = (int)s5.dims[1], same = 0, fallback = 0;
    for (int i = 0; i < n; i++) {
        DrawList d = {dr + (size_t)i * per, per, 0};
        CropBox b = rrc_params(wh[2 * i], wh[2 * i + 1], sc[2 * i], sc[2 * i + 1], 3.0 / 4.0, 4.0 / 3.0,
                               next_draw, &d);
        const int *r = box + 4 * i;
        int ok = b.top == r[0] && b.left == r[1] && b.h == r[2] && b.w == r[3] && d.i == nd[i];
        CHECK(ok, "rrc %dx%d case %d: (%d,%d,%d,%d) after %d draws, torchvision (%d,%d,%d,%d) after %d",
              wh[2 * i], wh[2 * i + 1], i, b.top, b.left, b.h, b.w, d.i, r[0], r[1], r[2], r[3], nd[i]);
        same += ok, fallback += nd[i] == 20;
    }
    printf("  RandomResizedCrop: %d/%d boxes and draw counts as torchvision (%d fallbacks)\n", same, n,
           fallback);
    free(wh), free(box), free(nd), free(sc), free(dr);
}

static void test_norm_lut(hid_t f) {
    H5Shape sh;
    float *lut = h5r_read_f32(f, "norm_lut", &sh);
    ImageRGB im = {256, 1, cg_malloc(256 * 3)};
    for (int v = 0; v < 256; v++) im.px[3 * v] = im.px[3 * v + 1] = im.px[3 * v + 2] = (uint8_t)v;
    float out[3 * 256];
    image_to_chw(&im, 0, out);
    f32_equal("ToTensor+Normalize of 0..255", out, lut, &sh, 3 * 256);
    /* flip reverses each row */
    float flipped[3 * 256];
    image_to_chw(&im, 1, flipped);
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int x = 0; x < 256; x++) ok &= flipped[c * 256 + x] == out[c * 256 + 255 - x];
    CHECK(ok, "image_to_chw flip is not the mirror image");
    free(lut), image_free(&im);
}

/* ---- bad input ---- */

static void expect_refused(const char *path) {
    ImageRGB im = {7, 7, (uint8_t *)1};
    int rc = image_decode_file(path, &im);
    CHECK(rc == -1, "%s: decoded (rc %d), expected a refusal", path, rc);
    CHECK(rc != -1 || strstr(cg_error(), path), "%s: message does not name the file: %s", path, cg_error());
    CHECK(rc != -1 || (im.px == NULL && im.w == 0), "%s: output not cleared after failure", path);
    if (rc == -1) printf("  refused: %s\n", cg_error());
    if (rc == 0) image_free(&im);
}

static void test_bad_input(hid_t f) {
    int n = 0;
    char **bad = h5r_attr_strings(f, "/", "bad", &n);
    CHECK(bad && n >= 5, "bad-input list: %s", cg_error());
    for (int i = 0; i < n; i++) {
        char rel[300];
        snprintf(rel, sizeof rel, "bad/%s", bad[i]);
        char *p = cg_path_join(FIXDIR, rel);
        expect_refused(p);
        free(p);
    }
    h5r_free_strings(bad, n);
    expect_refused(FIXDIR "/no_such_image.jpg");
    ImageRGB im;
    /* a PNG of 20000×10000 (IHDR, empty IDAT): over Pillow's decompression-bomb limit */
    uint8_t big[45] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                       0, 0, 0x4e, 0x20, 0, 0, 0x27, 0x10, 8, 2, 0, 0, 0, 0, 0, 0, 0,
                       0, 0, 0, 0, 'I', 'D', 'A', 'T'};
    uLong crc = crc32(0, big + 12, 17), crc2 = crc32(0, big + 37, 4);
    for (int i = 0; i < 4; i++)
        big[29 + i] = (uint8_t)(crc >> (24 - 8 * i)), big[41 + i] = (uint8_t)(crc2 >> (24 - 8 * i));
    CHECK(image_decode_mem(big, sizeof big, "huge.png", &im) == -1 && strstr(cg_error(), "huge.png") &&
              strstr(cg_error(), "limit"),
          "20000x10000 PNG: %s", cg_error());
    const uint8_t empty[1] = {0};
    CHECK(image_decode_mem(empty, 0, "empty.jpg", &im) == -1 && strstr(cg_error(), "empty.jpg"),
          "empty buffer accepted or not named: %s", cg_error());
}

/* ---- writers ---- */

static double mean_abs_diff(const ImageRGB *a, const ImageRGB *b) {
    double s = 0;
    size_t n = (size_t)a->w * a->h * 3;
    for (size_t i = 0; i < n; i++) s += abs(a->px[i] - b->px[i]);
    return s / n;
}

static int write_fixtures(const char *dir) {
    ImageRGB a = picture(70, 50), b = picture(50, 40);
    struct {
        const char *name;
        int rc;
    } w[4];
    char *p[4] = {cg_path_join(dir, "writer_ycck_70x50.jpg"), cg_path_join(dir, "writer_gray_50x40.jpg"),
                  cg_path_join(dir, "writer_rgb_50x40.jpg"), cg_path_join(dir, "writer_rgb_50x40.png")};
    w[0].rc = image_write_jpeg_cmyk(p[0], &a, 90);
    w[1].rc = image_write_jpeg_gray(p[1], &b, 90);
    w[2].rc = image_write_jpeg(p[2], &b, 90);
    w[3].rc = image_write_png(p[3], &b);
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        if (w[i].rc) fprintf(stderr, "%s\n", cg_error()), bad = 1;
        free(p[i]);
    }
    image_free(&a), image_free(&b);
    return bad;
}

static void test_writers(void) {
    char dir[] = "/tmp/clipgrid_test_image_XXXXXX";
    if (!mkdtemp(dir)) cg_fatal("mkdtemp failed");
    CHECK(write_fixtures(dir) == 0, "writers failed");
    ImageRGB b = picture(50, 40), a = picture(70, 50), r;
    const char *names[4] = {"writer_ycck_70x50.jpg", "writer_gray_50x40.jpg", "writer_rgb_50x40.jpg",
                            "writer_rgb_50x40.png"};
    for (int i = 0; i < 4; i++) {
        char *p = cg_path_join(dir, names[i]);
        int rc = image_decode_file(p, &r);
        CHECK(rc == 0, "%s", cg_error());
        if (rc == 0) {
            const ImageRGB *src = i == 0 ? &a : &b;
            CHECK(r.w == src->w && r.h == src->h, "%s: %dx%d read back", names[i], r.w, r.h);
            if (i == 1) { /* gray: compare to Pillow's luma of the source, R = G = B */
                double s = 0;
                int gray = 1;
                for (int k = 0; k < r.w * r.h; k++) {
                    const uint8_t *q = src->px + 3 * k, *o = r.px + 3 * k;
                    int l = (q[0] * 19595 + q[1] * 38470 + q[2] * 7471 + 0x8000) >> 16;
                    s += abs(o[0] - l), gray &= o[0] == o[1] && o[1] == o[2];
                }
                CHECK(gray && s / (r.w * r.h) < 3, "gray JPEG: gray %d, mean |Δ luma| %.2f", gray,
                      s / (r.w * r.h));
            } else {
                double e = mean_abs_diff(&r, src);
                CHECK(i == 3 ? e == 0 : e < 6, "%s read back: mean |Δ| %.3f", names[i], e);
                printf("  writer %s: read back, mean |Δ| %.3f\n", names[i], e);
            }
            image_free(&r);
        }
        unlink(p);
        free(p);
    }
    char *np = cg_path_join(dir, "no/such/dir.png");
    CHECK(image_write_png(np, &b) == -1 && strstr(cg_error(), np), "writing into a missing folder: %s",
          cg_error());
    free(np);
    rmdir(dir);
    image_free(&a), image_free(&b);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-fixtures")) return write_fixtures(argv[2]);
    double t0 = cg_now();
    test_spec_vectors();
    hid_t f = h5r_open(FIXDIR "/expected.h5");
    CHECK(f >= 0, "%s", cg_error());
    if (f >= 0) {
        test_norm_lut(f);
        test_fixtures(f);
        test_rrc_table(f);
        test_bad_input(f);
        h5r_close(f);
    }
    test_writers();
    printf("  (%.1f s)\n", cg_now() - t0);
    return test_finish("test_image");
}
