/* core/base/pyrandom.h — CPython's `random` module (3.11), exactly: the MT19937 generator seeded as
 * random.seed(int) seeds it (init_by_array on the 32-bit little-endian words of |n|),
 * getrandbits(k), _randbelow (getrandbits rejection), random() (53 bits) and random.sample with
 * both of its algorithms. Used to reproduce Dassl's few-shot picks for a given seed. */
#ifndef CLIPGRID_CORE_PYRANDOM_H
#define CLIPGRID_CORE_PYRANDOM_H

#include <stdint.h>

typedef struct {
    uint32_t mt[624];
    int index;
} PyRandom;

/* random.seed(n) for an int n (sign ignored, as CPython does) */
void pyrandom_seed(PyRandom *r, int64_t n);
/* random.seed with an arbitrary non-negative integer given as little-endian 32-bit words */
void pyrandom_seed_words(PyRandom *r, const uint32_t *words, int n_words);
uint32_t pyrandom_u32(PyRandom *r);           /* genrand_uint32 */
uint64_t pyrandom_getrandbits(PyRandom *r, int k); /* 0 <= k <= 64 */
uint64_t pyrandom_randbelow(PyRandom *r, uint64_t n); /* n >= 1 */
double pyrandom_random(PyRandom *r);
/* random.sample(range(n), k): writes k distinct indices into out, in selection order;
 * 0 <= k <= n (else returns −1). Population elements are then population[out[i]]. */
int pyrandom_sample(PyRandom *r, int n, int k, int *out);

#endif
