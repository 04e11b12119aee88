/* runner/cmd_make_model.c — `clipgrid make-model`: write a deterministic random CLIP (any size,
 * OpenAI or HF naming, F32/F16/BF16) for tests and demos; `clipgrid model-info`: print what a
 * weight file holds (inferred architecture, naming scheme, tensors, dtypes, metadata). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gen/clip_random.h"
#include "core/model/clip_weights.h"
#include "core/model/safetensors.h"
#include "base/util.h"
#include "core/model/clip_meta.h"
#include "core/model/torch_checkpoint.h"
#include "runner/cli.h"

static void make_model_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid make-model OUT.safetensors [--arch ARCH | DIMENSIONS] [--seed S]\n"
            "                           [--dtype f32|f16|bf16] [--hf]\n\n"
            "Writes a deterministic random CLIP ViT (core/gen/clip_random.h) as safetensors.\n\n"
            "  --arch ARCH           ViT-B/32, ViT-B/16, ViT-L/14 or ViT-L/14@336px\n"
            "  DIMENSIONS            all of --vision-width W --vision-layers L --patch P\n"
            "                        --image-res R --text-width D --text-layers L --embed E\n"
            "                        (with --arch: any of them overrides the architecture)\n"
            "  --vocab V             vocabulary rows (default 49408)\n"
            "  --context C           text context length (default 77)\n"
            "  --seed S              random seed, unsigned 64-bit (default 0)\n"
            "  --dtype T             f32 (default), f16 or bf16; logit_scale is always F32\n"
            "  --hf                  HF CLIPModel names (split q/k/v, transposed projections)\n"
            "                        instead of OpenAI/open_clip names\n"
            "  --activation A        quick_gelu (default) or gelu (exact, erf)\n"
            "  --vision-heads N      attention heads (default width / 64)\n"
            "  --text-heads N\n"
            "The activation and head counts are written into the file's metadata\n"
            "(clip.activation, clip.vision_heads, clip.text_heads).\n");
}

static int parse_int(const char *opt, const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > INT_MAX) {
        fprintf(stderr, "clipgrid make-model: %s expects a positive integer, got '%s'\n", opt, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "clipgrid make-model: %s expects an unsigned integer, got '%s'\n", opt, s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int parse_dtype(const char *s, KDtype *dt) {
    if (!strcmp(s, "f32") || !strcmp(s, "F32")) *dt = K_F32;
    else if (!strcmp(s, "f16") || !strcmp(s, "F16")) *dt = K_F16;
    else if (!strcmp(s, "bf16") || !strcmp(s, "BF16")) *dt = K_BF16;
    else {
        fprintf(stderr, "clipgrid make-model: --dtype expects f32, f16 or bf16, got '%s'\n", s);
        return -1;
    }
    return 0;
}

typedef struct {
    const char *out, *arch;
    ClipConfig dims;      /* explicit dimensions, 0 = not given */
    uint64_t seed;
    KDtype dtype;
    int hf;
    int act;              /* ClipAct (default QuickGELU) */
} MakeArgs;

/* the integer options and where they go */
static int *dim_slot(MakeArgs *a, const char *opt) {
    static const char *names[] = {"--vision-width", "--vision-layers", "--patch",
                                  "--image-res",    "--text-width",    "--text-layers",
                                  "--embed",        "--vocab",         "--context",
                                  "--vision-heads", "--text-heads"};
    int *slots[] = {&a->dims.vis.width, &a->dims.vis.layers, &a->dims.patch,
                    &a->dims.image_res, &a->dims.txt.width,  &a->dims.txt.layers,
                    &a->dims.embed,     &a->dims.vocab,      &a->dims.context,
                    &a->dims.vis.heads, &a->dims.txt.heads};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(opt, names[i])) return slots[i];
    return NULL;
}

/* 0 ok, 1 help printed, -1 error */
static int parse_make_args(int argc, char **argv, MakeArgs *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *slot = dim_slot(a, o);
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) return make_model_usage(stdout), 1;
        if (!strcmp(o, "--hf")) { a->hf = 1; continue; }
        if (o[0] == '-' && o[1] == '-' && !v) {
            fprintf(stderr, "clipgrid make-model: %s needs a value\n", o);
            return -1;
        }
        if (slot) { if (parse_int(o, v, slot)) return -1; }
        else if (!strcmp(o, "--arch")) a->arch = v;
        else if (!strcmp(o, "--seed")) { if (parse_u64(o, v, &a->seed)) return -1; }
        else if (!strcmp(o, "--dtype")) { if (parse_dtype(v, &a->dtype)) return -1; }
        else if (!strcmp(o, "--activation")) {
            if ((a->act = clip_act_parse(v)) < 0) {
                fprintf(stderr, "clipgrid make-model: --activation expects quick_gelu or gelu, "
                                "got '%s'\n", v);
                return -1;
            }
        }
        else if (o[0] == '-') {
            fprintf(stderr, "clipgrid make-model: unknown option '%s' (see --help)\n", o);
            return -1;
        } else if (!a->out) { a->out = o; continue; }
        else {
            fprintf(stderr, "clipgrid make-model: more than one output file ('%s')\n", o);
            return -1;
        }
        i++;
    }
    if (!a->out) {
        fprintf(stderr, "clipgrid make-model: no output file given\n");
        return -1;
    }
    return 0;
}

/* --arch as the base, explicit dimensions on top; without --arch all seven are required */
static int resolve_config(const MakeArgs *a, ClipConfig *c) {
    memset(c, 0, sizeof *c);
    if (a->arch && clip_config_from_arch(c, a->arch)) {
        fprintf(stderr, "clipgrid make-model: %s\n", cg_error());
        return -1;
    }
    if (!a->arch) c->vocab = 49408, c->context = 77;
    c->act = (ClipAct)a->act;
    c->vis.heads = a->dims.vis.heads, c->txt.heads = a->dims.txt.heads;
    const int *src[] = {&a->dims.vis.width, &a->dims.vis.layers, &a->dims.patch,
                        &a->dims.image_res, &a->dims.txt.width,  &a->dims.txt.layers,
                        &a->dims.embed,     &a->dims.vocab,      &a->dims.context};
    int *dst[] = {&c->vis.width, &c->vis.layers, &c->patch, &c->image_res, &c->txt.width,
                  &c->txt.layers, &c->embed, &c->vocab, &c->context};
    for (int i = 0; i < 9; i++)
        if (*src[i]) *dst[i] = *src[i];
    for (int i = 0; i < 7; i++)
        if (!*dst[i]) {
            fprintf(stderr, "clipgrid make-model: give --arch or all of --vision-width "
                            "--vision-layers --patch --image-res --text-width --text-layers "
                            "--embed\n");
            return -1;
        }
    if (clip_config_finish(c)) {
        fprintf(stderr, "clipgrid make-model: %s\n", cg_error());
        return -1;
    }
    return 0;
}

int cmd_make_model(int argc, char **argv) {
    MakeArgs a;
    ClipConfig c;
    int rc = parse_make_args(argc, argv, &a);
    if (rc) return rc > 0 ? 0 : 2;
    if (resolve_config(&a, &c)) return 2;
    static const char *dtn[] = {"F32", "F16", "BF16"};
    ClipNaming nm = a.hf ? CLIP_NAMES_HF : CLIP_NAMES_OPENAI;
    double t0 = cg_now();
    if (clip_random_write_named(a.out, &c, a.seed, a.dtype, nm)) {
        fprintf(stderr, "clipgrid make-model: %s\n", cg_error());
        return 1;
    }
    printf("wrote %s: random CLIP, seed %llu, %s, %s naming, %.2f s\n", a.out,
           (unsigned long long)a.seed, dtn[a.dtype], clip_naming_name(nm), cg_now() - t0);
    clip_config_print(&c, stdout);
    return 0;
}

/* ---- model-info ------------------------------------------------------------------------------ */

static void print_dtypes(const SafeTensors *st, FILE *f) {
    size_t count[ST_NUM_DTYPES] = {0}, bytes[ST_NUM_DTYPES] = {0};
    for (int i = 0; i < st_count(st); i++) {
        const StTensor *t = st_get(st, i);
        count[t->dtype]++;
        bytes[t->dtype] += t->nbytes;
    }
    fprintf(f, "dtypes   ");
    for (int d = 0; d < ST_NUM_DTYPES; d++)
        if (count[d])
            fprintf(f, " %s: %zu tensors, %.2f MB;", st_dtype_name((StDtype)d), count[d],
                    1e-6 * (double)bytes[d]);
    fputc('\n', f);
}

int cmd_model_info(int argc, char **argv) {
    if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *f = argc == 2 ? stdout : stderr;
        fprintf(f, "usage: clipgrid model-info FILE.safetensors\n\n"
                   "Validates a CLIP weight file and prints the architecture inferred from its\n"
                   "shapes, the activation and head counts with where each came from (file\n"
                   "metadata, config.json / open_clip_config.json beside it, or OpenAI's default),\n"
                   "the naming scheme, the tensor count, a dtype histogram and the metadata.\n"
                   "FILE may also be a PyTorch checkpoint (.pt, .pth, .bin). Exit status 1 when\n"
                   "the file is not a valid CLIP checkpoint.\n");
        return argc == 2 ? 0 : 2;
    }
    SafeTensors *st = weights_open(argv[1]);
    ClipConfig c;
    ClipNaming nm;
    if (!st || clip_weights_check(st, &c, &nm)) {
        fprintf(stderr, "clipgrid model-info: %s\n", cg_error());
        st_close(st);
        return 1;
    }
    printf("file      %s (%zu bytes)\n", argv[1], st_file_size(st));
    printf("naming    %s\n", clip_naming_name(nm));
    printf("tensors   %d\n", st_count(st));
    print_dtypes(st, stdout);
    for (int i = 0; i < st_metadata_count(st); i++) {
        const char *k = st_metadata_key(st, i), *v = st_metadata(st, k);
        printf("metadata  %s = %.*s%s\n", k, 100, v, strlen(v) > 100 ? "…" : "");
    }
    clip_config_print(&c, stdout);
    st_close(st);
    return 0;
}
