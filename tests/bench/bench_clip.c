/* tests/bench/bench_clip.c — throughput of the hot paths next to a reference measured in the
 * same run: OpenBLAS sgemm GFLOP/s at a large square size; the ViT-B/16 image tower forward
 * (images/s, GFLOP/s at 35.13 GFLOP per image, ratio to sgemm); the text tower forward +
 * backward for 100 CoOp-shaped prompts (16 context rows, one-token class names), with and
 * without the EOT truncation. Not a test: it asserts nothing about speed. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clip_random.h"
#include "core/clip_tower.h"
#include "core/clip_weights.h"
#include "core/util.h"

#define GFLOP_PER_IMAGE 35.13

static double bench_sgemm(int n, int reps) {
    float *a = cg_malloc((size_t)n * n * 4), *b = cg_malloc((size_t)n * n * 4);
    float *c = cg_malloc((size_t)n * n * 4);
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        double t = cg_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t = cg_now() - t;
        if (r > 0 && t < best) best = t; /* the first call warms up threads and caches */
    }
    free(a), free(b), free(c);
    return 2.0 * n * n * (double)n / best / 1e9;
}

static double bench_vision(const ClipModel *m, int B, int reps) {
    size_t n = (size_t)B * 3 * 224 * 224;
    float *h = cg_malloc(n * 4);
    clip_random_fill_host(h, n, "bench.image", 1, 0, 1);
    float *img = k_alloc(n);
    k_upload(img, h, n);
    free(h);
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        TowerInput in = tower_input_defaults();
        in.B = B, in.images = img;
        double t = cg_now();
        tower_free(tower_forward(m, TOWER_VISION, &in));
        t = cg_now() - t;
        if (r > 0 && t < best) best = t;
    }
    k_free(img);
    return B / best;
}

/* 100 prompts: SOT, 16 context rows, class, '.', EOT → EOT at row 19 */
static double bench_text(const ClipModel *m, int truncate, int reps) {
    int B = 100, T = 77, D = m->cfg.txt.width;
    size_t n = (size_t)B * T * D;
    float *h = cg_malloc(n * 4);
    clip_random_fill_host(h, n, "bench.embeds", 1, 0, 0.02);
    float *emb = k_alloc(n), *d_in = k_alloc(n), *df = k_alloc((size_t)B * m->cfg.embed);
    k_upload(emb, h, n);
    k_fill(df, 0.01f, (size_t)B * m->cfg.embed);
    free(h);
    int *eot = cg_malloc(B * sizeof(int));
    for (int b = 0; b < B; b++) eot[b] = 19;
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        TowerInput in = tower_input_defaults();
        in.B = B, in.embeds = emb, in.T_in = T, in.pool_rows = eot;
        in.truncate = truncate, in.last_query_only = truncate;
        in.want_grad = 1, in.d_input = d_in;
        double t = cg_now();
        TowerRun *run = tower_forward(m, TOWER_TEXT, &in);
        tower_backward(run, NULL, df);
        tower_free(run);
        t = cg_now() - t;
        if (r > 0 && t < best) best = t;
    }
    k_free(emb), k_free(d_in), k_free(df), free(eot);
    return best * 1e3;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 0, B = argc > 2 ? atoi(argv[2]) : 8;
    k_init_cpu(threads);
    printf("backend %s, %d threads\n", k_backend_name(), k_threads());
    /* the reference: OpenBLAS's own threading on all the backend's threads (the backend itself
     * runs OpenBLAS single-threaded inside its OpenMP regions) */
    openblas_set_num_threads(k_threads());
    double peak = bench_sgemm(3072, 3);
    openblas_set_num_threads(1);
    printf("sgemm 3072^3 (OpenBLAS, %d threads) %8.1f GFLOP/s\n", k_threads(), peak);
    ClipConfig cfg;
    clip_config_from_arch(&cfg, "ViT-B/16");
    ClipModel m;
    if (clip_random_model(&m, &cfg, 1) != 0) cg_fatal("%s", cg_error());
    double ips = bench_vision(&m, B, 2);
    printf("ViT-B/16 image tower forward, B=%d %8.2f images/s  %8.1f GFLOP/s  = %5.1f %% of sgemm\n",
           B, ips, ips * GFLOP_PER_IMAGE, 100 * ips * GFLOP_PER_IMAGE / peak);
    double t_trunc = bench_text(&m, 1, 2), t_full = bench_text(&m, 0, 1);
    printf("text tower fwd+bwd, 100 CoOp prompts (EOT row 19): %8.1f ms truncated, %8.1f ms at 77 "
           "rows (%.1fx)\n", t_trunc, t_full, t_full / t_trunc);
    clip_model_free(&m);
    return 0;
}
