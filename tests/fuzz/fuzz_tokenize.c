/* tests/fuzz/fuzz_tokenize.c — libFuzzer harness of the tokenizer's text input
 * (core/text/tokenizer.c, core/text/tokenizer_clean.c): the input is a prompt or class name as arbitrary
 * bytes (not necessarily UTF-8), taken through CLIP's cleaning, the PCRE2 pre-tokenizer, the BPE
 * merges and the 77-id row, with the real vocabulary (data/clip/bpe_simple_vocab_16e6.txt.gz). */
#include "core/text/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

static Tokenizer *g_tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/data/clip/bpe_simple_vocab_16e6.txt.gz", fuzz_repo_root());
    if (!(g_tok = tokenizer_load(path))) {
        fprintf(stderr, "fuzz_tokenize: %s\n", cg_error());
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    free(tokenizer_clean(text));
    int ids[512], row[TOKENIZER_CONTEXT];
    int n = tokenizer_encode(g_tok, text, ids, 512);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= TOKENIZER_VOCAB || !tokenizer_token_string(g_tok, ids[i])) abort();
    int m = tokenizer_tokenize77(g_tok, text, row, TOKENIZER_CONTEXT);
    if (m >= 0 && (m < 2 || m > TOKENIZER_CONTEXT || row[0] != TOKENIZER_SOT || row[m - 1] != TOKENIZER_EOT))
        abort();
    free(text);
    return 0;
}
