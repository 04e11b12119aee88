/* core/base/rng.h — counter-based random streams (design.md §3): every random number of a run is a
 * pure function of (key, counter), so a value never depends on which thread, rank or schedule
 * drew it. A key is derived from (sweep seed, run seed, purpose, …) by hashing; the counter is
 * the index of the draw inside that stream (e.g. epoch·N + item for augmentation).
 *
 *   cg_rng_key(a, b, purpose) = splitmix64(splitmix64(a ^ fnv1a64(purpose)) ^ b)
 *   cg_rng_u64(key, ctr)      = splitmix64(key ^ splitmix64(ctr))      (two rounds)
 *   cg_rng_uniform(key, ctr)  = (u64 >> 11) · 2^-53, in [0, 1)
 * Functions are exact integer arithmetic: bit-identical on every machine. */
#ifndef CLIPGRID_CORE_RNG_H
#define CLIPGRID_CORE_RNG_H

#include <stdint.h>

uint64_t cg_rng_key(uint64_t a, uint64_t b, const char *purpose);
uint64_t cg_rng_u64(uint64_t key, uint64_t counter);
double cg_rng_uniform(uint64_t key, uint64_t counter);
/* the mixing functions under every stream (and core/gen/clip_random.h): SplitMix64's finaliser
 * and the 64-bit FNV-1a hash of a string */
uint64_t cg_splitmix64(uint64_t x);
uint64_t cg_fnv1a64(const char *s);
/* uniform integer in [0, n), n >= 1, by rejection on successive counters of a sub-stream:
 * the draws used are u64(key', 0), u64(key', 1), … with key' = u64(key, counter) */
uint64_t cg_rng_below(uint64_t key, uint64_t counter, uint64_t n);
/* normal(0,1) by Box–Muller from uniforms at counters 2c and 2c+1 of the key */
double cg_rng_normal(uint64_t key, uint64_t counter);

/* a sequential cursor over one stream, for code that draws many values in order */
typedef struct {
    uint64_t key, next;
} CgStream;
static inline CgStream cg_stream(uint64_t key, uint64_t start) { return (CgStream){key, start}; }
static inline double cg_stream_uniform(CgStream *s) { return cg_rng_uniform(s->key, s->next++); }
static inline uint64_t cg_stream_u64(CgStream *s) { return cg_rng_u64(s->key, s->next++); }

#endif
