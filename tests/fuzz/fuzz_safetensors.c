/* tests/fuzz/fuzz_safetensors.c — libFuzzer harness of the safetensors reader (core/model/safetensors.c)
 * and of the CLIP weight validation on top of it (clip_weights_check): the input is a whole
 * .safetensors file. When it opens, every tensor, every metadata entry and every float value is
 * read, so an out-of-bounds range shows as an ASan error. */
#include "core/model/clip_weights.h"
#include "core/model/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

static FuzzFile g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    fuzz_file_init(&g_file, "fuzz.safetensors");
    return 0;
}

static volatile float g_sink;

static void touch_tensor(const StTensor *t) {
    char shape[160];
    st_shape_str(shape, sizeof shape, t->ndim, t->shape);
    if (!t->nbytes) return;
    const uint8_t *p = t->data;
    float acc = (float)(p[0] + p[t->nbytes - 1]);
    if (t->dtype != ST_I64)
        for (size_t i = 0; i < t->numel; i++) acc += st_read_float(p + i * st_dtype_size(t->dtype), t->dtype);
    g_sink = acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    SafeTensors *st = st_open(fuzz_file_set(&g_file, data, size));
    if (!st) return 0;
    for (int i = 0; i < st_count(st); i++) {
        const StTensor *t = st_get(st, i);
        touch_tensor(t);
        if (st_find(st, t->name) != t) abort(); /* lookup by name must find the same tensor */
    }
    for (int i = 0; i < st_metadata_count(st); i++) {
        const char *k = st_metadata_key(st, i), *v = st_metadata(st, k);
        if (!v) abort();
    }
    ClipConfig cfg;
    ClipNaming naming;
    clip_weights_check(st, &cfg, &naming);
    st_close(st);
    return 0;
}
