#include "core/base/rng.h"
/* tests/test_weights.c — safetensors reader/writer, CLIP weight loading in both naming schemes,
#include "core/base/rng.h"
 * architecture inference, the deterministic random CLIP, and bad input (every malformed file
#include "core/base/rng.h"
 * gives NULL / -1 with a message naming the file and the problem, never a crash).
#include "core/base/rng.h"
 * Runs from the repository root; the official fixture is read from $SHARED (default ../shared). */
#include "core/base/rng.h"
#include <jansson.h>
#include "core/base/rng.h"
#include <stdint.h>
#include "core/base/rng.h"
#include <stdlib.h>
#include "core/base/rng.h"
#include <string.h>
#include "core/base/rng.h"
#include <unistd.h>
#include "core/base/rng.h"

#include "core/base/rng.h"
#include "core/gen/clip_random.h"
#include "core/model/clip_weights.h"
#include "core/model/safetensors.h"
#include "base/util.h"
#include "core/model/clip_meta.h"
#include "kernels/ops.h"
#include "tests/testlib.h"

/* ---- temporary files -------------------------------------------------------------------- */

static char *tmp_files[256];
static int n_tmp;

static const char *tmp_path(void) {
    char *p = cg_strdup("/tmp/clipgrid_test_XXXXXX");
    int fd = mkstemp(p);
    if (fd < 0) cg_fatal("mkstemp failed");
    close(fd);
    tmp_files[n_tmp++] = p;
    return p;
}

static void tmp_cleanup(void) {
    for (int i = 0; i < n_tmp; i++) remove(tmp_files[i]), free(tmp_files[i]);
}

static void write_bytes(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(buf, 1, n, f) != n) || fclose(f)) cg_fatal("cannot write %s", path);
}

/* LE header length (or `len` when non-zero), the header text, `data_len` zero bytes */
static const char *write_st(const char *header, uint64_t len, size_t data_len) {
    const char *p = tmp_path();
    size_t h = strlen(header);
    uint8_t *buf = calloc(8 + h + data_len + 1, 1);
    uint64_t n = len ? len : h;
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(n >> (8 * i));
    memcpy(buf + 8, header, h);
    write_bytes(p, buf, 8 + h + data_len);
    free(buf);
    return p;
}

static void expect_msg(const char *what, const char *path, const char *needle) {
    const char *e = cg_error();
    if (getenv("TEST_VERBOSE")) printf("  %-28s %s\n", what, e);
    CHECK(strstr(e, path) != NULL, "%s: message does not name the file: %s", what, e);
    CHECK(strstr(e, needle) != NULL, "%s: message lacks '%s': %s", what, needle, e);
}

static void expect_st_error(const char *what, const char *path, const char *needle) {
    cg_error_set("(none)");
    SafeTensors *st = st_open(path);
    CHECK(st == NULL, "%s: st_open accepted a bad file", what);
    st_close(st);
    expect_msg(what, path, needle);
}

static void expect_load_error(const char *what, const char *path, const char *needle) {
    ClipModel m;
    cg_error_set("(none)");
    int rc = clip_model_load(&m, path);
    CHECK(rc == -1 && m.arena == NULL && m.vis.blocks == NULL, "%s: load accepted a bad file",
          what);
    if (rc == 0) clip_model_free(&m);
    expect_msg(what, path, needle);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static ClipConfig small_config(void) {
    ClipConfig c = {0};
    c.vis.width = 128, c.vis.layers = 2, c.patch = 8, c.image_res = 32;
    c.txt.width = 64, c.txt.layers = 2, c.embed = 32, c.vocab = 49408, c.context = 77;
    if (clip_config_finish(&c)) cg_fatal("%s", cg_error());
    return c;
}

static float *download(const ClipModel *m) {
    float *h = cg_malloc(m->arena_floats * sizeof(float));
    k_download(h, m->arena, m->arena_floats);
    return h;
}

static int load(ClipModel *m, const char *path) {
    int rc = clip_model_load(m, path);
    CHECK(rc == 0, "load %s: %s", path, cg_error());
    return rc;
}

static size_t count_diff(const float *a, const float *b, size_t n) {
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], 4) != 0;
    return d;
}

/* ---- generator ------------------------------------------------------------------------------ */

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* reference values from an independent pure-Python implementation of clip_random.h */
static void test_generator(void) {
    CHECK(cg_fnv1a64("") == 0xcbf29ce484222325ull, "fnv1a64(\"\")");
    CHECK(cg_fnv1a64("a") == 0xaf63dc4c8601ec8cull, "fnv1a64(\"a\")");
    CHECK(cg_splitmix64(0) == 0xe220a8397b1dcdafull, "splitmix64(0)");
    static const struct {
        const char *name;
        uint64_t seed;
        double mean, std;
        size_t start;
        uint32_t bits[3];
    } ref[] = {
        {"visual.conv1.weight", 0, 0.0, 0.02, 0, {0x3b9bb6ce, 0x3bf03356, 0xbd08e81f}},
        {"transformer.resblocks.1.ln_2.weight", 7, 1.0, 0.05, 5,
         {0x3f7224ca, 0x3f8987f1, 0x3f804587}},
        {"visual.proj", 123456789012345ull, 0.0, 0.03608439182435161, 1000,
         {0xbd106710, 0xbcb9644c, 0x3cead470}},
    };
    for (int r = 0; r < 3; r++) {
        float v[3];
        clip_random_fill_host_at(v, 3, ref[r].start, ref[r].name, ref[r].seed, ref[r].mean,
                                 ref[r].std);
        for (int i = 0; i < 3; i++)
            CHECK(bits_of(v[i]) == ref[r].bits[i], "random %s[%zu]: %08x, expected %08x",
                  ref[r].name, ref[r].start + (size_t)i, bits_of(v[i]), ref[r].bits[i]);
    }
}

/* ---- parameter counts and standard architectures ----------------------------------------- */

static void test_param_counts(void) {
    static const struct {
        const char *arch;
        size_t vision, text, total;
    } ref[] = {
        {"ViT-B/32", 87849216, 63428096, 151277313},
        {"ViT-B/16", 86192640, 63428096, 149620737},
        {"ViT-L/14", 303966208, 123650304, 427616513},
        {"ViT-L/14@336px", 304293888, 123650304, 427944193},
    };
    for (int i = 0; i < 4; i++) {
        ClipConfig c;
        size_t v, t, all;
        CHECK(clip_config_from_arch(&c, ref[i].arch) == 0, "%s: %s", ref[i].arch, cg_error());
        all = clip_param_count(&c, &v, &t);
        CHECK(v == ref[i].vision && t == ref[i].text && all == ref[i].total,
              "%s: params %zu / %zu / %zu, clip.md §1.2 says %zu / %zu / %zu", ref[i].arch, v, t,
              all, ref[i].vision, ref[i].text, ref[i].total);
        CHECK(!strcmp(c.arch, ref[i].arch), "%s named %s", ref[i].arch, c.arch);
    }
    ClipConfig c;
    CHECK(clip_config_from_arch(&c, "ViT-B-16") == 0 && c.vis_tokens == 197 && c.txt.heads == 8,
          "ViT-B-16 alias");
    CHECK(clip_config_from_arch(&c, "ViT-H/14") == -1 && strstr(cg_error(), "ViT-H/14"),
          "unknown arch: %s", cg_error());
    /* the clip.md §1.2 formula on a custom config */
    c = small_config();
    size_t W = 128, E = 32, N = 17, p = 8, D = 64, V = 49408, C = 77, v, t;
    clip_param_count(&c, &v, &t);
    CHECK(v == 3 * p * p * W + W + N * W + 2 * W + 2 * (12 * W * W + 13 * W) + 2 * W + W * E,
          "custom vision params %zu", v);
    CHECK(t == V * D + C * D + 2 * (12 * D * D + 13 * D) + 2 * D + D * E,
          "custom text params %zu", t);
}

/* A header-only file of a standard architecture: the data region is a hole (ftruncate), so a
 * 600 MB ViT-B/16 costs no disk and no time. The header is written with indentation, which a
 * reader must accept like any JSON whitespace. */
static const char *write_sparse_arch(const ClipConfig *c, ClipNaming nm) {
    int n;
    ClipTensorDesc *d = clip_tensor_descs(c, NULL, &n);
    json_t *root = json_object();
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        ClipPart parts[3];
        int np = clip_desc_parts(&d[i], nm, parts);
        for (int k = 0; k < np; k++) {
            StDtype dt = d[i].kind == CLIP_T_LOGIT ? ST_F32 : ST_F16;
            size_t nb = parts[k].numel * st_dtype_size(dt);
            json_t *shape = json_array();
            for (int j = 0; j < parts[k].ndim; j++)
                json_array_append_new(shape, json_integer(parts[k].shape[j]));
            json_object_set_new(root, parts[k].name,
                                json_pack("{s:s,s:o,s:[I,I]}", "dtype", st_dtype_name(dt),
                                          "shape", shape, "data_offsets", (json_int_t)off,
                                          (json_int_t)(off + nb)));
            off += nb;
        }
    }
    char *h = json_dumps(root, JSON_INDENT(1));
    const char *p = write_st(h, 0, 0);
    if (truncate(p, (off_t)(8 + strlen(h) + off)) != 0) cg_fatal("truncate %s", p);
    free(h);
    json_decref(root);
    free(d);
    return p;
}

static void test_arch_inference(void) {
    const char *archs[] = {"ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px"};
    for (int a = 0; a < 4; a++)
        for (int nm = 0; nm < 2; nm++) {
            ClipConfig ref, got;
            ClipNaming gnm;
            clip_config_from_arch(&ref, archs[a]);
            const char *p = write_sparse_arch(&ref, (ClipNaming)nm);
            SafeTensors *st = st_open(p);
            CHECK(st != NULL, "%s sparse: %s", archs[a], cg_error());
            if (!st) continue;
            int rc = clip_weights_check(st, &got, &gnm);
            CHECK(rc == 0, "%s: %s", archs[a], cg_error());
            CHECK(rc == 0 && strstr(got.act_src, "OpenAI default for") &&
                      strstr(got.heads_src, "OpenAI default for") && got.act == CLIP_ACT_QUICKGELU,
                  "%s: no metadata: QuickGELU from '%s', heads from '%s'", archs[a], got.act_src,
                  got.heads_src);
            memset(got.act_src, 0, sizeof got.act_src), memset(got.heads_src, 0, sizeof got.heads_src);
            CHECK(rc == 0 && gnm == (ClipNaming)nm && !memcmp(&got, &ref, sizeof ref),
                  "%s (%s): inferred %s W %d L %d p %d R %d D %d L %d E %d", archs[a],
                  clip_naming_name((ClipNaming)nm), got.arch, got.vis.width, got.vis.layers,
                  got.patch, got.image_res, got.txt.width, got.txt.layers, got.embed);
            int layers = ref.vis.layers + ref.txt.layers;  /* 302 / 398 for ViT-B (clip.md §8) */
            CHECK(st_count(st) == 14 + (nm ? 16 : 12) * layers, "%s: %d tensors", archs[a],
                  st_count(st));
            st_close(st);
            remove(p);
        }
}

/* ---- random files in both namings and dtypes -------------------------------------------- */

typedef struct {
    ClipModel m;
    float *h;
} Loaded;

static void compare_transposed(const char *what, const float *oa, const float *hf, size_t rows,
                               size_t cols) {
    size_t bad = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            bad += memcmp(&oa[r * cols + c], &hf[c * rows + r], 4) != 0;
    CHECK(bad == 0, "%s: %zu elements of the HF projection are not the OpenAI transpose", what,
          bad);
}

/* OpenAI vs HF load of the same random model: equal bit for bit except the projections */
static void compare_oa_hf(const char *what, const Loaded *oa, const Loaded *hf) {
    const ClipConfig *c = &oa->m.cfg;
    ClipConfig a = oa->m.cfg, b = hf->m.cfg;  /* the sources name the two files */
    memset(a.act_src, 0, sizeof a.act_src), memset(a.heads_src, 0, sizeof a.heads_src);
    memset(b.act_src, 0, sizeof b.act_src), memset(b.heads_src, 0, sizeof b.heads_src);
    CHECK(!memcmp(&a, &b, sizeof a), "%s: configs differ", what);
    CHECK(oa->m.arena_floats == hf->m.arena_floats, "%s: arena sizes differ", what);
    CHECK(oa->m.vis.proj_layout == K_W_IN_OUT && hf->m.vis.proj_layout == K_W_OUT_IN &&
              oa->m.txt.proj_layout == K_W_IN_OUT && hf->m.txt.proj_layout == K_W_OUT_IN,
          "%s: projection layouts", what);
    size_t vp = (size_t)(oa->m.vis.proj - oa->m.arena), tp = (size_t)(oa->m.txt.proj - oa->m.arena);
    size_t vn = (size_t)c->vis.width * c->embed, tn = (size_t)c->txt.width * c->embed;
    CHECK(vp == (size_t)(hf->m.vis.proj - hf->m.arena) &&
              tp == (size_t)(hf->m.txt.proj - hf->m.arena), "%s: projection offsets", what);
    size_t bad = 0, n = oa->m.arena_floats;
    for (size_t i = 0; i < n; i++) {
        if ((i >= vp && i < vp + vn) || (i >= tp && i < tp + tn)) continue;
        bad += memcmp(&oa->h[i], &hf->h[i], 4) != 0;
    }
    CHECK(bad == 0, "%s: %zu elements differ outside the projections", what, bad);
    compare_transposed(what, oa->h + vp, hf->h + vp, (size_t)c->vis.width, (size_t)c->embed);
    compare_transposed(what, oa->h + tp, hf->h + tp, (size_t)c->txt.width, (size_t)c->embed);
    CHECK(oa->m.logit_scale == hf->m.logit_scale, "%s: logit_scale", what);
}

static void check_rounded(const char *what, const float *f32, const float *got, size_t n,
                          StDtype dt) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float r = dt == ST_F16 ? st_f16_to_f32(st_f32_to_f16(f32[i]))
                               : st_bf16_to_f32(st_f32_to_bf16(f32[i]));
        bad += memcmp(&r, &got[i], 4) != 0;
    }
    CHECK(bad == 0, "%s: %zu elements differ from the rounded F32 values", what, bad);
}

static void check_spot_values(const Loaded *l, uint64_t seed) {
    const ClipModel *m = &l->m;
    size_t n = (size_t)m->cfg.vis.width * 3 * m->cfg.patch * m->cfg.patch;
    size_t n_qkv = 3 * (size_t)m->cfg.txt.width * m->cfg.txt.width;
    float *ref = cg_malloc((n > n_qkv ? n : n_qkv) * sizeof(float));
    clip_random_fill_host(ref, n, "visual.conv1.weight", seed, 0, 0.02);
    CHECK(count_diff(l->h + (m->vis.conv_w - m->arena), ref, n) == 0, "conv1 values");
    n = n_qkv;
    clip_random_fill_host(ref, n, "transformer.resblocks.1.attn.in_proj_weight", seed, 0, 0.02);
    CHECK(count_diff(l->h + (m->txt.blocks[1].qkv_w - m->arena), ref, n) == 0,
          "text block 1 qkv values");
    const float *ln = l->h + (m->vis.blocks[0].ln1_w - m->arena);
    int in_range = 1;
    for (int i = 0; i < m->cfg.vis.width; i++)
        in_range &= ln[i] >= 1 - 0.05 * 1.7320509 && ln[i] <= 1 + 0.05 * 1.7320509;
    CHECK(in_range, "LayerNorm weights within mean 1 ± 0.05·√3");
    CHECK(m->logit_scale == 4.605170249938965f, "logit_scale %.9g", (double)m->logit_scale);
    free(ref);
}

static void test_random_files(void) {
    const ClipConfig c = small_config();
    const uint64_t seed = 20251122;
    static const KDtype dts[] = {K_F32, K_F16, K_BF16, K_F32, K_F16};
    static const ClipNaming nms[] = {CLIP_NAMES_OPENAI, CLIP_NAMES_OPENAI, CLIP_NAMES_OPENAI,
                                     CLIP_NAMES_HF, CLIP_NAMES_HF};
    Loaded l[5];
    memset(l, 0, sizeof l);
    for (int i = 0; i < 5; i++) {
        const char *p = tmp_path();
        CHECK(clip_random_write_named(p, &c, seed, dts[i], nms[i]) == 0, "write: %s",
              cg_error());
        if (load(&l[i].m, p)) return;
        l[i].h = download(&l[i].m);
    }
    CHECK(!strcmp(l[0].m.cfg.arch, "custom") && l[0].m.cfg.vis_tokens == 17 &&
              l[0].m.cfg.vis.heads == 2 && l[0].m.cfg.txt.heads == 1 && l[0].m.cfg.grid == 4,
          "small config inferred: %s", l[0].m.cfg.arch);
    compare_oa_hf("F32 OpenAI vs HF", &l[0], &l[3]);
    compare_oa_hf("F16 OpenAI vs HF", &l[1], &l[4]);
    check_rounded("F16 file", l[0].h, l[1].h, l[0].m.arena_floats, ST_F16);
    check_rounded("BF16 file", l[0].h, l[2].h, l[0].m.arena_floats, ST_BF16);
    check_spot_values(&l[0], seed);
    for (int i = 1; i < 5; i++)
        CHECK(l[i].m.logit_scale == l[0].m.logit_scale, "logit_scale stays F32 (file %d)", i);

    ClipModel r;
    CHECK(clip_random_model(&r, &c, seed) == 0, "clip_random_model: %s", cg_error());
    float *rh = download(&r);
    CHECK(r.arena_floats == l[0].m.arena_floats &&
              count_diff(rh, l[0].h, r.arena_floats) == 0 && r.logit_scale == l[0].m.logit_scale,
          "clip_random_model differs from the loaded F32 file");
    CHECK(r.vis.blocks[1].fc_w - r.arena == l[0].m.vis.blocks[1].fc_w - l[0].m.arena,
          "random model layout");
    free(rh);
    clip_model_free(&r);
    for (int i = 0; i < 5; i++) free(l[i].h), clip_model_free(&l[i].m);
}

/* ---- writer layout ---------------------------------------------------------------------------- */

static void test_writer(void) {
    const char *p = tmp_path();
    StWriter *w = st_writer_new();
    float a[3] = {1.5f, -2.0f, 3.25f};
    int64_t sa[1] = {3}, sb[2] = {2, 1}, s0[2] = {0, 4};
    uint16_t b[2] = {st_f32_to_f16(0.5f), st_f32_to_f16(-1.0f)};
    st_writer_set_metadata(w, "format", "pt");
    CHECK(st_writer_add(w, "a", ST_F32, 1, sa, a) == 0, "add a");
    CHECK(st_writer_add(w, "b", ST_F16, 2, sb, b) == 0, "add b");
    CHECK(st_writer_add(w, "empty", ST_BF16, 2, s0, NULL) == 0, "add empty");
    CHECK(st_writer_add(w, "a", ST_F32, 1, sa, a) == -1 && strstr(cg_error(), "duplicate"),
          "writer rejects a duplicate name");
    CHECK(st_writer_write(w, p) == 0, "write: %s", cg_error());
    CHECK(st_writer_write(w, "/nonexistent_dir_clipgrid/x.safetensors") == -1 &&
              strstr(cg_error(), "nonexistent_dir_clipgrid"), "write to a missing directory");
    st_writer_free(w);

    size_t len;
    char *raw = cg_read_file(p, &len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (uint8_t)raw[i];
    const char *expect = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\","
                         "\"shape\":[3],\"data_offsets\":[0,12]},\"b\":{\"dtype\":\"F16\","
                         "\"shape\":[2,1],\"data_offsets\":[12,16]},\"empty\":{\"dtype\":"
                         "\"BF16\",\"shape\":[0,4],\"data_offsets\":[16,16]}}";
    CHECK((8 + n) % 8 == 0 && len == 8 + n + 16, "layout: header %llu, file %zu",
          (unsigned long long)n, len);
    CHECK(n >= strlen(expect) && !memcmp(raw + 8, expect, strlen(expect)),
          "compact header in insertion order: %.*s", (int)n, raw + 8);
    for (size_t i = strlen(expect); i < n; i++) CHECK(raw[8 + i] == ' ', "padding is spaces");
    CHECK(!memcmp(raw + 8 + n, a, 12) && !memcmp(raw + 8 + n + 12, b, 4), "data contiguous");
    free(raw);

    SafeTensors *st = st_open(p);
    CHECK(st != NULL, "read back: %s", cg_error());
    if (!st) return;
    const StTensor *tb = st_find(st, "b"), *te = st_find(st, "empty");
    CHECK(st_count(st) == 3 && tb && tb->ndim == 2 && tb->numel == 2 && te && te->nbytes == 0,
          "read back tensors");
    CHECK(tb && st_read_float((const char *)tb->data + 2, ST_F16) == -1.0f, "read back value");
    CHECK(st_metadata(st, "format") && !strcmp(st_metadata(st, "format"), "pt") &&
              st_metadata(st, "nope") == NULL && st_metadata_count(st) == 1, "metadata");
    CHECK(st_find(st, "zzz") == NULL && st_index(st, "a") == 0 && st_get(st, 3) == NULL,
          "lookups");
    st_close(st);
}

/* ---- the official fixture ---------------------------------------------------------------------- */

static void test_tiny768(void) {
    const char *shared = getenv("SHARED");
    char *path = cg_path_join(shared && *shared ? shared : "../shared",
                              "fixtures/official/tiny768.safetensors");
    ClipModel m;
    if (load(&m, path)) {
        free(path);
        return;
    }
    const ClipConfig *c = &m.cfg;
    CHECK(c->vis.width == 768 && c->vis.layers == 2 && c->vis.heads == 12 && c->vis.mlp == 3072 &&
              c->patch == 16 && c->image_res == 32 && c->grid == 2 && c->vis_tokens == 5,
          "tiny768 vision: W %d L %d p %d R %d N %d", c->vis.width, c->vis.layers, c->patch,
          c->image_res, c->vis_tokens);
    CHECK(c->txt.width == 512 && c->txt.layers == 2 && c->txt.heads == 8 && c->txt.mlp == 2048 &&
              c->context == 77 && c->vocab == 49408 && c->embed == 512 &&
              !strcmp(c->arch, "custom"), "tiny768 text/embed: D %d L %d E %d %s", c->txt.width,
          c->txt.layers, c->embed, c->arch);
    CHECK(m.logit_scale == 4.605170249938965f, "tiny768 logit_scale %.17g",
          (double)m.logit_scale);
    CHECK(m.vis.proj_layout == K_W_IN_OUT && m.txt.proj_layout == K_W_IN_OUT, "tiny768 layouts");
    /* rows 1 (zero) and 320 ("a", non-zero) of the token embedding; class embedding vs file */
    float row[512], ce[768];
    int zero = 1, nonzero = 0;
    k_download(row, m.txt.tok_emb + 1 * 512, 512);
    for (int i = 0; i < 512; i++) zero &= row[i] == 0;
    k_download(row, m.txt.tok_emb + 320 * 512, 512);
    for (int i = 0; i < 512; i++) nonzero |= row[i] != 0;
    CHECK(zero && nonzero, "tiny768 token rows 1 (zero) / 320 (non-zero)");
    SafeTensors *st = st_open(path);
    const StTensor *t = st ? st_find(st, "visual.class_embedding") : NULL;
    k_download(ce, m.vis.class_emb, 768);
    int same = t && t->dtype == ST_F16;
    for (int i = 0; same && i < 768; i++)
        same = st_read_float((const char *)t->data + 2 * i, ST_F16) == ce[i];
    CHECK(same, "tiny768 class embedding equals the file's F16 values");
    CHECK(st && st_metadata(st, "nonzero_token_rows") != NULL, "tiny768 metadata");
    st_close(st);
    clip_model_free(&m);
    free(path);
}

/* ---- bad containers ---------------------------------------------------------------------- */

#define T1 "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

static void test_bad_containers(void) {
    const char *p = tmp_path();
    write_bytes(p, "", 0);
    expect_st_error("empty file", p, "0 bytes");
    expect_load_error("empty file (load)", p, "0 bytes");
    p = tmp_path();
    write_bytes(p, "\x10\0\0", 3);
    expect_st_error("3-byte file", p, "shorter than the 8-byte");
    p = write_st("{" T1 "}", 0, 8);
    if (truncate(p, 8 + 20) != 0) cg_fatal("truncate %s", p);
    expect_st_error("header cut", p, "runs past the end of the file");
    expect_st_error("header length beyond the file", write_st("{" T1 "}", 4096, 8),
                    "header length 4096 runs past");
    expect_st_error("absurd header length", write_st("{" T1 "}", 1ull << 40, 8),
                    "exceeds the 100000000-byte limit");
    expect_st_error("header length 0", write_st("", 0, 8), "header length is 0");
    expect_st_error("not JSON", write_st("{not json}", 0, 0), "not valid JSON");
    expect_st_error("garbage after the header", write_st("{" T1 "}  x", 0, 8), "not valid JSON");
    expect_st_error("JSON array", write_st("[1, 2, 3]", 0, 0), "not an object");
    expect_st_error("entry not an object", write_st("{\"a\": 5}", 0, 0),
                    "'a': header entry is not an object");
    expect_st_error("overlap",
                    write_st("{" T1 ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
                             "[4,12]}}", 0, 12), "overlap");
    expect_st_error("offsets beyond the file", write_st("{" T1 "}", 0, 4),
                    "end beyond the data buffer");
    expect_st_error("size mismatch",
                    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                             0, 8), "needs 12 bytes");
    expect_st_error("dtype F64",
                    write_st("{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                             0, 8), "tensor 'w' has dtype 'F64'");
    expect_st_error("dtype XYZ",
                    write_st("{\"w\":{\"dtype\":\"XYZ\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                             0, 8), "'XYZ'");
    expect_st_error("duplicate names", write_st("{" T1 "," T1 "}", 0, 8), "duplicate");
    expect_st_error("gap",
                    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                             0, 12), "gap");
    expect_st_error("trailing bytes", write_st("{" T1 "}", 0, 12), "4 trailing bytes");
    expect_st_error("negative dim",
                    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
                             0, 8), "shape element 0");
    expect_st_error("float dim",
                    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}",
                             0, 8), "shape element 0");
    expect_st_error("rank 9",
                    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],"
                             "\"data_offsets\":[0,8]}}", 0, 8), "at most 8");
    expect_st_error("begin > end",
                    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
                             0, 8), "begin > end");
    expect_st_error("missing data_offsets",
                    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 0, 8), "data_offsets");
    expect_st_error("metadata not strings",
                    write_st("{\"__metadata__\":{\"k\":1}," T1 "}", 0, 8), "__metadata__");
    expect_st_error("huge shape",
                    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                             "\"data_offsets\":[0,8]}}", 0, 8), "overflows");

    /* accepted: trailing spaces, a scalar, a zero-size tensor, I64, unaligned F32 */
    p = write_st("{\"s\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,2]},"
                 "\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[2,2]},"
                 "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[2,10]},"
                 "\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[10,14]}}   ", 0, 14);
    SafeTensors *st = st_open(p);
    CHECK(st && st_count(st) == 4 && st_find(st, "s")->ndim == 0 && st_find(st, "s")->numel == 1
              && st_find(st, "z")->numel == 0 && st_find(st, "z")->data == NULL &&
              st_find(st, "i")->dtype == ST_I64 && st_find(st, "f")->offset == 10,
          "valid odd file rejected: %s", st ? "" : cg_error());
    st_close(st);
    expect_load_error("valid container, not CLIP", p, "not a CLIP ViT checkpoint");
    expect_st_error("a directory", "/tmp", "not a regular file");
    expect_st_error("no such file", "/tmp/clipgrid_no_such_file.safetensors", "cannot open");
}

/* ---- bad CLIP files ---------------------------------------------------------------------------- */

typedef struct {
    const char *drop;            /* tensor left out */
    const char *prefix_from;     /* tensors renamed: this prefix ... */
    const char *prefix_to;       /* ... becomes this one */
    const char *reshape;         /* tensor whose shape becomes new_shape */
    int new_ndim;
    int64_t new_shape[4];
    const char *extra;           /* an additional tensor [1] of dtype extra_dt */
    StDtype extra_dt, retype_dt;
    const char *retype;          /* tensor stored with dtype retype_dt */
} Mutation;

/* a small CLIP (zeros) with one mutation, in either naming */
static const char *write_clip(ClipNaming nm, const Mutation *mu) {
    const ClipConfig c = small_config();
    int n;
    ClipTensorDesc *d = clip_tensor_descs(&c, NULL, &n);
    static char names[512][2 * CLIP_NAME_MAX + 512];
    int nn = 0;
    void *zeros = cg_calloc((size_t)c.vocab * c.txt.width * 8 + 64, 1);
    StWriter *w = st_writer_new();
    for (int i = 0; i < n; i++) {
        ClipPart parts[3];
        int np = clip_desc_parts(&d[i], nm, parts);
        for (int k = 0; k < np; k++) {
            ClipPart *p = &parts[k];
            char *name = names[nn++];
            size_t pl = mu->prefix_from ? strlen(mu->prefix_from) : 0;
            if (mu->drop && !strcmp(p->name, mu->drop)) continue;
            if (pl && !strncmp(p->name, mu->prefix_from, pl))
                snprintf(name, sizeof names[0], "%s%s", mu->prefix_to, p->name + pl);
            else snprintf(name, sizeof names[0], "%s", p->name);
            StDtype dt = mu->retype && !strcmp(p->name, mu->retype) ? mu->retype_dt : ST_F32;
            if (mu->reshape && !strcmp(p->name, mu->reshape))
                st_writer_add(w, name, dt, mu->new_ndim, mu->new_shape, zeros);
            else st_writer_add(w, name, dt, p->ndim, p->shape, zeros);
        }
    }
    int64_t one = 1;
    if (mu->extra) st_writer_add(w, mu->extra, mu->extra_dt, 1, &one, zeros);
    const char *path = tmp_path();
    if (st_writer_write(w, path)) cg_fatal("%s", cg_error());
    st_writer_free(w);
    free(zeros);
    free(d);
    return path;
}

static void test_bad_clip(void) {
    const ClipNaming OA = CLIP_NAMES_OPENAI, HF = CLIP_NAMES_HF;
    expect_load_error("wrong shape",
                      write_clip(OA, &(Mutation){.reshape = "visual.transformer.resblocks.1.mlp."
                                                            "c_fc.weight",
                                                 .new_ndim = 2, .new_shape = {500, 128}}),
                      "tensor visual.transformer.resblocks.1.mlp.c_fc.weight has shape [500, "
                      "128], expected [512, 128] for custom");
    expect_load_error("wrong HF shape",
                      write_clip(HF, &(Mutation){.reshape = "visual_projection.weight",
                                                 .new_ndim = 2, .new_shape = {128, 32}}),
                      "visual_projection.weight has shape [128, 32], expected [32, 128]");
    expect_load_error("missing tensor", write_clip(OA, &(Mutation){.drop = "ln_final.bias"}),
                      "missing tensor ln_final.bias");
    expect_load_error("missing HF k_proj",
                      write_clip(HF, &(Mutation){.drop = "vision_model.encoder.layers.1."
                                                         "self_attn.k_proj.weight"}),
                      "missing tensor vision_model.encoder.layers.1.self_attn.k_proj.weight");
    expect_load_error("missing logit_scale", write_clip(OA, &(Mutation){.drop = "logit_scale"}),
                      "missing tensor logit_scale");
    expect_load_error("block index gap",
                      write_clip(OA, &(Mutation){.prefix_from = "visual.transformer.resblocks.1.",
                                                 .prefix_to = "visual.transformer.resblocks.2."}),
                      "block index gap: no tensor visual.transformer.resblocks.1.*");
    expect_load_error("HF block index gap",
                      write_clip(HF, &(Mutation){.prefix_from = "text_model.encoder.layers.0.",
                                                 .prefix_to = "text_model.encoder.layers.5."}),
                      "block index gap: no tensor text_model.encoder.layers.0.*");
    expect_load_error("unexpected tensor",
                      write_clip(OA, &(Mutation){.extra = "visual.foo", .extra_dt = ST_F32}),
                      "unexpected tensor visual.foo");
    expect_load_error("mixed naming",
                      write_clip(OA, &(Mutation){.extra = "vision_model.post_layernorm.bias"}),
                      "unexpected tensor vision_model.post_layernorm.bias");
    expect_load_error("I64 weight",
                      write_clip(OA, &(Mutation){.retype = "ln_final.weight",
                                                 .retype_dt = ST_I64}),
                      "ln_final.weight has dtype I64");
    expect_load_error("bad conv1",
                      write_clip(OA, &(Mutation){.reshape = "visual.conv1.weight", .new_ndim = 4,
                                                 .new_shape = {128, 3, 8, 4}}),
                      "visual.conv1.weight has shape [128, 3, 8, 4], expected [W, 3, p, p]");
    expect_load_error("non-square grid",
                      write_clip(OA, &(Mutation){.reshape = "visual.positional_embedding",
                                                 .new_ndim = 2, .new_shape = {18, 128}}),
                      "has 18 rows, expected g*g+1");
    expect_load_error("width not a multiple of 64",
                      write_clip(OA, &(Mutation){.reshape = "token_embedding.weight",
                                                 .new_ndim = 2, .new_shape = {49408, 96}}),
                      "head width 64 does not divide the text width 96");
    /* harmless extras load: OpenAI buffers and HF position_ids (written by the random HF file) */
    ClipModel m;
    const char *ok = write_clip(OA, &(Mutation){.extra = "input_resolution", .extra_dt = ST_I64});
    CHECK(clip_model_load(&m, ok) == 0, "input_resolution buffer rejected: %s", cg_error());
    clip_model_free(&m);
    ok = write_clip(OA, &(Mutation){.retype = "visual.ln_post.bias", .retype_dt = ST_BF16});
    CHECK(clip_model_load(&m, ok) == 0, "mixed dtypes rejected: %s", cg_error());
    clip_model_free(&m);
}

int main(void) {
    k_init_cpu(0);
    double t0 = cg_now();
    test_generator();
    test_param_counts();
    test_writer();
    test_arch_inference();
    test_random_files();
    /* the files below carry no activation / head metadata: OpenAI's model.py built them (the
     * fixture) or stand in for it; tests/test_arch_meta.c covers the metadata itself */
    ClipArchHints openai;
    clip_arch_hints_clear(&openai);
    openai.act = CLIP_ACT_QUICKGELU, openai.head_width = 64;
    snprintf(openai.src, sizeof openai.src, "test_weights: OpenAI model.py");
    clip_arch_hints_set(&openai);
    test_tiny768();
    test_bad_containers();
    test_bad_clip();
    clip_arch_hints_set(NULL);
    tmp_cleanup();
    printf("test_weights: %.2f s\n", cg_now() - t0);
    return test_finish("test_weights");
}
