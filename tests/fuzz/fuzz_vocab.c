/* tests/fuzz/fuzz_vocab.c — libFuzzer harness of the tokenizer's vocabulary loaders as whole
 * files (core/text/tokenizer.c): the input's first byte picks
 *   even: the OpenAI merges file (the rest, gzip or plain text) through tokenizer_load,
 *   odd:  HuggingFace vocab.json and merges.txt (the rest, split at "\n##MERGES##\n") through
 *         tokenizer_load_hf.
 * Small inputs reach the format checks (gzip stream, header, line and entry counts, JSON types);
 * the deep checks of a complete vocabulary are fuzzed by fuzz_vocab_deep. */
#include "core/text/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

static FuzzFile g_a, g_b;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    fuzz_file_init(&g_a, "fuzz_vocab_a");
    fuzz_file_init(&g_b, "fuzz_vocab_b");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    Tokenizer *t;
    if (data[0] % 2 == 0) {
        t = tokenizer_load(fuzz_file_set(&g_a, data + 1, size - 1));
    } else {
        const uint8_t *a, *b;
        size_t na, nb;
        fuzz_split(data + 1, size - 1, "\n##MERGES##\n", &a, &na, &b, &nb);
        t = tokenizer_load_hf(fuzz_file_set(&g_a, a, na), fuzz_file_set(&g_b, b, nb));
    }
    if (t) {
        int ids[64];
        if (tokenizer_encode(t, "a photo of a dog.", ids, 64) < 0) abort();
        tokenizer_free(t);
    } else if (!cg_error()[0]) {
        abort();
    }
    return 0;
}
