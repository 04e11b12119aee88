/* core/base/pyrandom.c — CPython 3.11's random module: MT19937 (Modules/_randommodule.c semantics)
 * and the pure-Python layers above it (_randbelow_with_getrandbits, random.sample). */
#include "core/base/pyrandom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MT_N 624
#define MT_M 397

static void init_genrand(PyRandom *r, uint32_t s) {
    r->mt[0] = s;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->index = MT_N;
}

static void init_by_array(PyRandom *r, const uint32_t *key, int len) {
    init_genrand(r, 19650218u);
    uint32_t *mt = r->mt;
    int i = 1, j = 0;
    for (int k = MT_N > len ? MT_N : len; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++, j++;
        if (i >= MT_N) mt[0] = mt[MT_N - 1], i = 1;
        if (j >= len) j = 0;
    }
    for (int k = MT_N - 1; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= MT_N) mt[0] = mt[MT_N - 1], i = 1;
    }
    mt[0] = 0x80000000u;
    r->index = MT_N;
}

void pyrandom_seed_words(PyRandom *r, const uint32_t *words, int n_words) {
    /* CPython drops high zero words (the key is as long as the number's bit length), and 0 is
     * the single word 0 */
    while (n_words > 1 && words[n_words - 1] == 0) n_words--;
    if (n_words < 1) {
        uint32_t zero = 0;
        init_by_array(r, &zero, 1);
        return;
    }
    init_by_array(r, words, n_words);
}

void pyrandom_seed(PyRandom *r, int64_t n) {
    uint64_t a = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    uint32_t w[2] = {(uint32_t)a, (uint32_t)(a >> 32)};
    pyrandom_seed_words(r, w, 2);
}

static void twist(PyRandom *r) {
    static const uint32_t mag01[2] = {0u, 0x9908b0dfu};
    uint32_t *mt = r->mt, y;
    int kk;
    for (kk = 0; kk < MT_N - MT_M; kk++) {
        y = (mt[kk] & 0x80000000u) | (mt[kk + 1] & 0x7fffffffu);
        mt[kk] = mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 1u];
    }
    for (; kk < MT_N - 1; kk++) {
        y = (mt[kk] & 0x80000000u) | (mt[kk + 1] & 0x7fffffffu);
        mt[kk] = mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 1u];
    }
    y = (mt[MT_N - 1] & 0x80000000u) | (mt[0] & 0x7fffffffu);
    mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1u];
    r->index = 0;
}

uint32_t pyrandom_u32(PyRandom *r) {
    if (r->index >= MT_N) twist(r);
    uint32_t y = r->mt[r->index++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

/* getrandbits fills 32-bit words from the least significant end; the last (most significant)
 * word keeps the top bits of its draw */
uint64_t pyrandom_getrandbits(PyRandom *r, int k) {
    if (k <= 0) return 0;
    if (k > 64) cg_fatal("pyrandom_getrandbits: k = %d > 64", k);
    if (k <= 32) return pyrandom_u32(r) >> (32 - k);
    uint64_t lo = pyrandom_u32(r);
    uint64_t hi = pyrandom_u32(r) >> (64 - k);
    return lo | (hi << 32);
}

static int bit_length(uint64_t n) {
    int k = 0;
    while (n) k++, n >>= 1;
    return k;
}

uint64_t pyrandom_randbelow(PyRandom *r, uint64_t n) {
    if (n == 0) cg_fatal("pyrandom_randbelow: n = 0");
    int k = bit_length(n);
    uint64_t v = pyrandom_getrandbits(r, k);
    while (v >= n) v = pyrandom_getrandbits(r, k);
    return v;
}

double pyrandom_random(PyRandom *r) {
    uint32_t a = pyrandom_u32(r) >> 5, b = pyrandom_u32(r) >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

/* random.sample's choice between its two algorithms: 21 (a small set), plus the hash table of
 * a set of k elements, 4**ceil(log(3k, 4)), when k > 5 (math.log(x, 4) = log(x) / log(4)) */
static long sample_setsize(int k) {
    long setsize = 21;
    if (k > 5) setsize += (long)pow(4.0, ceil(log((double)k * 3.0) / log(4.0)));
    return setsize;
}

int pyrandom_sample(PyRandom *r, int n, int k, int *out) {
    if (k < 0 || k > n) return -1;
    if (n <= sample_setsize(k)) {
        int *pool = cg_malloc(sizeof(int) * (size_t)(n ? n : 1));
        for (int i = 0; i < n; i++) pool[i] = i;
        for (int i = 0; i < k; i++) {
            int j = (int)pyrandom_randbelow(r, (uint64_t)(n - i));
            out[i] = pool[j];
            pool[j] = pool[n - i - 1];
        }
        free(pool);
    } else {
        unsigned char *selected = cg_calloc((size_t)n, 1);
        for (int i = 0; i < k; i++) {
            int j = (int)pyrandom_randbelow(r, (uint64_t)n);
            while (selected[j]) j = (int)pyrandom_randbelow(r, (uint64_t)n);
            selected[j] = 1;
            out[i] = j;
        }
        free(selected);
    }
    return 0;
}
