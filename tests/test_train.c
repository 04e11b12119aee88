/* tests/test_train.c — the run loop end to end on synthetic datasets (core/gen/synth.h) through the
 * real readers, decoder and loader, with a tiny random CLIP:
 *   - every method in every setting (base2new, fewshot, cross_dataset, domain_generalization):
 *     the training loss goes down over the epochs and the first evaluation's accuracy ends
 *     above chance; every evaluation set is evaluated in full (zero-shot CLIP only evaluates);
 *   - resume: a run stopped mid-epoch (the stop flag, twice, in different epochs) and resumed
 *     from its HDF5 checkpoint ends with bit-identical parameters, curves and accuracies to an
 *     uninterrupted run. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gen/clip_random.h"
#include "core/model/clip_weights.h"
#include "core/gen/synth.h"
#include "core/text/tokenizer.h"
#include "core/methods/registry.h"
#include "core/train/train.h"
#include "base/util.h"
#include "kernels/ops.h"
#include "results/checkpoint.h"
#include "tests/testlib.h"

#define VOCAB_PATH "data/clip/bpe_simple_vocab_16e6.txt.gz"

static ClipModel clip;
static Tokenizer *tok;
static char root[256];

static ClipConfig tiny_config(void) {
    ClipConfig c = {0};
    strcpy(c.arch, "custom");
    c.vis = (TowerDims){64, 2, 1, 256};
    c.txt = (TowerDims){64, 2, 1, 256};
    c.image_res = 32, c.patch = 8, c.grid = 4, c.vis_tokens = 17;
    c.embed = 64, c.vocab = 49408, c.context = 77;
    return c;
}

static void write_datasets(void) {
    SynthSpec s = synth_defaults();
    s.classes = 6, s.train = 12, s.val = 2, s.test = 10, s.seed = 3, s.min_side = 32, s.max_side = 48;
    const char *sets[] = {"caltech101", "imagenet", "oxford_pets", "stanford_cars", "oxford_flowers",
                          "food101", "fgvc_aircraft", "sun397", "dtd", "eurosat", "ucf101",
                          "imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r", NULL};
    for (int i = 0; sets[i]; i++)
        if (synth_write(root, sets[i], &s, NULL) != 0) cg_fatal("synth %s: %s", sets[i], cg_error());
}

static MethodConfig config(MethodKind k, const char *setting) {
    MethodConfig c;
    method_config_defaults(&c, k, setting, "caltech101");
    c.train.epochs = 40, c.train.batch = 4, c.train.test_batch = 8;
    /* the random model's text tower passes only a small share of the context to the EOT row,
     * so context gradients are tiny: a large rate (MMRL trains projections: its own scale) */
    c.train.lr = k == method_kind_from_name("mmrl") ? 5e-3 : 8.0;
    if (k == method_kind_from_name("cocoop")) c.train.batch = 2;
    c.train.rrc_scale_lo = 0.8; /* tiny images: crops close to the test view */
    /* the tiny model has 2 layers per tower */
    c.prompt_depth = 2;
    if (k == method_kind_from_name("mmrl") && method_option_set(&c, "rep_layers", "[2]") != 0)
        cg_fatal("%s", cg_error());
    return c;
}

typedef struct {
    volatile sig_atomic_t *stop;
    int stop_after_epoch;
} Hooks;

typedef struct {
    CheckpointTarget target;
    Hooks hooks;
} Ctx;

static int ck_save(void *ctx, const TrainState *st) { return checkpoint_save_cb(&((Ctx *)ctx)->target, st); }
static int ck_load(void *ctx, TrainState *st) { return checkpoint_load_cb(&((Ctx *)ctx)->target, st); }
static void on_epoch(void *ctx, int epoch, int epochs, double loss, double acc, double lr, double s) {
    Hooks *h = &((Ctx *)ctx)->hooks;
    if (h->stop && epoch == h->stop_after_epoch) *h->stop = 1;
}

static TrainJob job_of(const MethodConfig *mc, const RunData *rd, Ctx *ctx) {
    TrainJob j = {.clip = &clip, .tok = tok, .mc = *mc, .data = rd, .seed = 1, .loader_threads = 1,
                  .comm = comm_self(), .cb_ctx = ctx};
    if (ctx) j.ckpt_save = ck_save, j.ckpt_load = ck_load, j.on_epoch = on_epoch, j.stop = ctx->hooks.stop;
    return j;
}

static void test_setting(MethodKind k, const char *setting) {
    RunData rd;
    int on_imagenet = !strcmp(setting, "cross_dataset") || !strcmp(setting, "domain_generalization");
    if (run_prepare(&rd, setting, on_imagenet ? "imagenet" : "caltech101", root, 8, 1) != 0) {
        CHECK(0, "run_prepare %s: %s", setting, cg_error());
        return;
    }
    MethodConfig mc = config(k, setting);
    TrainJob job = job_of(&mc, &rd, NULL);
    TrainResult res;
    double t0 = cg_now();
    int st = train_run(&job, &res);
    CHECK(st == TRAIN_DONE, "%s %s: status %d (%s)", method_name(k), setting, st, res.error);
    if (st == TRAIN_DONE) {
        double chance = 100.0 / res.evals[0].n_classes;
        printf("  %-7s %-22s %2zu params %d epochs  loss %.4f -> %.4f  ", method_name(k), setting,
               res.n_params, res.epochs, res.epochs ? res.loss_curve[0] : NAN,
               res.epochs ? res.loss_curve[res.epochs - 1] : NAN);
        printf(" train acc %.1f%% ->", res.epochs ? res.acc_curve[res.epochs - 1] : NAN);
        for (int i = 0; i < res.n_evals; i++) printf(" %s %.1f%%", res.evals[i].label, res.evals[i].accuracy);
        printf("  (%.1f s)\n", cg_now() - t0);
        CHECK(res.n_evals == rd.n_evals, "%s: %d of %d evaluations", setting, res.n_evals, rd.n_evals);
        if (k != method_kind_from_name("zsclip")) {
            CHECK(res.epochs == mc.train.epochs && res.loss_curve[res.epochs - 1] < res.loss_curve[0],
                  "%s %s: the loss does not go down", method_name(k), setting);
            CHECK(res.evals[0].accuracy > chance, "%s %s: %s accuracy %.1f%% at chance %.1f%%",
                  method_name(k), setting, res.evals[0].label, res.evals[0].accuracy, chance);
        }
        for (int i = 0; i < res.n_evals; i++)
            CHECK(res.evals[i].total == rd.evals[i].ds.test.n && isfinite(res.evals[i].macro_f1),
                  "%s: %ld of %d test images", res.evals[i].label, res.evals[i].total, rd.evals[i].ds.test.n);
    }
    train_result_free(&res);
    run_data_free(&rd);
}

/* the parameters in the checkpoint at path */
static float *ckpt_params(const char *path, size_t *n) {
    TrainState st;
    if (checkpoint_load(path, &st) != 1) return NULL;
    float *p = st.params;
    *n = st.n_params;
    st.params = NULL;
    train_state_free(&st);
    return p;
}

static void test_resume(MethodKind k) {
    RunData rd;
    if (run_prepare(&rd, "base2new", "caltech101", root, 4, 1) != 0) cg_fatal("%s", cg_error());
    MethodConfig mc = config(k, "base2new");
    volatile sig_atomic_t stop = 0;
    Ctx a = {.hooks = {.stop = NULL, .stop_after_epoch = -1}}, b = {.hooks = {.stop = &stop, .stop_after_epoch = 2}};
    snprintf(a.target.path, sizeof a.target.path, "%s/%s_a.ckpt.h5", root, method_name(k));
    snprintf(b.target.path, sizeof b.target.path, "%s/%s_b.ckpt.h5", root, method_name(k));
    a.target.writer = b.target.writer = 1;
    TrainJob ja = job_of(&mc, &rd, &a), jb = job_of(&mc, &rd, &b);
    TrainResult ra, rb;
    train_run(&ja, &ra);
    stop = 1; /* stops after the first batch */
    int s1 = train_run(&jb, &rb);
    int step1 = (int)rb.steps;
    if (s1 == TRAIN_FAILED) fprintf(stderr, "%s\n", rb.error);
    train_result_free(&rb);
    stop = 0; /* resumes; on_epoch of epoch 2 sets the flag: stops after epoch 3's first batch */
    int s2 = train_run(&jb, &rb);
    int epochs2 = rb.epochs;
    train_result_free(&rb);
    stop = 0, b.hooks.stop_after_epoch = -1;
    int s3 = train_run(&jb, &rb);
    printf("  resume %s: stopped after %d step(s) (status %d), again in epoch %d (status %d), "
           "finished (status %d)\n", method_name(k), step1, s1, epochs2 + 1, s2, s3);
    CHECK(s1 == TRAIN_STOPPED && step1 == 1, "first run: status %d after %d steps", s1, step1);
    CHECK(s2 == TRAIN_STOPPED && epochs2 == 3, "second run: status %d after %d epochs", s2, epochs2);
    CHECK(s3 == TRAIN_DONE && ra.status == TRAIN_DONE, "final runs: %d, %d", s3, ra.status);
    size_t na = 0, nb = 0;
    float *pa = ckpt_params(a.target.path, &na), *pb = ckpt_params(b.target.path, &nb);
    CHECK(pa && pb && na == nb && na > 0 && !memcmp(pa, pb, na * sizeof(float)),
          "%s: resumed parameters differ from the uninterrupted run", method_name(k));
    int same = ra.epochs == rb.epochs && ra.n_evals == rb.n_evals;
    for (int e = 0; same && e < ra.epochs; e++)
        same = ra.loss_curve[e] == rb.loss_curve[e] && ra.acc_curve[e] == rb.acc_curve[e];
    for (int i = 0; same && i < ra.n_evals; i++) same = ra.evals[i].correct == rb.evals[i].correct;
    CHECK(same, "%s: resumed curves or accuracies differ", method_name(k));
    printf("  resume %s: %zu parameters bit-identical: %s\n", method_name(k), na,
           pa && pb && na == nb && !memcmp(pa, pb, na * sizeof(float)) ? "yes" : "no");
    free(pa), free(pb);
    train_result_free(&ra), train_result_free(&rb);
    run_data_free(&rd);
}

/* A run at bf16 products: it learns as in fp32 but its numbers differ from the fp32 run; the
 * setting is restored afterwards; an unknown precision fails the run with the reason. */
static void test_precision(MethodKind k) {
    RunData rd;
    if (run_prepare(&rd, "base2new", "caltech101", root, 8, 1) != 0) {
        CHECK(0, "run_prepare: %s", cg_error());
        return;
    }
    MethodConfig mc = config(k, "base2new");
    mc.train.epochs = 10;
    TrainResult r32, r16;
    TrainJob job = job_of(&mc, &rd, NULL);
    int st32 = train_run(&job, &r32);
    snprintf(job.mc.train.precision, sizeof job.mc.train.precision, "bf16");
    int st16 = train_run(&job, &r16);
    CHECK(st32 == TRAIN_DONE && st16 == TRAIN_DONE, "%s: status fp32 %d, bf16 %d (%s)",
          method_name(k), st32, st16, r16.error);
    CHECK(!strcmp(k_matmul_precision(), "fp32"), "after a bf16 run the products are in %s",
          k_matmul_precision());
    if (st32 == TRAIN_DONE && st16 == TRAIN_DONE) {
        int E = r16.epochs;
        double chance = 100.0 / r16.evals[0].n_classes;
        printf("  %-7s bf16: loss %.4f -> %.4f (fp32 %.4f -> %.4f), %s %.1f%% (fp32 %.1f%%)\n",
               method_name(k), r16.loss_curve[0], r16.loss_curve[E - 1], r32.loss_curve[0],
               r32.loss_curve[E - 1], r16.evals[0].label, r16.evals[0].accuracy,
               r32.evals[0].accuracy);
        CHECK(r16.loss_curve[E - 1] < r16.loss_curve[0] && r16.evals[0].accuracy > chance,
              "%s bf16: does not learn", method_name(k));
        double d = fabs(r16.loss_curve[0] - r32.loss_curve[0]) / fabs(r32.loss_curve[0]);
        CHECK(d > 1e-5 && d < 0.05, "%s: the bf16 first-epoch loss differs from fp32 by %.3g",
              method_name(k), d);
    }
    train_result_free(&r32), train_result_free(&r16);
    snprintf(job.mc.train.precision, sizeof job.mc.train.precision, "fp8");
    int bad = train_run(&job, &r16);
    CHECK(bad == TRAIN_FAILED && strstr(r16.error, "fp8"), "precision fp8: status %d (%s)", bad,
          r16.error);
    train_result_free(&r16);
    run_data_free(&rd);
}

int main(void) {
    k_init_cpu(2);
    snprintf(root, sizeof root, "/tmp/clipgrid_test_train_%d", (int)getpid());
    ClipConfig cfg = tiny_config();
    if (clip_random_model(&clip, &cfg, 7) != 0) cg_fatal("%s", cg_error());
    /* With std-0.02 attention weights the class row of a random ViT barely sees the patches
     * (every image gets almost the same feature); stronger value and output projections make
     * the image features depend on the image, so that accuracy above chance is reachable. */
    clip.logit_scale = 2.3f; /* τ = 10: a smoother start than 100 for a model that knows nothing */
    for (int i = 0; i < cfg.vis.layers; i++) {
        size_t d = (size_t)cfg.vis.width;
        op_scale(clip.vis.blocks[i].qkv_w + 2 * d * d, 10.0f, d * d);
        op_scale(clip.vis.blocks[i].out_w, 10.0f, d * d);
    }
    float ts = 4.0f;
    for (int i = 0; i < cfg.txt.layers; i++) { /* the same for the EOT row: the context matters */
        size_t d = (size_t)cfg.txt.width;
        op_scale(clip.txt.blocks[i].qkv_w + 2 * d * d, ts, d * d);
        op_scale(clip.txt.blocks[i].out_w, ts, d * d);
    }
    if (!(tok = tokenizer_load(VOCAB_PATH))) cg_fatal("%s", cg_error());
    write_datasets();
    static const char *const settings[] = {"base2new", "fewshot", "cross_dataset",
                                           "domain_generalization"};
    for (int k = 0; k < METHOD_COUNT; k++)
        for (int s = 0; s < 4; s++) test_setting((MethodKind)k, settings[s]);
    test_resume(method_kind_from_name("coop"));
    test_resume(method_kind_from_name("cocoop"));
    test_precision(method_kind_from_name("coop"));
    test_precision(method_kind_from_name("mmrl"));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    tokenizer_free(tok);
    clip_model_free(&clip);
    return test_finish("test_train");
}
