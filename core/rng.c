/* core/rng.c — counter-based random streams (see rng.h for the exact definitions). */
#include "core/rng.h"

#include <math.h>

#include "core/clip_random.h"

uint64_t cg_rng_key(uint64_t a, uint64_t b, const char *purpose) {
    return clip_splitmix64(clip_splitmix64(a ^ clip_fnv1a64(purpose ? purpose : "")) ^ b);
}

uint64_t cg_rng_u64(uint64_t key, uint64_t counter) {
    return clip_splitmix64(key ^ clip_splitmix64(counter));
}

double cg_rng_uniform(uint64_t key, uint64_t counter) {
    return (double)(cg_rng_u64(key, counter) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t cg_rng_below(uint64_t key, uint64_t counter, uint64_t n) {
    uint64_t sub = cg_rng_u64(key, counter);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* accept [0, limit) */
    for (uint64_t i = 0;; i++) {
        uint64_t x = cg_rng_u64(sub, i);
        if (x < limit) return x % n;
    }
}

double cg_rng_normal(uint64_t key, uint64_t counter) {
    double u1 = cg_rng_uniform(key, 2 * counter), u2 = cg_rng_uniform(key, 2 * counter + 1);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}
