/* core/base/rng.c — counter-based random streams (see rng.h for the exact definitions). */
#include "core/base/rng.h"

#include <math.h>


uint64_t cg_splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t cg_fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t cg_rng_key(uint64_t a, uint64_t b, const char *purpose) {
    return cg_splitmix64(cg_splitmix64(a ^ cg_fnv1a64(purpose ? purpose : "")) ^ b);
}

uint64_t cg_rng_u64(uint64_t key, uint64_t counter) {
    return cg_splitmix64(key ^ cg_splitmix64(counter));
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
