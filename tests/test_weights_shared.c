/* tests/test_weights_shared.c — node-shared weights (core/model/clip_weights_shared.h): the host arena
 * filled by clip_weights_load_host equals clip_model_load's arena bit for bit (F32, BF16 and F16
 * files, OpenAI and HF naming), and a model view on it has every tensor at the same offset, the
 * same logit scale and projection layout; a file of another size is refused. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/gen/clip_random.h"
#include "core/model/clip_weights.h"
#include "core/model/clip_weights_shared.h"
#include "base/util.h"
#include "kernels/ops.h"
#include "tests/testlib.h"

static ClipConfig config_(int vis_width) {
    ClipConfig c = {0};
    c.vis.width = vis_width, c.vis.layers = 2, c.patch = 8, c.image_res = 32;
    c.txt.width = 64, c.txt.layers = 2, c.embed = 32, c.vocab = 49408, c.context = 77;
    if (clip_config_finish(&c)) cg_fatal("%s", cg_error());
    return c;
}

/* the offset of every weight pointer of a model from its arena, in a fixed order */
static int offsets_(const ClipModel *m, ptrdiff_t *out) {
    int n = 0;
    const float *base = m->arena;
    out[n++] = m->vis.conv_w - base, out[n++] = m->vis.class_emb - base;
    out[n++] = m->vis.pos_emb - base, out[n++] = m->vis.ln_post_b - base;
    out[n++] = m->vis.proj - base, out[n++] = m->txt.tok_emb - base;
    out[n++] = m->txt.proj - base, out[n++] = m->txt.ln_final_w - base;
    for (int l = 0; l < m->cfg.vis.layers; l++)
        out[n++] = m->vis.blocks[l].qkv_w - base, out[n++] = m->vis.blocks[l].proj_b - base;
    for (int l = 0; l < m->cfg.txt.layers; l++)
        out[n++] = m->txt.blocks[l].qkv_b - base, out[n++] = m->txt.blocks[l].fc_w - base;
    return n;
}

static void one_(const char *path, KDtype dt, ClipNaming nm, const char *what) {
    ClipConfig c = config_(128);
    CHECK(clip_random_write_named(path, &c, 11, dt, nm) == 0, "%s: write: %s", what, cg_error());
    ClipModel ref;
    if (clip_model_load(&ref, path)) {
        CHECK(0, "%s: load: %s", what, cg_error());
        return;
    }
    size_t n = clip_arena_floats(&c);
    CHECK(n == ref.arena_floats, "%s: arena floats %zu, clip_model_load %zu", what, n,
          ref.arena_floats);
    float *host = cg_malloc(n * sizeof(float)), *want = cg_malloc(n * sizeof(float));
    k_download(want, ref.arena, n);
    ClipConfig got;
    float ls = 0;
    KWLayout layout;
    int rc = clip_weights_load_host(path, host, n, &got, &ls, &layout);
    CHECK(rc == 0, "%s: load_host: %s", what, cg_error());
    CHECK(memcmp(host, want, n * sizeof(float)) == 0, "%s: host arena differs", what);
    CHECK(!memcmp(&got, &ref.cfg, sizeof got), "%s: configuration differs", what);
    CHECK(ls == ref.logit_scale && layout == ref.vis.proj_layout, "%s: logit %g/%g layout %d/%d",
          what, ls, ref.logit_scale, layout, ref.vis.proj_layout);
    ClipModel view;
    float *dev = k_alloc(n);
    k_upload(dev, host, n);
    clip_model_view(&view, &got, dev, ls, layout);
    ptrdiff_t a[64], b[64];
    int na = offsets_(&ref, a), nb = offsets_(&view, b);
    CHECK(na == nb && !memcmp(a, b, (size_t)na * sizeof *a), "%s: tensor offsets differ", what);
    CHECK(view.arena_floats == n && view.txt.proj_layout == ref.txt.proj_layout,
          "%s: view arena %zu layout %d", what, view.arena_floats, view.txt.proj_layout);
    printf("  %-32s %zu floats identical, %d tensor offsets equal\n", what, n, na);
    clip_model_view_free(&view);
    k_free(dev);
    /* a buffer of another size is refused */
    rc = clip_weights_load_host(path, host, n - 1, &got, &ls, &layout);
    CHECK(rc == -1 && strstr(cg_error(), "shared arena"), "%s: wrong size accepted (%s)", what,
          cg_error());
    free(host), free(want);
    clip_model_free(&ref);
}

int main(void) {
    k_init_cpu(1);
    char path[] = "/tmp/test_weights_shared_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) cg_fatal("mkstemp");
    close(fd);
    one_(path, K_F32, CLIP_NAMES_OPENAI, "F32, OpenAI names");
    one_(path, K_BF16, CLIP_NAMES_OPENAI, "BF16, OpenAI names");
    one_(path, K_F16, CLIP_NAMES_HF, "F16, HF names");
    one_(path, K_F32, CLIP_NAMES_HF, "F32, HF names");
    unlink(path);
    return test_finish("test_weights_shared");
}
