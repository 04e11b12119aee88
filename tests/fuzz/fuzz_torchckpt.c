/* tests/fuzz/fuzz_torchckpt.c — libFuzzer harness of the PyTorch checkpoint reader
 * (core/model/torch_checkpoint.c: ZIP through libzip, pickle, storages): the input is a .pt
 * file given to tc_open, as `model.weights: x.pt` does. A file that opens is read end to end
 * (every tensor's bytes), so a storage offset or size past the mapping shows as an ASan error. */
#include <stdlib.h>

#include "core/model/safetensors.h"
#include "core/model/torch_checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

static FuzzFile g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    fuzz_file_init(&g_file, "fuzz_ckpt.pt");
    return 0;
}

static volatile unsigned g_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    SafeTensors *st = tc_open(fuzz_file_set(&g_file, data, size));
    if (!st) return 0;
    unsigned s = 0;
    for (int i = 0; i < st_count(st); i++) {
        const StTensor *t = st_get(st, i);
        const unsigned char *p = t->data;
        for (size_t j = 0; p && j < t->nbytes; j++) s += p[j];
    }
    g_sink = s;
    st_close(st);
    return 0;
}
