/* tests/bench/bench_methods.h — shared by the method benchmarks (bench_methods.c for zero-shot
 * CLIP, CoOp, CoCoOp; bench_methods_deep.c for MaPLe, MuDPT, MMRL): a random CLIP with ViT-B/16
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

#include "core/clip_random.h"
#include "core/clip_weights.h"
#include "core/method.h"
#include "core/optim.h"
#include "core/synth.h"
#include "core/tokenizer.h"
#include "core/util.h"
#include "kernels/ops.h"

#define BENCH_VOCAB "data/clip/bpe_simple_vocab_16e6.txt.gz"

typedef struct {
    ClipModel clip;
    Tokenizer *tok;
    int threads, reps;
} BenchCtx;

static void bench_init(BenchCtx *b, int threads, int reps) {
    memset(b, 0, sizeof *b);
    k_init_cpu(threads);
    b->threads = k_threads(), b->reps = reps > 0 ? reps : 2;
    ClipConfig cfg = {0};
    if (clip_config_from_arch(&cfg, "ViT-B/16") != 0) cg_fatal("%s", cg_error());
    if (clip_random_model(&b->clip, &cfg, 1) != 0) cg_fatal("%s", cg_error());
    if (!(b->tok = tokenizer_load(BENCH_VOCAB))) cg_fatal("%s", cg_error());
}

static void bench_free(BenchCtx *b) {
    clip_model_free(&b->clip);
    tokenizer_free(b->tok);
}

/* best time (ms) of b->reps training steps after one warm-up; C classes named like the
 * synthetic datasets ("red circle", … : two BPE tokens each, as the reference's default) */
static double bench_method_ms(BenchCtx *b, MethodConfig cfg, int batch, int C) {
    MethodEnv env = {.clip = &b->clip, .tok = b->tok, .cfg = cfg, .seed = 1, .comm = comm_self()};
    strcpy(env.dataset, "caltech101");
    Method *m = method_create(&env);
    if (!m) cg_fatal("bench: %s", cg_error());
    char **names = cg_malloc((size_t)C * sizeof(char *));
    for (int c = 0; c < C; c++) {
        names[c] = cg_malloc(64);
        synth_classname(c, names[c], 64);
    }
    if (m->ops->set_classes(m, (const char *const *)names, C, "caltech101")) cg_fatal("%s", cg_error());
    int R = b->clip.cfg.image_res;
    size_t n = (size_t)batch * 3 * R * R;
    float *h = cg_malloc(n * sizeof(float)), *img = k_alloc(n);
    clip_random_fill_host(h, n, "bench.images", 1, 0.0, 1.0);
    k_upload(img, h, n);
    int *labels = cg_malloc((size_t)batch * sizeof(int));
    for (int i = 0; i < batch; i++) labels[i] = (i * 7) % C;
    Optimizer opt;
    if (optim_init(&opt, &cfg, m->params.n)) cg_fatal("%s", cg_error());
    double best = 1e30;
    for (int r = 0; r <= b->reps; r++) {
        double t = cg_now();
        if (m->params.n) k_zero(m->params.grad, m->params.n);
        m->ops->forward_backward(m, img, labels, batch, batch);
        optim_step(&opt, m->params.data, m->params.grad, cfg.lr);
        m->params_version++;
        t = cg_now() - t;
        if (r > 0 && t < best) best = t;
    }
    optim_free(&opt);
    method_free(m);
    for (int c = 0; c < C; c++) free(names[c]);
    free(names), free(h), free(labels);
    k_free(img);
    return best * 1e3;
}

/* the reference's time (ms) from `script` --case … ; NAN when Python/torch is missing */
static double bench_reference_ms(const BenchCtx *b, const char *script, const char *name, int batch,
                                 int C) {
    char cmd[1024], line[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --case %s --batch %d --classes %d --threads %d "
             "--reps %d 2>&1", script, name, batch, C, b->threads, b->reps);
    FILE *p = popen(cmd, "r");
    double ms = NAN;
    while (p && fgets(line, sizeof line, p)) {
        const char *at = strstr(line, "ms=");
        if (!strncmp(line, "case=", 5) && at) ms = atof(at + 3);
        else fputs(line, stderr);
    }
    if (p) pclose(p);
    return ms;
}

static int bench_report(const char *name, int batch, int C, double ms, double ref_ms, double target) {
    double speedup = ref_ms / ms;
    int ok = speedup >= target;
    printf("%-8s batch %2d, %d classes: clipgrid %9.1f ms/step   official-style PyTorch %9.1f ms/step"
           "   %5.2fx (target >= %.1fx) %s\n", name, batch, C, ms, ref_ms, speedup, target,
           ref_ms != ref_ms ? "(no reference: python3-torch missing)" : ok ? "ok" : "BELOW TARGET");
    fflush(stdout);
    return ok;
}

#endif
