/* runner/cmd_golden.c — `clipgrid golden FIXTURE.h5...`: runs fixture files in the format of
 * shared/fixtures/official/README.md through the C implementation and prints, per tensor, the
 * largest absolute and relative error, then "N passed, N failed". Zero-shot CLIP fixtures
 * (trainer ZeroshotCLIP) are supported; method fixtures arrive with the methods. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clip_weights.h"
#include "core/tokenizer.h"
#include "core/util.h"
#include "core/zeroshot.h"
#include "results/h5read.h"
#include "runner/cli.h"
#include "runner/golden_check.h"

/* README §7: logits and features relative 1e-5, losses absolute 1e-5 */
#define TOL_FEAT 1e-5
#define TOL_LOSS 1e-5

typedef struct {
    char *model_path;
    ClipModel model;
    int loaded;
    Tokenizer *tok;
} GoldenCtx;

static const ClipModel *ctx_model(GoldenCtx *g, const char *path) {
    if (g->loaded && !strcmp(g->model_path, path)) return &g->model;
    if (g->loaded) clip_model_free(&g->model), free(g->model_path), g->loaded = 0;
    if (clip_model_load(&g->model, path) != 0) return NULL;
    g->model_path = cg_strdup(path), g->loaded = 1;
    return &g->model;
}

/* device copy of a float dataset; NULL (error set) when absent */
static float *upload_dataset(hid_t f, const char *name, H5Shape *s) {
    float *host = h5r_read_f32(f, name, s);
    if (!host) return NULL;
    float *dev = k_alloc(s->n);
    k_upload(dev, host, s->n);
    free(host);
    return dev;
}

/* compare device tensor `got` [n] with dataset `name` */
static void check(GoldenTally *t, hid_t f, const char *name, const float *got, size_t n, double tol) {
    H5Shape s;
    float *ref = h5r_read_f32(f, name, &s);
    if (!ref || s.n != n) {
        golden_verdict(t, name, 0, ref ? "reference has another size" : cg_error());
        free(ref);
        return;
    }
    float *host = cg_malloc(n * sizeof(float));
    k_download(host, got, n);
    golden_compare(t, name, host, ref, n, tol, 0);
    free(host), free(ref);
}

/* the class prompts of the fixture, tokenised by us, checked against /inputs/tokenized_prompts */
static int zs_prompts(GoldenTally *t, hid_t f, GoldenCtx *g, ClassPrompts *p) {
    int C = 0;
    char **names = h5r_attr_strings(f, "/config", "classnames", &C);
    char *tmpl = h5r_attr_string(f, "/config", "template");
    if (!names || !tmpl) return golden_verdict(t, "config", 0, cg_error()), -1;
    int rc = prompts_build(p, g->tok, tmpl, (const char *const *)names, C);
    h5r_free_strings(names, C), free(tmpl);
    if (rc) return golden_verdict(t, "prompts", 0, cg_error()), -1;
    H5Shape s;
    int *ids = h5r_read_int(f, "/inputs/tokenized_prompts", &s);
    int diff = 0;
    for (size_t i = 0; ids && i < s.n && s.n == (size_t)C * p->context; i++) diff += ids[i] != p->ids[i];
    char detail[128];
    snprintf(detail, sizeof detail, "%d classes, %d ids differ", C, ids ? diff : -1);
    golden_verdict(t, "inputs/tokenized_prompts", ids && s.n == (size_t)C * p->context && !diff,
                   detail);
    free(ids);
    return 0;
}

/* features and logits of one image batch against the fixture group `grp` */
static void zs_images(GoldenTally *t, hid_t f, const ClipModel *m, const float *txt_raw,
                      const ClassPrompts *p, const char *images, const char *labels,
                      const char *grp, int full) {
    H5Shape s;
    float *img = upload_dataset(f, images, &s);
    if (!img) return golden_verdict(t, images, 0, cg_error());
    int B = (int)s.dims[0], C = p->C, E = m->cfg.embed;
    float *feat = image_features(m, img, B), *logits = k_alloc((size_t)B * C);
    float *img_n = k_alloc((size_t)B * E), *txt_n = k_alloc((size_t)C * E);
    clip_logits(logits, feat, txt_raw, B, C, E, m->logit_scale, img_n, txt_n);
    char name[256];
#define CHK(sub, ptr, n) (snprintf(name, sizeof name, "%s/%s", grp, sub), check(t, f, name, ptr, n, TOL_FEAT))
    if (full) {
        CHK("image_features_raw", feat, (size_t)B * E);
        CHK("image_features", img_n, (size_t)B * E);
        CHK("text_features_raw", txt_raw, (size_t)C * E);
        CHK("text_features", txt_n, (size_t)C * E);
    }
    CHK("logits", logits, (size_t)B * C);
#undef CHK
    snprintf(name, sizeof name, "%s/loss", grp);
    int *lab = h5r_read_int(f, labels, &s);
    if (full && lab && h5r_exists(f, name)) {
        float loss = (float)op_cross_entropy(NULL, logits, lab, B, C, 1.0f);
        H5Shape ls;
        float *ref = h5r_read_f32(f, name, &ls);
        if (ref) golden_compare(t, name, &loss, ref, 1, TOL_LOSS, 1);
        free(ref);
    }
    free(lab);
    k_free(img), k_free(feat), k_free(logits), k_free(img_n), k_free(txt_n);
}

static int golden_zeroshot(GoldenTally *t, hid_t f, GoldenCtx *g, const ClipModel *m) {
    ClassPrompts p = {0};
    if (zs_prompts(t, f, g, &p)) return -1;
    float *txt = text_features(m, &p, 0);
    zs_images(t, f, m, txt, &p, "/inputs/images", "/inputs/labels", "step0", 1);
    if (h5r_exists(f, "/eval/logits"))
        zs_images(t, f, m, txt, &p, "/inputs/test_images", "/inputs/test_labels", "eval", 0);
    k_free(txt);
    prompts_free(&p);
    return 0;
}

static void golden_file(GoldenTally *t, GoldenCtx *g, const char *path) {
    printf("%s\n", path);
    hid_t f = h5r_open(path);
    if (f < 0) return golden_verdict(t, "open", 0, cg_error());
    char *trainer = h5r_attr_string(f, "/config", "trainer");
    char *model_file = h5r_attr_string(f, "/config", "model_file");
    if (!trainer || !model_file) {
        golden_verdict(t, "config", 0, cg_error());
    } else {
        char *dir = cg_dirname(path), *mpath = cg_path_join(dir, model_file);
        const ClipModel *m = ctx_model(g, mpath);
        if (!m) golden_verdict(t, "model", 0, cg_error());
        else if (!strcmp(trainer, "ZeroshotCLIP")) golden_zeroshot(t, f, g, m);
        else {
            char msg[256];
            snprintf(msg, sizeof msg, "trainer %s is not implemented yet (methods issue)", trainer);
            golden_verdict(t, "trainer", 0, msg);
        }
        free(dir), free(mpath);
    }
    free(trainer), free(model_file);
    h5r_close(f);
}

static void golden_usage(FILE *o) {
    fprintf(o, "usage: clipgrid golden [--vocab FILE] [--threads N] FIXTURE.h5...\n"
               "Runs each fixture (format of shared/fixtures/official/README.md) with the model named\n"
               "by its /config attribute model_file (resolved in the fixture's folder) and prints,\n"
               "per tensor, the largest absolute and relative error; exits 1 on any failure.\n");
}

int cmd_golden(int argc, char **argv) {
    const char *vocab = NULL;
    int threads = 0, nfiles = 0;
    char **files = cg_calloc((size_t)argc, sizeof(char *));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) return golden_usage(stdout), 0;
        else if (!strcmp(argv[i], "--vocab") && i + 1 < argc) vocab = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else files[nfiles++] = argv[i];
    }
    if (!nfiles) return golden_usage(stderr), 2;
    cli_init_backend(threads);
    GoldenCtx g = {0};
    if (!(g.tok = tokenizer_load(vocab ? vocab : cli_default_vocab())))
        cg_fatal("%s", cg_error());
    GoldenTally t = {0};
    for (int i = 0; i < nfiles; i++) golden_file(&t, &g, files[i]);
    printf("%d passed, %d failed\n", t.passed, t.failed);
    if (g.loaded) clip_model_free(&g.model);
    free(g.model_path), free(files);
    tokenizer_free(g.tok);
    return t.failed ? 1 : 0;
}
