/* tests/bench/bench_methods.h — shared by the benchmarks (bench_clip.c; bench_methods.c for
 * CoOp, CoCoOp; bench_methods_deep.c for MaPLe, MuDPT, MMRL): the backend from
 * $CLIPGRID_BACKEND (cpu when unset; k_init_named) and the product precision from the bench-only
 * $CLIPGRID_PRECISION (fp32 when unset), a GPU sync before each clock read (the CUDA ops are
 * asynchronous on one stream: a 1-float k_download waits for them), a random CLIP with ViT-B/16
 * dimensions, the time of one training step of a method (forward, backward, optimiser step) at
 * a batch size and class count, the time of the same step computed the way the official code
 * computes it by a PyTorch script under tests/reference/ run in the same run (one line
 * "case=… ms=…"), and the report line with the speed-up and its target. Header-only (static). */
#ifndef CLIPGRID_TESTS_BENCH_METHODS_H
#define CLIPGRID_TESTS_BENCH_METHODS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gen/clip_random.h"
#include "core/model/clip_weights.h"
#include "core/methods/registry.h"
#include "core/train/step.h"
#include "core/gen/synth.h"
#include "core/text/tokenizer.h"
#include "base/util.h"
#include "kernels/ops.h"

#ifdef CG_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#define BENCH_VOCAB "data/clip/bpe_simple_vocab_16e6.txt.gz"

typedef struct {
    ClipModel clip;
    Tokenizer *tok;
    int threads, reps;
} BenchCtx;

/* wall-clock ms and process CPU ms (all threads) of the fastest step: on a machine shared
 * with other jobs the CPU figure is the steadier one */
typedef struct {
    double ms, cpu_ms;
} BenchTime;

static inline double bench_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the backend of $CLIPGRID_BACKEND on $CLIPGRID_DEVICE, then $CLIPGRID_PRECISION; prints "backend …, device …, precision …" */
static inline void bench_backend_init(int threads) {
    const char *be = getenv("CLIPGRID_BACKEND"), *dev = getenv("CLIPGRID_DEVICE");
    if (k_init_named(be, threads, dev && *dev ? atoi(dev) : -1) != 0) cg_fatal("bench: %s", cg_error());
    const char *prec = getenv("CLIPGRID_PRECISION");
    if (prec && *prec && k_set_matmul_precision(prec) != 0) cg_fatal("bench: %s", cg_error());
    char device[160] = "host CPU";
#ifdef CG_HAVE_CUDA
    struct cudaDeviceProp prop;
    if (k_backend() == K_BACKEND_CUDA &&
        cudaGetDeviceProperties(&prop, k_cuda_device()) == cudaSuccess)
        snprintf(device, sizeof device, "GPU %d %.100s (sm_%d%d, %.1f GiB)", k_cuda_device(),
                 prop.name, prop.major, prop.minor, (double)prop.totalGlobalMem / 1073741824.0);
#endif
    printf("backend %s, device %s, %d host threads, matmul precision %s\n", k_backend_name(),
           device, k_threads(), k_matmul_precision());
    fflush(stdout);
}

static inline int bench_on_gpu(void) {
    return k_backend() == K_BACKEND_CUDA;
}

/* waits for every queued op (CUDA: the stream; a no-op's cost on the CPU): read the clock after */
static inline void bench_sync(const float *any_device_ptr) {
    float one;
    if (any_device_ptr) k_download(&one, any_device_ptr, 1);
}

/* $BENCH_PYTHON (default /usr/bin/python3) and the reference's device/precision options that
 * match this run: --device cuda on the CUDA backend; --half (the official runs' fp16 CLIP) when
 * the products are reduced-precision */
static inline const char *bench_python(void) {
    const char *py = getenv("BENCH_PYTHON");
    return py && *py ? py : "/usr/bin/python3";
}

static inline const char *bench_ref_options(void) {
    int gpu = bench_on_gpu(), half = k_precision() != K_PREC_FP32;
    return gpu ? (half ? "--device cuda --half" : "--device cuda") : (half ? "--half" : "");
}

/* batch size: $name (e.g. BENCH_BATCH_COOP) when set, else the default */
static inline int bench_batch(const char *env, int dflt) {
    const char *v = getenv(env);
    int b = v && *v ? atoi(v) : 0;
    return b > 0 ? b : dflt;
}

static inline void bench_init(BenchCtx *b, int threads, int reps) {
    memset(b, 0, sizeof *b);
    bench_backend_init(threads);
    b->threads = k_threads(), b->reps = reps > 0 ? reps : 2;
    ClipConfig cfg = {0};
    if (clip_config_from_arch(&cfg, "ViT-B/16") != 0) cg_fatal("%s", cg_error());
    if (clip_random_model(&b->clip, &cfg, 1) != 0) cg_fatal("%s", cg_error());
    if (!(b->tok = tokenizer_load(BENCH_VOCAB))) cg_fatal("%s", cg_error());
}

static inline void bench_free(BenchCtx *b) {
    clip_model_free(&b->clip);
    tokenizer_free(b->tok);
}

/* best time (ms) of `reps` training steps after one warm-up (the best, not the mean: the
 * project's CPU is shared, and other load only ever adds time); C classes named like the
 * synthetic datasets ("red circle", … : two BPE tokens each, as the reference's default) */
static inline BenchTime bench_method_ms_reps(BenchCtx *b, MethodConfig cfg, int batch, int C,
                                             int reps) {
    MethodEnv env = {.clip = &b->clip, .tok = b->tok, .cfg = cfg, .seed = 1, .comm = comm_self()};
    strcpy(env.dataset, "caltech101");
    Method *m = method_create(&env);
    if (!m) cg_fatal("bench: %s", cg_error());
    char **names = cg_malloc((size_t)C * sizeof(char *));
    for (int c = 0; c < C; c++) {
        names[c] = cg_malloc(64);
        synth_classname(c, names[c], 64);
    }
    if (method_set_classes(m, (const char *const *)names, C, "caltech101")) cg_fatal("%s", cg_error());
    int R = b->clip.cfg.image_res;
    size_t n = (size_t)batch * 3 * R * R;
    float *h = cg_malloc(n * sizeof(float)), *img = k_alloc(n);
    clip_random_fill_host(h, n, "bench.images", 1, 0.0, 1.0);
    k_upload(img, h, n);
    int *labels = cg_malloc((size_t)batch * sizeof(int));
    for (int i = 0; i < batch; i++) labels[i] = (i * 7) % C;
    Optimizer opt;
    if (optim_init(&opt, &cfg.train, m->params.n)) cg_fatal("%s", cg_error());
    BenchTime best = {1e30, 1e30};
    bench_sync(img);
    for (int r = 0; r <= reps; r++) {
        double t = cg_now(), c = bench_cpu_now();
        if (train_step(m, &opt, img, labels, batch, batch, cfg.train.lr, NULL) != 0)
            cg_fatal("%s", cg_error());
        bench_sync(m->params.n ? m->params.data : img);
        t = cg_now() - t, c = bench_cpu_now() - c;
        if (r > 0 && t * 1e3 < best.ms) best.ms = t * 1e3;
        if (r > 0 && c * 1e3 < best.cpu_ms) best.cpu_ms = c * 1e3;
    }
    optim_free(&opt);
    method_free(m);
    for (int c = 0; c < C; c++) free(names[c]);
    free(names), free(h), free(labels);
    k_free(img);
    return best;
}

static inline BenchTime bench_method_ms(BenchCtx *b, MethodConfig cfg, int batch, int C) {
    return bench_method_ms_reps(b, cfg, batch, C, b->reps);
}

/* the reference's times from `script` --case … (its line "case=… ms=… cpu_ms=…"); NAN when
 * Python/torch is missing. OMP_WAIT_POLICY=passive keeps its idle threads from spinning. */
static inline BenchTime bench_reference_ms_reps(const BenchCtx *b, const char *script,
                                                const char *name, int batch, int C, int reps) {
    char cmd[1024], line[512];
    snprintf(cmd, sizeof cmd, "OMP_WAIT_POLICY=passive %s %s --case %s --batch %d --classes %d "
             "--threads %d --reps %d %s 2>&1", bench_python(), script, name, batch, C, b->threads,
             reps, bench_ref_options());
    FILE *p = popen(cmd, "r");
    BenchTime t = {NAN, NAN};
    while (p && fgets(line, sizeof line, p)) {
        const char *ms = strstr(line, " ms="), *cpu = strstr(line, "cpu_ms=");
        if (!strncmp(line, "case=", 5) && ms) {
            t.ms = atof(ms + 4);
            if (cpu) t.cpu_ms = atof(cpu + 7);
        } else {
            fputs(line, stderr);
        }
    }
    if (p) pclose(p);
    return t;
}

static inline BenchTime bench_reference_ms(const BenchCtx *b, const char *script,
                                           const char *name, int batch, int C) {
    return bench_reference_ms_reps(b, script, name, batch, C, b->reps);
}

/* one line per case: wall-clock and CPU ms of both sides, both speed-ups, the target */
static inline int bench_report(const char *name, int batch, int C, BenchTime t, BenchTime ref,
                               double target) {
    double speedup = ref.ms / t.ms, cpu_speedup = ref.cpu_ms / t.cpu_ms;
    int ok = speedup >= target;
    printf("%-8s batch %2d, %d classes: clipgrid %8.1f ms (cpu %8.1f)   official-style PyTorch "
           "%8.1f ms (cpu %8.1f)   %5.2fx (cpu %5.2fx; target >= %.1fx) %s\n", name, batch, C,
           t.ms, t.cpu_ms, ref.ms, ref.cpu_ms, speedup, cpu_speedup, target,
           ref.ms != ref.ms ? "(no reference: skipped, or torch missing)"
           : ok             ? "ok"
                            : "BELOW TARGET");
    fflush(stdout);
    return ok;
}

#endif
