/* core/methods/method_common.c — pieces every method file uses: seeded initial values, token
 * embeddings, the context phrase, and the split of class prompts and images over a rank group. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/methods/method_impl.h"
#include "core/base/rng.h"
#include "core/text/tokenizer.h"
#include "base/util.h"
#include "core/methods/zeroshot.h"
#include "kernels/ops.h"

static uint64_t init_key(const Method *m, const char *name) {
    return cg_rng_key(m->env.seed, 0x1417, name);
}

void method_init_normal(const Method *m, const char *name, float *dst, size_t n, double std) {
    uint64_t key = init_key(m, name);
    float *h = cg_malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = (float)(std * cg_rng_normal(key, i));
    k_upload(dst, h, n);
    free(h);
}

void method_init_uniform(const Method *m, const char *name, float *dst, size_t n, double bound) {
    uint64_t key = init_key(m, name);
    float *h = cg_malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = (float)(bound * (2.0 * cg_rng_uniform(key, i) - 1.0));
    k_upload(dst, h, n);
    free(h);
}

void embed_tokens(const ClipModel *clip, const int *ids, int n, float *dst) {
    op_gather_rows(dst, clip->txt.tok_emb, ids, n, clip->cfg.txt.width);
}

/* s with '_' → ' ' (caller frees) */
static char *underscores_to_spaces(const char *s) {
    char *o = cg_strdup(s);
    for (char *p = o; *p; p++)
        if (*p == '_') *p = ' ';
    return o;
}

int ctx_phrase_embed(const ClipModel *clip, const Tokenizer *tok, const char *phrase,
                     int *n_words, float *dst) {
    char *p = underscores_to_spaces(phrase);
    int words = 0, in_word = 0;
    for (const char *s = p; *s; s++) {
        if (*s != ' ' && !in_word) words++;
        in_word = *s != ' ';
    }
    int context = clip->cfg.context, *row = cg_calloc((size_t)context, sizeof(int));
    int n = tokenizer_tokenize77(tok, p, row, context);
    free(p);
    if (n < 0) return free(row), -1;
    if (words < 1 || words + 1 > context) {
        cg_error_set("context phrase '%s': %d words", phrase, words);
        return free(row), -1;
    }
    *n_words = words;
    if (dst) embed_tokens(clip, row + 1, words, dst);
    free(row);
    return 0;
}

void class_split_init(ClassSplit *s, CgComm *comm, int C, int per) {
    memset(s, 0, sizeof *s);
    s->C = C, s->per = per, s->size = comm->size;
    s->counts = cg_malloc((size_t)comm->size * sizeof(size_t));
    for (int r = 0; r < comm->size; r++) {
        int lo, cnt;
        comm_split_range(C, comm->size, r, &lo, &cnt);
        s->counts[r] = (size_t)cnt * per;
        if (r == comm->rank) s->lo = lo, s->cnt = cnt;
    }
}

void class_split_free(ClassSplit *s) {
    free(s->counts);
    memset(s, 0, sizeof *s);
}

void class_split_gather(CgComm *comm, const ClassSplit *s, const float *mine, float *all) {
    comm->allgatherv(comm, mine, all, s->counts);
}

float *class_split_reduce(CgComm *comm, const ClassSplit *s, float *d_all) {
    comm->allreduce_sum(comm, d_all, (size_t)s->C * s->per);
    return d_all + (size_t)s->lo * s->per;
}

void class_split_gather_rows(CgComm *comm, const ClassSplit *s, int n, const float *mine,
                             float *all) {
    size_t *counts = cg_malloc((size_t)s->size * sizeof(size_t)), tot = 0;
    for (int r = 0; r < s->size; r++) counts[r] = s->counts[r] * (size_t)n, tot += counts[r];
    float *cat = k_alloc(tot ? tot : 1);
    comm->allgatherv(comm, mine, cat, counts);
    size_t off = 0, lo = 0; /* rank r's block [n, cnt_r, per] goes to columns lo_r… of all */
    for (int r = 0; r < s->size; r++) {
        size_t w = s->counts[r];
        if (w) op_copy_batched(all + lo, (size_t)s->C * s->per, cat + off, w, n, w, 0);
        off += counts[r], lo += w;
    }
    k_free(cat);
    free(counts);
}

void class_split_select_rows(const ClassSplit *s, int n, const float *all, float *mine) {
    size_t w = (size_t)s->cnt * s->per;
    if (w) op_copy_batched(mine, w, all + (size_t)s->lo * s->per, (size_t)s->C * s->per, n, w, 0);
}

int image_split(CgComm *comm, int b, int *counts, int *lo) {
    size_t *ones = cg_malloc((size_t)comm->size * sizeof(size_t));
    for (int r = 0; r < comm->size; r++) ones[r] = 1;
    float mine = (float)b, *h = cg_malloc((size_t)comm->size * sizeof(float));
    float *d_mine = k_alloc(1), *d_all = k_alloc((size_t)comm->size);
    k_upload(d_mine, &mine, 1);
    comm->allgatherv(comm, d_mine, d_all, ones);
    k_download(h, d_all, (size_t)comm->size);
    int total = 0;
    for (int r = 0; r < comm->size; r++) {
        counts[r] = (int)h[r];
        if (r == comm->rank) *lo = total;
        total += counts[r];
    }
    k_free(d_mine), k_free(d_all);
    free(ones), free(h);
    return total;
}

void image_split_gather(CgComm *comm, const int *counts, int per, const float *mine, float *all) {
    size_t *c = cg_malloc((size_t)comm->size * sizeof(size_t));
    for (int r = 0; r < comm->size; r++) c[r] = (size_t)counts[r] * per;
    comm->allgatherv(comm, mine ? mine : all, all, c);
    free(c);
}
