/* tests/bench/bench_clip.c — throughput of the hot paths next to a reference measured in the
 * same run. Backend and product precision: $CLIPGRID_BACKEND (cpu when unset) and
 * $CLIPGRID_PRECISION (fp32 when unset), see tests/bench/bench_methods.h.
 * - reference: on the CPU, OpenBLAS sgemm GFLOP/s at 3072³; on the GPU, the rate of our own
 *   op_matmul (cuBLAS) on an 8192³ product (K_W_OUT_IN) at fp32 and at bf16 (and at the run's
 *   precision when another): the "GPU matmul rate";
 * - the ViT-B/16 image tower forward at batch B: images/s, TFLOP/s at 35.13 GFLOP per image and
 *   the fraction of the reference (MFU against the measured rate at the same precision);
 * - the text tower forward + backward for 100 CoOp-shaped prompts (16 context rows, one-token
 *   class names), with and without the EOT truncation.
 * Every GPU timing ends with the stream drained (bench_sync). Not a test: it asserts nothing.
 *   bench_clip [THREADS (0: all)] [B (8; 128 on the GPU)] [REPS (2)] [--no-text] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gen/clip_random.h"
#include "core/model/clip_tower.h"
#include "core/model/clip_weights.h"
#include "base/util.h"
#include "kernels/cpu/cpu_blas.h"  // defines: cblas_sgemm, cpu_blas_set_threads
#include "tests/bench/bench_methods.h"

#define GFLOP_PER_IMAGE 35.13
#define GPU_GEMM 8192

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

/* GFLOP/s of op_matmul y[n,n] = x·Wᵀ at `precision` (W frozen, as the CLIP weights are: the
 * backend may keep a converted copy), best of `reps` after a warm-up; the precision in use is
 * restored */
static double bench_op_matmul(int n, const char *precision, int reps) {
    char saved[16];
    snprintf(saved, sizeof saved, "%s", k_matmul_precision());
    if (k_set_matmul_precision(precision) != 0) cg_fatal("%s", cg_error());
    size_t nn = (size_t)n * n;
    float *x = k_alloc(nn), *w = k_alloc(nn), *y = k_alloc(nn);
    k_fill(x, 0.01f, nn), k_fill(w, 0.02f, nn);
    k_weights_frozen(w, nn);
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        bench_sync(y);
        double t = cg_now();
        op_matmul(y, x, w, NULL, n, n, n, K_W_OUT_IN, 0);
        bench_sync(y);
        t = cg_now() - t;
        if (r > 0 && t < best) best = t;
    }
    k_free(x), k_free(w), k_free(y);
    k_set_matmul_precision(saved);
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
        bench_sync(img);
        double t = cg_now();
        TowerRun *run = tower_forward(m, TOWER_VISION, &in);
        bench_sync(tower_features(run));
        t = cg_now() - t;
        tower_free(run);
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
        bench_sync(emb);
        double t = cg_now();
        TowerRun *run = tower_forward(m, TOWER_TEXT, &in);
        tower_backward(run, NULL, df);
        bench_sync(d_in);
        t = cg_now() - t;
        tower_free(run);
        if (r > 0 && t < best) best = t;
    }
    k_free(emb), k_free(d_in), k_free(df), free(eot);
    return best * 1e3;
}

/* the reference rate (GFLOP/s) at the run's precision: printed with the others */
static double reference_rate(void) {
    if (!bench_on_gpu()) {
        /* OpenBLAS's own threading on all the backend's threads (the backend itself runs OpenBLAS
         * single-threaded inside its OpenMP regions) */
        cpu_blas_set_threads(k_threads());
        double peak = bench_sgemm(3072, 3);
        cpu_blas_set_threads(1);
        printf("sgemm 3072^3 (OpenBLAS, %d threads) %8.1f GFLOP/s\n", k_threads(), peak);
        return peak;
    }
    const char *prec = k_matmul_precision();
    double fp32 = bench_op_matmul(GPU_GEMM, "fp32", 3), bf16 = bench_op_matmul(GPU_GEMM, "bf16", 5);
    printf("GPU matmul rate, op_matmul (cuBLAS) %d^3: fp32 %8.1f TFLOP/s, bf16 %8.1f TFLOP/s\n",
           GPU_GEMM, fp32 / 1e3, bf16 / 1e3);
    if (!strcmp(prec, "fp32")) return fp32;
    if (!strcmp(prec, "bf16")) return bf16;
    double own = bench_op_matmul(GPU_GEMM, prec, 5);
    printf("GPU matmul rate, op_matmul (cuBLAS) %d^3: %s %8.1f TFLOP/s\n", GPU_GEMM, prec, own / 1e3);
    return own;
}

int main(int argc, char **argv) {
    int pos[3] = {0, 0, 2}, npos = 0, text = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-text")) text = 0;
        else if (npos < 3) pos[npos++] = atoi(argv[i]);
    }
    bench_backend_init(pos[0]);
    int B = pos[1] > 0 ? pos[1] : bench_on_gpu() ? 128 : 8, reps = pos[2] > 0 ? pos[2] : 2;
    double peak = reference_rate();
    ClipConfig cfg;
    clip_config_from_arch(&cfg, "ViT-B/16");
    ClipModel m;
    if (clip_random_model(&m, &cfg, 1) != 0) cg_fatal("%s", cg_error());
    double ips = bench_vision(&m, B, reps), rate = ips * GFLOP_PER_IMAGE;
    if (bench_on_gpu())
        printf("ViT-B/16 image tower forward, B=%d, %s: %8.1f images/s  %7.1f TFLOP/s  MFU %5.1f %% "
               "of the measured %s matmul rate\n", B, k_matmul_precision(), ips, rate / 1e3,
               100 * rate / peak, k_matmul_precision());
    else
        printf("ViT-B/16 image tower forward, B=%d %8.2f images/s  %8.1f GFLOP/s  = %5.1f %% of sgemm\n",
               B, ips, rate, 100 * rate / peak);
    fflush(stdout);
    if (text) {
        double t_trunc = bench_text(&m, 1, reps), t_full = bench_text(&m, 0, reps > 1 ? reps - 1 : 1);
        printf("text tower fwd+bwd, 100 CoOp prompts (EOT row 19): %8.1f ms truncated, %8.1f ms at 77 "
               "rows (%.1fx)\n", t_trunc, t_full, t_full / t_trunc);
    }
    clip_model_free(&m);
    return 0;
}
