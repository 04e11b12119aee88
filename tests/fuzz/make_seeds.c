/* tests/fuzz/make_seeds.c — writes the binary seed files of the fuzz corpora with clipgrid's own
 * writers, so the seeds are valid files of today's formats: safetensors (F32/F16/BF16/I64 and
 * metadata), JPEG (RGB, gray, Adobe CMYK) and PNG images, an HDF5 run file (done and failed),
 * results.h5, and a checkpoint. Usage: make_seeds OUT_DIR (writes OUT_DIR/<harness>/<file>).
 * Built and run by `make fuzz-seeds`; the text seeds (sweeps, split files, vocabularies) are
 * committed as they are. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/data/image.h"
#include "core/model/safetensors.h"
#include "base/util.h"
#include "results/checkpoint.h"
#include "results/run_file.h"

static char g_out[4096];

static const char *at(const char *sub, const char *file) {
    static char p[8192];
    snprintf(p, sizeof p, "%s/%s", g_out, sub);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", g_out, sub, file);
    return p;
}

static void check(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "make_seeds: %s: %s\n", what, cg_error());
        exit(1);
    }
}

static void safetensors_seeds(void) {
    float a[6] = {1, -2, 3.5f, 0, INFINITY, -0.f};
    uint16_t h[4] = {0x3c00, 0xc000, 0x7e00, 0x0001};
    int64_t pos[3] = {0, 1, 2}, sa[2] = {2, 3}, sh[1] = {4}, sp[2] = {1, 3};
    StWriter *w = st_writer_new();
    st_writer_set_metadata(w, "format", "pt");
    st_writer_add(w, "visual.proj", ST_F32, 2, sa, a);
    st_writer_add(w, "logit_scale", ST_F16, 1, sh, h);
    st_writer_add(w, "text.position_ids", ST_I64, 2, sp, pos);
    st_writer_add(w, "b", ST_BF16, 1, sh, h);
    st_writer_add(w, "scalar", ST_F32, 0, NULL, a);
    check(st_writer_write(w, at("safetensors", "mixed.safetensors")), "safetensors");
    st_writer_free(w);
    w = st_writer_new();
    check(st_writer_write(w, at("safetensors", "empty.safetensors")), "safetensors");
    st_writer_free(w);
}

static void image_seeds(void) {
    uint8_t px[7 * 5 * 3];
    for (int i = 0; i < 7 * 5 * 3; i++) px[i] = (uint8_t)(i * 37 + 11);
    ImageRGB im = {7, 5, px};
    check(image_write_jpeg(at("image", "rgb.jpg"), &im, 90), "jpeg");
    check(image_write_jpeg_gray(at("image", "gray.jpg"), &im, 75), "jpeg gray");
    check(image_write_jpeg_cmyk(at("image", "cmyk.jpg"), &im, 80), "jpeg cmyk");
    check(image_write_png(at("image", "rgb.png"), &im), "png");
    ImageRGB one = {1, 1, px};
    check(image_write_png(at("image", "one.png"), &one), "png 1x1");
}

static void result_of(TrainResult *r, int failed) {
    memset(r, 0, sizeof *r);
    r->status = failed ? TRAIN_FAILED : TRAIN_DONE;
    if (failed) snprintf(r->error, sizeof r->error, "image x.jpg: corrupt JPEG");
    r->epochs = failed ? 0 : 2;
    double *c[4];
    for (int k = 0; k < 4; k++) {
        c[k] = cg_malloc(2 * sizeof(double));
        c[k][0] = 1.5 + k, c[k][1] = 0.5 + k;
    }
    r->loss_curve = c[0], r->acc_curve = c[1], r->lr_curve = c[2], r->time_curve = c[3];
    r->n_evals = failed ? 0 : 2;
    static const char *labels[2] = {"base", "new"};
    for (int i = 0; i < r->n_evals; i++) {
        EvalResult *e = &r->evals[i];
        snprintf(e->label, sizeof e->label, "%s", labels[i]);
        snprintf(e->dataset, sizeof e->dataset, "eurosat");
        e->accuracy = 80 - 10 * i, e->total = 10, e->correct = 8 - i, e->macro_f1 = 70;
        e->n_classes = 2;
        e->per_class = cg_malloc(2 * sizeof(double));
        e->per_class[0] = 75, e->per_class[1] = NAN;
    }
    r->n_params = 2048, r->train_seconds = 1.5, r->eval_seconds = 0.25, r->steps = 4;
}

static void run_seeds(void) {
    char tmp[8192];
    snprintf(tmp, sizeof tmp, "%s/.runs", g_out);
    for (int failed = 0; failed < 2; failed++) {
        RunMeta m;
        memset(&m, 0, sizeof m);
        snprintf(m.id, sizeof m.id, "base2new/coop/eurosat/shots16/seed%d", failed + 1);
        snprintf(m.sweep, sizeof m.sweep, "s");
        snprintf(m.setting, sizeof m.setting, "base2new");
        snprintf(m.dataset, sizeof m.dataset, "eurosat");
        snprintf(m.method, sizeof m.method, "coop");
        snprintf(m.host, sizeof m.host, "node1");
        snprintf(m.device, sizeof m.device, "cpu");
        m.seed = failed + 1, m.shots = 16, m.ranks = 1;
        m.config_json = "{\"n_ctx\": 4}";
        m.start_time = 1.7e9, m.end_time = 1.7e9 + 20;
        TrainResult r;
        result_of(&r, failed);
        check(run_file_write(tmp, &m, &r), "run file");
        train_result_free(&r);
    }
    check(results_aggregate(tmp), "aggregate");
    static const char *from[3] = {"runs/*seed1.h5", "runs/*seed2.h5", "results.h5"};
    static const char *to[3] = {"done.h5", "failed.h5", "results.h5"};
    char cmd[20000];
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "cp %s/%s '%s'", tmp, from[i], at("runfile", to[i]));
        check(system(cmd) != 0, cmd);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    check(system(cmd) != 0, cmd);
}

static void checkpoint_seeds(void) {
    float p[3] = {0.5f, -1, 2}, o[6] = {0};
    double c[2] = {1, 2};
    TrainState st = {.epoch = 1, .step = 2, .opt_steps = 7, .epoch_loss_sum = 3.5,
                     .epoch_correct = 4, .epoch_seen = 8, .n_params = 3, .params = p, .n_opt = 6,
                     .opt = o, .n_epochs_done = 2, .loss_curve = c, .acc_curve = c,
                     .lr_curve = c, .time_curve = c};
    check(checkpoint_save(at("checkpoint", "ckpt.h5"), &st), "checkpoint");
    st.n_epochs_done = 0;
    check(checkpoint_save(at("checkpoint", "ckpt0.h5"), &st), "checkpoint");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds OUT_DIR\n");
        return 2;
    }
    snprintf(g_out, sizeof g_out, "%s", argv[1]);
    mkdir(g_out, 0755);
    safetensors_seeds();
    image_seeds();
    run_seeds();
    checkpoint_seeds();
    return 0;
}
