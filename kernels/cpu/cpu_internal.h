/* kernels/cpu/cpu_internal.h — private helpers of the CPU backend: a vectorisable expf, a
 * fused multiply-add macro, lane-parallel row reductions, the work threshold for OpenMP
 * regions and argument checks. Only the files of kernels/cpu include it. */
#ifndef CLIPGRID_KERNELS_CPU_INTERNAL_H
#define CLIPGRID_KERNELS_CPU_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"  // defines: cg_fatal
#include "kernels/backend.h"  // defines: the cpu_* prototypes, kernels/ops.h

/* Elementwise loops below this many elements run on one thread: a parallel region costs a few
 * microseconds. */
#define CPU_PAR_MIN ((size_t)1 << 15)

/* fused a*b + c where the hardware has it (the build uses -std=c17, which turns contraction
 * off, so the fusion has to be spelled out) */
#if defined(__FMA__) || defined(__AVX512F__)
#define CPU_FMA(a, b, c) fmaf((a), (b), (c))
#else
#define CPU_FMA(a, b, c) ((a) * (b) + (c))
#endif

static inline float cpu_bits_to_float(uint32_t u) {
    union { uint32_t u; float f; } v = {.u = u};
    return v.f;
}

static inline uint32_t cpu_float_to_bits(float f) {
    union { float f; uint32_t u; } v = {.f = f};
    return v.u;
}

/* exp(x) in fp32 with ~1 ulp error, written so that loops over it vectorise: no libm call and
 * no selects but two clamps (the files that loop over it turn off -ftrapping-math, without
 * which GCC does not if-convert those on AVX2). x is clamped to [-88, 88.8] and 2^n is built
 * from the exponent bits: below about -87.68 the result is exactly 0 (no subnormal results
 * there), from 88.376 (2^127.5) on it is +inf; NaN propagates. */
static inline float cpu_expf(float x) {
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float xc = x > 88.8f ? 88.8f : x;
    xc = xc < -88.0f ? -88.0f : xc;
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;                                     /* round(x / ln 2), -127..128 */
    int32_t ni = (int32_t)(cpu_float_to_bits(t) - cpu_float_to_bits(magic));
    float r = CPU_FMA(n, -0.693359375f, xc);                 /* x - n ln2, Cody-Waite */
    r = CPU_FMA(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;                              /* minimax on ±ln2/2 */
    p = CPU_FMA(p, r, 1.3981999507e-3f);
    p = CPU_FMA(p, r, 8.3334519073e-3f);
    p = CPU_FMA(p, r, 4.1665795894e-2f);
    p = CPU_FMA(p, r, 1.6666665459e-1f);
    p = CPU_FMA(p, r, 5.0000001201e-1f);
    p = CPU_FMA(p, r * r, r + 1.0f);
    /* 2^n: exponent field n + 127 in 0..255, i.e. 0 (flush) .. +inf at the ends */
    return p * cpu_bits_to_float((uint32_t)(ni + 127) << 23);
}

/* logistic sigmoid via cpu_expf */
static inline float cpu_sigmoidf(float x) { return 1.0f / (1.0f + cpu_expf(-x)); }

/* Row reductions with explicit lanes: GCC keeps the lane array in one vector register, where an
 * `omp simd reduction` goes through memory. */
enum { CPU_LANES = 16 };

static inline float cpu_max(const float *x, int n) {
    float m[CPU_LANES];
    for (int l = 0; l < CPU_LANES; l++) m[l] = -INFINITY;
    int j = 0;
    for (; j + CPU_LANES <= n; j += CPU_LANES) {
        #pragma omp simd
        for (int l = 0; l < CPU_LANES; l++) m[l] = m[l] < x[j + l] ? x[j + l] : m[l];
    }
    float r = -INFINITY;
    for (; j < n; j++) r = r < x[j] ? x[j] : r;
    for (int l = 0; l < CPU_LANES; l++) r = r < m[l] ? m[l] : r;
    return r;
}

/* x[j] = exp(x[j] - sub) for j < n; returns the sum */
static inline float cpu_exp_sum(float *x, int n, float sub) {
    float s[CPU_LANES] = {0};
    int j = 0;
    for (; j + CPU_LANES <= n; j += CPU_LANES) {
        #pragma omp simd
        for (int l = 0; l < CPU_LANES; l++) {
            x[j + l] = cpu_expf(x[j + l] - sub);
            s[l] += x[j + l];
        }
    }
    float r = 0.0f;
    for (; j < n; j++) {
        x[j] = cpu_expf(x[j] - sub);
        r += x[j];
    }
    for (int l = 0; l < CPU_LANES; l++) r += s[l];
    return r;
}

static inline float cpu_dot(const float *a, const float *b, int n) {
    float s[CPU_LANES] = {0};
    int j = 0;
    for (; j + CPU_LANES <= n; j += CPU_LANES) {
        #pragma omp simd
        for (int l = 0; l < CPU_LANES; l++) s[l] = CPU_FMA(a[j + l], b[j + l], s[l]);
    }
    float r = 0.0f;
    for (; j < n; j++) r = CPU_FMA(a[j], b[j], r);
    for (int l = 0; l < CPU_LANES; l++) r += s[l];
    return r;
}

#define CPU_CHECK_PTR(fn, p) \
    do { if (!(p)) cg_fatal("%s: argument %s must not be NULL", (fn), #p); } while (0)

#endif
