/* tests/test_torch_ckpt.c — PyTorch checkpoints read without executing anything
 * (core/model/torch_checkpoint.h, core/base/torch_pickle.h):
 *   - files written by Debian's torch (tests/reference/arch_ckpt_ref.py): torch.save state dicts
 *     in F32, F16 and BF16 and a torch.jit.save archive of a scripted CLIP give tensors bit-identical
 *     to the safetensors files of the same weights, and the same loaded model (arena memcmp);
 *   - the legacy (pre-1.6, non-ZIP) torch.save format too (F16 state dict);
 *   - tests/data/torch_bad/ (tests/reference/bad_ckpt_ref.py): each malicious or broken file is
 *     refused with the listed message, and the os.system payload never ran;
 *   - the pickle reader on every prefix of a real data.pkl and on every single-byte corruption of it
 *     (memory buffers): an error or a parse, never a crash. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/model/clip_meta.h"
#include "core/model/clip_weights.h"
#include "core/model/torch_checkpoint.h"
#include "core/base/torch_pickle.h"
#include "base/util.h"
#include "tests/testlib.h"

#define DIR "tests/data/arch/gelu64/"
#define BAD "tests/data/torch_bad/"
#define PWNED "/tmp/clipgrid_pwned_by_pickle"

/* every tensor of `ref` (safetensors) is in `pt` with the same dtype, shape and bytes */
static void same_tensors_(const char *pt, const char *ref) {
    SafeTensors *a = weights_open(pt), *b = st_open(ref);
    CHECK(a && b, "open %s / %s: %s", pt, ref, cg_error());
    if (!a || !b) goto out;
    int bad = 0, n = st_count(b);
    for (int i = 0; i < n; i++) {
        const StTensor *y = st_get(b, i), *x = st_find(a, y->name);
        if (!x || x->dtype != y->dtype || x->ndim != y->ndim || x->nbytes != y->nbytes ||
            memcmp(x->shape, y->shape, sizeof(int64_t) * (size_t)x->ndim) ||
            (x->nbytes && memcmp(x->data, y->data, x->nbytes))) {
            if (!bad++) printf("  first difference: %s\n", y->name);
        }
    }
    printf("  %-34s %d of %d tensors bit-identical to %s\n", pt + strlen(DIR), n - bad, n,
           ref + strlen(DIR));
    CHECK(bad == 0, "%s: %d tensors differ from %s", pt, bad, ref);
out:
    st_close(a), st_close(b);
}

static void same_model_(const char *pt, const char *ref) {
    ClipModel a, b;
    int ra = clip_model_load(&a, pt);
    CHECK(ra == 0, "load %s: %s", pt, cg_error());
    int rb = clip_model_load(&b, ref);
    CHECK(rb == 0, "load %s: %s", ref, cg_error());
    if (ra || rb) return;
    int same = a.arena_floats == b.arena_floats && a.logit_scale == b.logit_scale &&
               a.cfg.act == b.cfg.act && a.cfg.vis.heads == b.cfg.vis.heads;
    float *ha = cg_malloc(a.arena_floats * 4), *hb = cg_malloc(b.arena_floats * 4);
    if (same) {
        k_download(ha, a.arena, a.arena_floats), k_download(hb, b.arena, b.arena_floats);
        same = !memcmp(ha, hb, a.arena_floats * 4);
    }
    CHECK(same, "%s and %s load to different models", pt, ref);
    free(ha), free(hb);
    clip_model_free(&a), clip_model_free(&b);
}

static void test_real_files(void) {
    printf("files written by torch %s\n", "(tests/reference/arch_ckpt_ref.py)");
    same_tensors_(DIR "model.pt", DIR "model.safetensors");
    same_tensors_(DIR "model_f16.pt", DIR "model_f16.safetensors");
    same_tensors_(DIR "model_bf16.pt", DIR "model_bf16.safetensors");
    same_tensors_(DIR "model_jit.pt", DIR "model.safetensors");
    same_model_(DIR "model.pt", DIR "model.safetensors");
    same_model_(DIR "model_jit.pt", DIR "model.safetensors");
    same_model_(DIR "model_bf16.pt", DIR "model_bf16.safetensors");
    /* the TorchScript archive also holds the text tower's attn_mask attribute (skipped at load) */
    SafeTensors *j = weights_open(DIR "model_jit.pt");
    CHECK(j && st_find(j, "transformer.resblocks.0.attn_mask") &&
              st_find(j, "visual.transformer.resblocks.1.mlp.c_proj.bias"),
          "model_jit.pt: module tree not flattened to state-dict names");
    st_close(j);
    same_tensors_(DIR "model_f16_legacy.pt", DIR "model_f16.safetensors");
    same_model_(DIR "model_f16_legacy.pt", DIR "model_f16.safetensors");
}

static void test_bad_files(void) {
    printf("malicious and broken checkpoints (tests/data/torch_bad)\n");
    unlink(PWNED);
    FILE *f = fopen(BAD "expected.txt", "r");
    if (!f) cg_fatal("cannot open " BAD "expected.txt");
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        line[strcspn(line, "\n")] = 0;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        char path[600];
        snprintf(path, sizeof path, BAD "%s", line);
        SafeTensors *st = weights_open(path);
        CHECK(!st && strstr(cg_error(), tab + 1) && strstr(cg_error(), path),
              "%s: expected one error containing '%s', got %s", line, tab + 1,
              st ? "success" : cg_error());
        if (!st) printf("  %-24s %.150s\n", line, cg_error() + strlen(path) + 1);
        st_close(st);
        n++;
    }
    fclose(f);
    CHECK(n >= 10, "only %d bad files listed", n);
    CHECK(access(PWNED, F_OK) != 0, "the pickle's os.system payload ran (%s exists)", PWNED);
}

/* every prefix and every single-byte corruption of a real data.pkl: a clean error or a parse */
static void test_pickle_robust(void) {
    printf("pickle reader on truncated and corrupted streams\n");
    FILE *f = fopen(DIR "model_jit.pt", "rb");
    size_t len;
    char *zip = cg_read_file(DIR "model_jit.pt", &len);
    if (f) fclose(f);
    if (!zip) cg_fatal("%s", cg_error());
    /* data.pkl of the TorchScript archive: from its PROTO to the STOP that ends the module */
    char *p = memmem(zip, len, "\x80\x02" "c__torch__", 12);
    CHECK(p != NULL, "no TorchScript pickle in model_jit.pt");
    if (!p) return free(zip);
    TpDoc *whole = tp_parse(p, len - (size_t)(p - zip), TP_ALLOW_TORCH, "jit data.pkl");
    CHECK(whole != NULL, "jit data.pkl: %s", cg_error());
    size_t n = whole ? tp_consumed(whole) : 0, errors = 0, parsed = 0;
    tp_free(whole);
    for (size_t k = 0; k < n; k++) {
        TpDoc *d = tp_parse(p, k, TP_ALLOW_TORCH, "prefix");
        errors += d == NULL;
        tp_free(d);
    }
    CHECK(errors == n, "%zu of %zu prefixes parsed", n - errors, n);
    uint8_t *copy = cg_malloc(n);
    for (size_t k = 0; k < n; k++) {
        memcpy(copy, p, n);
        copy[k] ^= (uint8_t)(0x5a + k);
        TpDoc *d = tp_parse(copy, n, TP_ALLOW_TORCH, "corrupt");
        parsed += d != NULL;
        tp_free(d);
    }
    printf("  %zu prefixes: all refused; %zu single-byte corruptions: %zu parsed, %zu refused, "
           "no crash\n", n, n, parsed, n - parsed);
    free(copy);
    free(zip);
    /* what a Dassl cache may hold is not allowed in a checkpoint, and the reverse */
    const char datum[] = "\x80\x04\x8c\x20" "dassl.data.datasets.base_dataset" "\x8c\x05" "Datum"
                         "\x93)\x81}b.";
    TpDoc *d = tp_parse(datum, sizeof datum - 1, TP_ALLOW_TORCH, "datum");
    CHECK(!d && strstr(cg_error(), "'dassl.data.datasets.base_dataset.Datum' is not allowed"),
          "Datum in a checkpoint: %s", d ? "accepted" : cg_error());
    tp_free(d);
    d = tp_parse(datum, sizeof datum - 1, TP_ALLOW_DASSL, "datum");
    CHECK(d && tp_root(d)->kind == TP_OBJECT, "Datum in a cache: %s", d ? "not an object" : cg_error());
    tp_free(d);
}

int main(void) {
    k_init_cpu(0);
    test_real_files();
    test_bad_files();
    test_pickle_robust();
    return test_finish("test_torch_ckpt");
}
