/* tests/fuzz/fuzz_vocab_deep.c — libFuzzer harness of the tokenizer's vocabulary loaders on
 * complete vocabularies (core/text/tokenizer.c): a valid file is edited by the input, so every check
 * of a full vocabulary is reached (merge lines, missing symbols, byte symbols, ids, specials).
 * The bases are made once from the bundled data/clip/bpe_simple_vocab_16e6.txt.gz: the OpenAI
 * text, and the HuggingFace vocab.json and merges.txt that describe the same tokenizer.
 * Input: byte 0 picks the file (0 OpenAI text, 1 HF vocab.json, 2 HF merges.txt), bytes 1..4 the
 * offset (little-endian, modulo the length), byte 5 how many bytes to delete there, and the rest
 * is inserted there. Each input loads a whole vocabulary (tens of milliseconds), so this harness
 * runs far fewer inputs per second than the others. */
#include <jansson.h>

#include "core/text/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

static FuzzFile g_a, g_b;
static char *g_base[3];
static size_t g_len[3];

static void make_hf(const Tokenizer *t) {
    json_t *v = json_object();
    for (int i = 0; i < tokenizer_vocab_size(t); i++)
        json_object_set_new(v, tokenizer_token_string(t, i), json_integer(i));
    g_base[1] = json_dumps(v, JSON_COMPACT);
    g_len[1] = strlen(g_base[1]);
    json_decref(v);
    size_t cap = 1 << 20, n = 0;
    char *m = malloc(cap);
    n += (size_t)sprintf(m, "#version: 0.2\n");
    for (int r = 0; r < tokenizer_merge_count(t); r++) {
        int a, b;
        tokenizer_merge(t, r, &a, &b);
        const char *sa = tokenizer_token_string(t, a), *sb = tokenizer_token_string(t, b);
        if (n + strlen(sa) + strlen(sb) + 3 > cap) m = realloc(m, cap *= 2);
        n += (size_t)sprintf(m + n, "%s %s\n", sa, sb);
    }
    g_base[2] = m;
    g_len[2] = n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    fuzz_file_init(&g_a, "fuzz_vocab_a");
    fuzz_file_init(&g_b, "fuzz_vocab_b");
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/data/clip/bpe_simple_vocab_16e6.txt.gz", fuzz_repo_root());
    Tokenizer *t = tokenizer_load(path);
    g_base[0] = cg_read_gz(path, &g_len[0]);
    if (!t || !g_base[0]) {
        fprintf(stderr, "fuzz_vocab_deep: %s\n", cg_error());
        abort();
    }
    make_hf(t);
    tokenizer_free(t);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 6) return 0;
    int which = data[0] % 3;
    size_t len = g_len[which];
    size_t at = (data[1] | data[2] << 8 | data[3] << 16 | (size_t)data[4] << 24) % (len + 1);
    size_t del = data[5] < len - at ? data[5] : len - at, ins = size - 6;
    char *buf = malloc(len - del + ins + 1);
    memcpy(buf, g_base[which], at);
    memcpy(buf + at, data + 6, ins);
    memcpy(buf + at + ins, g_base[which] + at + del, len - at - del);
    size_t n = len - del + ins;
    Tokenizer *t;
    if (which == 0) {
        t = tokenizer_load(fuzz_file_set(&g_a, buf, n));
    } else {
        fuzz_file_set(&g_a, which == 1 ? buf : g_base[1], which == 1 ? n : g_len[1]);
        fuzz_file_set(&g_b, which == 2 ? buf : g_base[2], which == 2 ? n : g_len[2]);
        t = tokenizer_load_hf(g_a.path, g_b.path);
    }
    free(buf);
    if (t) {
        int ids[64];
        if (tokenizer_encode(t, "a photo of a dog.", ids, 64) < 0) abort();
        tokenizer_free(t);
    } else if (!cg_error()[0]) {
        abort();
    }
    return 0;
}
