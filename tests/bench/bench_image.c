/* tests/bench/bench_image.c — images/s through decode + test transform (Pillow-exact bicubic
 * resize of the shorter side to 224, centre crop, ToTensor + Normalize) on 500×375 JPEGs (the
 * typical ImageNet size) written here, per core and on all cores; then the same files through
 * Pillow + torchvision on one core (tests/reference/image_bench_ref.py, when Debian's
 * python3-torchvision is installed) for the ratio. Not a test: it asserts nothing about speed.
 * Usage: bench_image [N_IMAGES [SECONDS_PER_MEASURE]] */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/data/image.h"
#include "base/util.h"

#define W 500
#define H 375
#define RES 224

/* a photo-like picture: gradients, discs, texture and sensor noise (realistic JPEG sizes) */
static ImageRGB scene(uint32_t seed) {
    ImageRGB im = {W, H, cg_malloc((size_t)W * H * 3)};
    uint32_t s = seed * 2654435761u + 1;
    double ph[3], cx[4], cy[4], r[4];
    for (int c = 0; c < 3; c++) ph[c] = (s = s * 1664525u + 1013904223u) / 4294967296.0 * 6.28;
    for (int d = 0; d < 4; d++) {
        cx[d] = (s = s * 1664525u + 1013904223u) % W, cy[d] = (s = s * 1664525u + 1013904223u) % H;
        r[d] = 20 + (s = s * 1664525u + 1013904223u) % 120;
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = im.px + ((size_t)y * W + x) * 3;
            int disc = -1;
            for (int d = 0; d < 4; d++)
                if ((x - cx[d]) * (x - cx[d]) + (y - cy[d]) * (y - cy[d]) < r[d] * r[d]) disc = d;
            for (int c = 0; c < 3; c++) {
                double v = disc >= 0 ? 60 + 50 * disc + 30 * c
                                     : 127 + 90 * sin(x * 0.02 * (c + 1) + ph[c]) * cos(y * 0.015 * (c + 2));
                v += 25 * sin(x * 0.7 + y * 0.3 * (c + 1)) * sin(y * 0.5); /* texture */
                v += (double)((s = s * 1664525u + 1013904223u) >> 28) - 7.5; /* noise */
                p[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    return im;
}

/* decode (+ test transform) of every file, repeated for `seconds`, on `threads` threads:
 * images/s */
static double run(char **paths, int n, int threads, double seconds, int transform) {
    float *out = cg_malloc(sizeof(float) * 3 * RES * RES * (size_t)threads);
    long done = 0;
    double t0 = cg_now(), el = 0;
    int failed = 0;
    while (el < seconds) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(+ : failed)
        for (int i = 0; i < n; i++) {
            ImageRGB im;
            if (image_decode_file(paths[i], &im)) {
                failed++;
                continue;
            }
            if (transform)
                image_test_transform(&im, RES, out + (size_t)omp_get_thread_num() * 3 * RES * RES);
            image_free(&im);
        }
        done += n;
        el = cg_now() - t0;
    }
    if (failed) cg_fatal("bench_image: %d decodes failed", failed);
    free(out);
    return done / el;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 64;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    char dir[] = "/tmp/clipgrid_bench_image_XXXXXX";
    if (!mkdtemp(dir)) cg_fatal("mkdtemp failed");
    char **paths = cg_malloc(sizeof(char *) * n);
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "img_%03d.jpg", i);
        paths[i] = cg_path_join(dir, name);
        ImageRGB im = scene((uint32_t)i);
        if (image_write_jpeg(paths[i], &im, 90)) cg_fatal("%s", cg_error());
        image_free(&im);
        FILE *f = fopen(paths[i], "rb");
        fseek(f, 0, SEEK_END);
        bytes += (size_t)ftell(f);
        fclose(f);
    }
    int cores = omp_get_max_threads();
    printf("image pipeline: %d JPEGs %dx%d (q90, mean %.0f KB), decode + resize to %d + crop + "
           "normalise\n", n, W, H, bytes / 1024.0 / n, RES);
    run(paths, n, 1, 0.2, 1); /* warm the page cache */
    double dec = run(paths, n, 1, seconds, 0);
    double one = run(paths, n, 1, seconds, 1);
    double all = run(paths, n, cores, seconds, 1);
    printf("  clipgrid  1 core: %8.1f images/s   %d cores: %8.1f images/s (%.1f per core); "
           "decode alone %.1f images/s\n", one, cores, all, all / cores, dec);

    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/reference/image_bench_ref.py %s %g 2>/dev/null", dir,
             seconds);
    FILE *py = access("/usr/bin/python3", X_OK) == 0 ? popen(cmd, "r") : NULL;
    double ref = 0;
    char line[256], ver[256] = "";
    while (py && fgets(line, sizeof line, py))
        if (sscanf(line, "images/s %lf", &ref) != 1 && !strncmp(line, "versions ", 9))
            snprintf(ver, sizeof ver, "%s", line + 9), ver[strcspn(ver, "\n")] = 0;
    if (py) pclose(py);
    if (ref > 0)
        printf("  Pillow + torchvision (%s) 1 core: %8.1f images/s   → clipgrid/reference %.2f×\n", ver, ref,
               one / ref);
    else
        printf("  (Pillow + torchvision reference not available: apt-get install python3-torchvision)\n");
    for (int i = 0; i < n; i++) unlink(paths[i]), free(paths[i]);
    free(paths);
    rmdir(dir);
    return 0;
}
