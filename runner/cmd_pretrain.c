/* runner/cmd_pretrain.c — `clipgrid pretrain`: contrastive pretraining of a small CLIP (both
 * towers, every weight; core/train/pretrain.h) from a deterministic random start on synthetic
 * image–caption pairs (core/gen/pairs.h), written as an OpenAI-named safetensors file (F32, or
 * F16 with --dtype f16) whose metadata records the options that rebuild it. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/gen/clip_random.h"
#include "core/gen/pairs.h"
#include "core/model/clip_grad.h"
#include "core/model/clip_save.h"
#include "core/model/clip_weights.h"
#include "core/text/tokenizer.h"
#include "core/train/pretrain.h"
#include "runner/cli.h"

static void pretrain_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid pretrain OUT.safetensors [--steps N] [--batch B] [--lr X]\n"
            "                         [--warmup N] [--wd X] [--seed S] [--holdout H]\n"
            "                         [DIMENSIONS] [--dtype f32|f16] [--threads N] [--log FILE]\n"
            "                         [--every N]\n\n"
            "Pretrains a small CLIP contrastively (symmetric InfoNCE, learnable logit scale,\n"
            "AdamW with linear warm-up and cosine decay) on synthetic image-caption pairs\n"
            "(\"a photo of a small striped red star on the left.\"), starting from the random\n"
            "model of `make-model --seed S` (logit scale 1/0.07 as CLIP). The (colour, shape) pairs of the first H synthetic\n"
            "classes, the demo datasets' classes, never appear in a caption.\n\n"
            "  --steps N       optimiser steps (default 2000)\n"
            "  --batch B       pairs per step (default 256)\n"
            "  --lr X          peak learning rate (default 5e-4)\n"
            "  --warmup N      linear warm-up steps (default 100)\n"
            "  --wd X          AdamW weight decay of matrices (default 0.1)\n"
            "  --seed S        random start and pairs (default 0)\n"
            "  --holdout H     held-out classes 0..H-1 (default 12)\n"
            "  DIMENSIONS      --vision-width W --vision-layers L --patch P --image-res R\n"
            "                  --text-width D --text-layers L --embed E (default: the demo's\n"
            "                  tiny model, 128 wide, 3 blocks per tower, 64-pixel images)\n"
            "  --dtype T       weights stored as f32 (default) or f16 (half the size;\n"
            "                  training is f32 either way)\n"
            "  --threads N     CPU threads (the file is the same bits on any number)\n"
            "  --log FILE      the loss curve as CSV (step,lr,loss,logit_scale)\n"
            "  --every N       print the loss every N steps (default 50)\n"
            "  --show N        print the first N captions and stop\n");
}

typedef struct {
    const char *out, *log;
    PretrainConfig pc;
    PairSpec ps;
    ClipConfig cfg;
    uint64_t seed;
    StDtype dtype;
    int batch, threads, every, show;
} PretrainArgs;

static int bad_value(const char *opt, const char *v) {
    fprintf(stderr, "clipgrid pretrain: %s: invalid value '%s'\n", opt, v);
    return -1;
}

static int parse_long(const char *opt, const char *v, long lo, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo) return bad_value(opt, v);
    *out = x;
    return 0;
}

static int parse_double(const char *opt, const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= 0)) return bad_value(opt, v);
    *out = x;
    return 0;
}

static int *dim_slot(ClipConfig *c, const char *opt) {
    static const char *names[] = {"--vision-width", "--vision-layers", "--patch", "--image-res",
                                  "--text-width", "--text-layers", "--embed"};
    int *slots[] = {&c->vis.width, &c->vis.layers, &c->patch, &c->image_res,
                    &c->txt.width, &c->txt.layers, &c->embed};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(opt, names[i])) return slots[i];
    return NULL;
}

/* one option with its value; 0 ok, −1 error */
static int parse_option(PretrainArgs *a, const char *o, const char *v) {
    long x;
    int *slot = dim_slot(&a->cfg, o);
    if (slot) {
        if (parse_long(o, v, 1, &x) || x > INT_MAX) return -1;
        *slot = (int)x;
    } else if (!strcmp(o, "--steps")) { if (parse_long(o, v, 1, &a->pc.steps)) return -1; }
    else if (!strcmp(o, "--warmup")) { if (parse_long(o, v, 0, &a->pc.warmup)) return -1; }
    else if (!strcmp(o, "--batch") || !strcmp(o, "--holdout") || !strcmp(o, "--threads") ||
             !strcmp(o, "--every") || !strcmp(o, "--show")) {
        if (parse_long(o, v, !strcmp(o, "--holdout") ? 0 : 1, &x) || x > 100000) return -1;
        int *dst = !strcmp(o, "--batch") ? &a->batch : !strcmp(o, "--holdout") ? &a->ps.holdout
                   : !strcmp(o, "--threads") ? &a->threads : !strcmp(o, "--show") ? &a->show
                   : &a->every;
        *dst = (int)x;
    } else if (!strcmp(o, "--lr")) { if (parse_double(o, v, &a->pc.lr)) return -1; }
    else if (!strcmp(o, "--wd")) { if (parse_double(o, v, &a->pc.wd)) return -1; }
    else if (!strcmp(o, "--seed")) {
        char *end;
        errno = 0;
        a->seed = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-') return bad_value(o, v);
    } else if (!strcmp(o, "--log")) a->log = v;
    else if (!strcmp(o, "--dtype")) {
        if (!strcmp(v, "f32")) a->dtype = ST_F32;
        else if (!strcmp(v, "f16")) a->dtype = ST_F16;
        else return bad_value(o, v);
    }
    else {
        fprintf(stderr, "clipgrid pretrain: unknown option '%s' (see --help)\n", o);
        return -1;
    }
    return 0;
}

/* 0 ok, 1 help printed, −1 error */
static int parse_args(int argc, char **argv, PretrainArgs *a) {
    memset(a, 0, sizeof *a);
    a->pc = pretrain_defaults();
    a->pc.steps = 2000, a->pc.warmup = 100;
    a->ps = pair_defaults();
    a->batch = 256, a->every = 50;
    cli_demo_config(&a->cfg);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) return pretrain_usage(stdout), 1;
        if (o[0] != '-') {
            if (a->out) {
                fprintf(stderr, "clipgrid pretrain: more than one output file ('%s')\n", o);
                return -1;
            }
            a->out = o;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "clipgrid pretrain: %s needs a value\n", o);
            return -1;
        }
        if (parse_option(a, o, argv[++i])) return -1;
    }
    if (!a->out && !a->show) {
        fprintf(stderr, "clipgrid pretrain: no output file given (see --help)\n");
        return -1;
    }
    if (a->pc.warmup >= a->pc.steps) a->pc.warmup = a->pc.steps / 10;
    if (a->batch < 2) return bad_value("--batch", "1 (a contrastive batch needs 2 pairs or more)");
    if (a->ps.holdout > 80) return bad_value("--holdout", "over 80 (every colour-shape pair)");
    a->cfg.vocab = 49408, a->cfg.context = 77;
    if (clip_config_finish(&a->cfg)) {
        fprintf(stderr, "clipgrid pretrain: the model dimensions are inconsistent\n");
        return -1;
    }
    a->ps.seed = a->seed, a->ps.image_res = a->cfg.image_res;
    return 0;
}

/* pairs step·B … step·B + B − 1: images (host [B,3,R,R]), token ids [B,77] and EOT rows */
static void make_batch(const PretrainArgs *a, const Tokenizer *tok, long step, float *img,
                       int *ids, int *eot) {
    int B = a->batch, R = a->cfg.image_res, C = a->cfg.context;
    #pragma omp parallel for schedule(dynamic)
    for (int j = 0; j < B; j++) {
        uint64_t i = (uint64_t)step * B + j;
        char cap[160];
        pair_image(&a->ps, i, img + (size_t)j * 3 * R * R);
        pair_caption(&a->ps, i, cap, sizeof cap);
        tokenizer_tokenize77(tok, cap, ids + (size_t)j * C, C);
        int best = 0;
        for (int t = 1; t < C; t++)
            if (ids[j * C + t] > ids[j * C + best]) best = t;
        eot[j] = best;
    }
}

static int save(const PretrainArgs *a, const ClipModel *m, int argc, char **argv) {
    char cmd[2048] = "clipgrid pretrain", seed[32];
    for (int i = 1; i < argc; i++) { /* what changes the weights: not threads, log, every */
        if (!strcmp(argv[i], "--threads") || !strcmp(argv[i], "--log") ||
            !strcmp(argv[i], "--every")) {
            i++;
            continue;
        }
        if (strlen(cmd) + strlen(argv[i]) + 2 >= sizeof cmd) break;
        strcat(cmd, " "), strcat(cmd, argv[i]);
    }
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)a->seed);
    const char *meta[] = {"clipgrid.pretrain.command", cmd, "clipgrid.pretrain.seed", seed, NULL};
    if (clip_model_save_as(m, a->out, meta, a->dtype)) {
        fprintf(stderr, "clipgrid pretrain: %s\n", cg_error());
        return -1;
    }
    return 0;
}

static int train(const PretrainArgs *a, const Tokenizer *tok, ClipModel *m, FILE *log) {
    int B = a->batch, R = a->cfg.image_res, C = a->cfg.context;
    float *img = cg_malloc((size_t)B * 3 * R * R * sizeof(float)), *dimg = k_alloc((size_t)B * 3 * R * R);
    int *ids = cg_malloc((size_t)B * C * sizeof(int)), *eot = cg_malloc((size_t)B * sizeof(int));
    Pretrainer *p = pretrainer_new(m, &a->pc);
    double t0 = cg_now();
    for (long s = 0; s < a->pc.steps; s++) {
        make_batch(a, tok, s, img, ids, eot);
        k_upload(dimg, img, (size_t)B * 3 * R * R);
        PairBatch b = {.B = B, .images = dimg, .tokens = ids, .T = C, .eot = eot};
        double loss = pretrainer_step(p, &b), lr = pretrain_lr(&a->pc, s);
        if (log) fprintf(log, "%ld,%.6e,%.6f,%.6f\n", s, lr, loss, (double)m->logit_scale);
        if (s % a->every == 0 || s == a->pc.steps - 1)
            printf("step %5ld  lr %.2e  loss %.4f  logit scale %.2f  (%.0f s)\n", s, lr, loss,
                   exp(m->logit_scale), cg_now() - t0);
        fflush(stdout);
    }
    pretrainer_free(p);
    free(img), free(ids), free(eot), k_free(dimg);
    return 0;
}

int cmd_pretrain(int argc, char **argv) {
    PretrainArgs a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc > 0 ? 0 : 2;
    for (int i = 0; i < a.show; i++) {
        char cap[160];
        pair_caption(&a.ps, (uint64_t)i, cap, sizeof cap);
        printf("%s\n", cap);
    }
    if (a.show) return 0;
    cli_init_backend(a.threads);
    Tokenizer *tok = tokenizer_load(cli_default_vocab());
    if (!tok) {
        fprintf(stderr, "clipgrid pretrain: %s\n", cg_error());
        return 1;
    }
    ClipModel r, m;
    if (clip_random_model(&r, &a.cfg, a.seed)) {
        fprintf(stderr, "clipgrid pretrain: %s\n", cg_error());
        tokenizer_free(tok);
        return 1;
    }
    clip_model_clone(&m, &r, 1);
    clip_model_free(&r);
    m.logit_scale = (float)log(1 / 0.07); /* CLIP's initial temperature */
    FILE *log = a.log ? fopen(a.log, "w") : NULL;
    if (a.log && !log) {
        fprintf(stderr, "clipgrid pretrain: cannot write %s: %s\n", a.log, strerror(errno));
        rc = 1;
    } else {
        if (log) fprintf(log, "step,lr,loss,logit_scale\n");
        printf("pretraining %s: %ld steps of %d pairs, lr %g, warm-up %ld, seed %llu\n",
               a.cfg.arch, a.pc.steps, a.batch, a.pc.lr, a.pc.warmup, (unsigned long long)a.seed);
        train(&a, tok, &m, log);
        rc = save(&a, &m, argc, argv) ? 1 : 0;
        if (!rc) printf("wrote %s\n", a.out);
    }
    if (log) fclose(log);
    clip_model_free(&m);
    tokenizer_free(tok);
    return rc;
}
