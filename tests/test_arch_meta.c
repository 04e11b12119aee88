/* tests/test_arch_meta.c — the architecture the shapes cannot tell (core/model/clip_meta.h) against
 * PyTorch: tests/reference/arch_ckpt_ref.py restates OpenAI's model.py with exact GELU and with
 * heads 32 and 80 wide, and writes tests/data/arch/<model>/{model.safetensors, ref.h5} with the
 * float64 features and logits. The models' metadata comes from an open_clip_config.json (gelu64),
 * an HF config.json (heads80) and the sweep's keys (heads32, which has no metadata file and is
 * refused without them). Negative controls: the wrong activation or head count is far off. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/clip_meta.h"
#include "core/model/clip_weights.h"
#include "base/util.h"
#include "core/methods/cos_head.h"
#include "core/methods/zeroshot.h"
#include "results/h5read.h"
#include "tests/testlib.h"

#define TOL 2e-5  /* fp32 against the float64 reference, relative to each tensor's max |ref| */

typedef struct {
    float *img, *txt, *logits;  /* host */
    int B, C, E;
} Outputs;

static float *read_(hid_t f, const char *path, size_t *n) {
    H5Shape s;
    float *v = h5r_read_f32(f, path, &s);
    if (!v) cg_fatal("%s", cg_error());
    if (n) *n = s.n;
    return v;
}

/* features and logits of the model at `weights` on the inputs of `ref` */
static int run_(const char *weights, hid_t ref, Outputs *o) {
    ClipModel m;
    if (clip_model_load(&m, weights)) return -1;
    size_t ni, nid;
    H5Shape s;
    float *images = read_(ref, "/inputs/images", &ni);
    int *ids = h5r_read_int(ref, "/inputs/token_ids", &s);
    nid = s.n;
    o->B = (int)(ni / (3 * (size_t)m.cfg.image_res * m.cfg.image_res));
    o->C = (int)(nid / (size_t)m.cfg.context), o->E = m.cfg.embed;
    float *d_img = k_alloc(ni);
    k_upload(d_img, images, ni);
    ClassPrompts p;
    prompts_from_ids(&p, ids, o->C, m.cfg.context);
    float *fi = image_features(&m, d_img, o->B), *ft = text_features(&m, &p, o->C);
    float *lg = k_alloc((size_t)o->B * o->C);
    clip_head(fi, ft, o->B, o->C, o->E, m.logit_scale, NULL, o->B, lg, NULL, NULL, NULL, NULL);
    o->img = cg_malloc((size_t)o->B * o->E * 4), o->txt = cg_malloc((size_t)o->C * o->E * 4);
    o->logits = cg_malloc((size_t)o->B * o->C * 4);
    k_download(o->img, fi, (size_t)o->B * o->E), k_download(o->txt, ft, (size_t)o->C * o->E);
    k_download(o->logits, lg, (size_t)o->B * o->C);
    k_free(d_img), k_free(fi), k_free(ft), k_free(lg);
    prompts_free(&p);
    free(images), free(ids);
    clip_model_free(&m);
    return 0;
}

static void outputs_free(Outputs *o) { free(o->img), free(o->txt), free(o->logits); }

static void set_hints_(int act, int heads, int head_width) {
    ClipArchHints h;
    clip_arch_hints_clear(&h);
    h.act = act, h.heads = heads, h.head_width = head_width;
    snprintf(h.src, sizeof h.src, "test sweep");
    clip_arch_hints_set(&h);
}

/* the model against PyTorch; returns the logits' max relative error */
static double against_ref_(const char *name, int expect_ok) {
    char w[256], r[256];
    snprintf(w, sizeof w, "tests/data/arch/%s/model.safetensors", name);
    snprintf(r, sizeof r, "tests/data/arch/%s/ref.h5", name);
    hid_t f = h5r_open(r);
    if (f < 0) cg_fatal("%s", cg_error());
    Outputs o;
    if (run_(w, f, &o)) {
        CHECK(0, "%s: load: %s", name, cg_error());
        h5r_close(f);
        return INFINITY;
    }
    float *ri = read_(f, "/image_features", NULL), *rt = read_(f, "/text_features", NULL);
    float *rl = read_(f, "/logits", NULL);
    double e = tl_max_rel(o.logits, rl, (size_t)o.B * o.C, 1e-30);
    if (expect_ok) {
        printf("  %s\n", name);
        CHECK_CLOSE("image features", o.img, ri, (size_t)o.B * o.E, TOL);
        CHECK_CLOSE("text features", o.txt, rt, (size_t)o.C * o.E, TOL);
        CHECK_CLOSE("logits", o.logits, rl, (size_t)o.B * o.C, TOL);
    }
    free(ri), free(rt), free(rl);
    outputs_free(&o);
    h5r_close(f);
    return e;
}

static void expect_refused_(const char *path, const char *want) {
    ClipModel m;
    int rc = clip_model_load(&m, path);
    CHECK(rc == -1 && strstr(cg_error(), want) && strstr(cg_error(), path),
          "%s: expected a refusal naming '%s', got rc %d: %s", path, want, rc, cg_error());
    if (rc == 0) clip_model_free(&m);
    else printf("  refused: %.160s…\n", cg_error());
}

static void test_models(void) {
    printf("models against PyTorch (float64)\n");
    clip_arch_hints_set(NULL);
    against_ref_("gelu64", 1);   /* open_clip_config.json: exact GELU */
    against_ref_("heads80", 1);  /* HF config.json: GELU, 2 + 1 heads of 80 */
    /* heads32 has no metadata: refused, naming the key; with the sweep's keys it runs */
    expect_refused_("tests/data/arch/heads32/model.safetensors", "activation: quick_gelu | gelu");
    set_hints_(CLIP_ACT_QUICKGELU, 0, 0);
    expect_refused_("tests/data/arch/heads32/model.safetensors", "heads: N");
    set_hints_(CLIP_ACT_QUICKGELU, 2, 0);
    against_ref_("heads32", 1);
    /* negative controls: what clipgrid computed before (QuickGELU, width/64 heads) is far off */
    set_hints_(CLIP_ACT_QUICKGELU, 0, 0);
    double e = against_ref_("gelu64", 0);
    printf("  gelu64 computed with QuickGELU: logits off by %.3g relative\n", e);
    CHECK(e > 1e-3, "gelu64 with QuickGELU is as close as %.3g: the test cannot see the activation", e);
    set_hints_(CLIP_ACT_QUICKGELU, 0, 64);
    e = against_ref_("heads32", 0);
    printf("  heads32 computed with 64-wide heads: logits off by %.3g relative\n", e);
    CHECK(e > 1e-3, "heads32 with 64-wide heads is as close as %.3g", e);
    clip_arch_hints_set(NULL);
}

static void test_sources(void) {
    printf("sources\n");
    ClipConfig c;
    ClipNaming nm;
    const char *p = "tests/data/arch/heads80/model.safetensors";
    SafeTensors *st = st_open(p);
    CHECK(st && clip_weights_check(st, &c, &nm) == 0, "%s: %s", p, cg_error());
    CHECK(c.act == CLIP_ACT_GELU && c.vis.heads == 2 && c.txt.heads == 1 &&
              strstr(c.act_src, "config.json (HF hidden_act)") &&
              strstr(c.heads_src, "HF vision_config.num_attention_heads"),
          "heads80: act %d heads %d/%d from '%s' / '%s'", c.act, c.vis.heads, c.txt.heads,
          c.act_src, c.heads_src);
    st_close(st);
    p = "tests/data/arch/gelu64/model.safetensors";
    st = st_open(p);
    CHECK(st && clip_weights_check(st, &c, &nm) == 0, "%s: %s", p, cg_error());
    CHECK(c.act == CLIP_ACT_GELU && c.vis.heads == 1 && c.txt.heads == 1 &&
              strstr(c.act_src, "open_clip_config.json (open_clip quick_gelu false"),
          "gelu64: act %d heads %d/%d from '%s'", c.act, c.vis.heads, c.txt.heads, c.act_src);
    /* the sweep's keys come first */
    set_hints_(CLIP_ACT_QUICKGELU, 0, 0);
    CHECK(clip_weights_check(st, &c, &nm) == 0 && c.act == CLIP_ACT_QUICKGELU &&
              strstr(c.act_src, "test sweep (model.activation)") &&
              strstr(c.heads_src, "open_clip_config.json"),
          "gelu64 with a sweep activation: %d from '%s', heads from '%s'", c.act, c.act_src,
          c.heads_src);
    /* a head count that does not divide the width */
    set_hints_(-1, 3, 0);
    CHECK(clip_weights_check(st, &c, &nm) == -1 && strstr(cg_error(), "not divisible by its 3 heads"),
          "3 heads of a 64-wide tower accepted: %s", cg_error());
    clip_arch_hints_set(NULL);
    st_close(st);
}

int main(void) {
    k_init_cpu(0);
    test_models();
    test_sources();
    return test_finish("test_arch_meta");
}
