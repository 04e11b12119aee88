/* tests/fuzz/fuzz_pickle.c — libFuzzer harness of the allow-list pickle reader
 * (core/base/torch_pickle.c) on raw bytes, as a PyTorch checkpoint's data.pkl and a Dassl
 * few-shot cache hold them: a stream is parsed (both allow-lists in turn) or refused with one
 * message; nothing executes. Every value a parsed stream made is walked, so a value with a bad
 * length or item table shows as an ASan error. */
#include <stdlib.h>
#include <string.h>

#include "core/base/torch_pickle.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet_env();
    return 0;
}

static volatile size_t g_sink;

static void walk(const TpDoc *d) {
    size_t s = tp_consumed(d);
    for (size_t i = 0; i < tp_value_count(d); i++) {
        const TpValue *v = tp_value_at(d, i);
        if ((v->kind == TP_STR || v->kind == TP_BYTES) && v->s) s += strlen(v->s) + v->len;
        size_t n = v->kind == TP_DICT || v->kind == TP_OBJECT ? 2 * v->n : v->n;
        for (size_t j = 0; v->items && j < n; j++) s += v->items[j] ? (size_t)v->items[j]->kind : 0;
        for (int k = 0; k < v->ndim && k < TP_MAX_DIMS; k++) s += (size_t)v->shape[k];
    }
    g_sink = s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const unsigned allow[] = {TP_ALLOW_TORCH, TP_ALLOW_DASSL};
    for (int a = 0; a < 2; a++) {
        TpDoc *d = tp_parse(data, size, allow[a], "fuzz.pkl");
        if (!d) continue;
        if (tp_consumed(d) > size) abort(); /* never past the buffer */
        walk(d);
        tp_free(d);
    }
    return 0;
}
