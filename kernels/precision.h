/* kernels/precision.h — rounding of fp32 values to the reduced precisions of the products
 * (k_set_matmul_precision): round to nearest, ties to even, for tf32 (10 stored mantissa bits,
 * fp32 exponent range), bf16 (7 stored bits, fp32 range) and IEEE fp16 (10 stored bits,
 * subnormals below 2^-14, ±inf beyond 65504 rounded). The results are fp32 values that the
 * reduced type holds exactly. One definition for the CPU backend, the CUDA kernels and the tests
 * (K_HD makes them __host__ __device__ under nvcc). Only kernels/ and tests include this. */
#ifndef CLIPGRID_KERNELS_PRECISION_H
#define CLIPGRID_KERNELS_PRECISION_H

#include <stdint.h>
#include <string.h>

#include "kernels/ops.h"  // defines: KPrecision

#ifdef __CUDACC__
#define K_HD __host__ __device__ static inline
#else
#define K_HD static inline
#endif

K_HD uint32_t k_f32_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

K_HD float k_bits_f32(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* keep the top 23 − drop stored mantissa bits, ties to even; a carry may reach the exponent
 * (FLT_MAX rounds to inf). NaN stays NaN (quietened), ±inf stays. */
K_HD float k_round_mantissa(float x, int drop) {
    uint32_t u = k_f32_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return k_bits_f32(u | 0x00400000u);
    uint32_t half = (1u << (drop - 1)) - 1u, lsb = (u >> drop) & 1u;
    u += half + lsb;
    return k_bits_f32(u & ~((1u << drop) - 1u));
}

K_HD float k_round_tf32(float x) { return k_round_mantissa(x, 13); }

K_HD float k_round_bf16(float x) { return k_round_mantissa(x, 16); }

/* IEEE binary16: 11 significant bits for |x| >= 2^-14, a fixed quantum 2^-24 below it (the
 * subnormals; scaling by 2^24 is exact and the integer rounding is ties-to-even), ±inf from
 * 65520 up (65504 is the largest finite value). */
K_HD float k_round_fp16(float x) {
    uint32_t u = k_f32_bits(x);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return k_bits_f32(u | 0x00400000u);
    if (a < 0x38800000u) { /* |x| < 2^-14 */
        float s = x * 16777216.0f;                     /* exact: |s| < 1024 */
        float r = (s + 12582912.0f) - 12582912.0f;     /* 1.5·2^23: ties to even at step 1 */
        if (a == 0) r = x;                             /* keep the sign of zero */
        r = r * (1.0f / 16777216.0f);
        return (u >> 31) && r == 0.0f ? -0.0f : r;
    }
    float r = k_round_mantissa(x, 13);
    if ((k_f32_bits(r) & 0x7fffffffu) > 0x477fe000u) /* beyond 65504 */
        return k_bits_f32((u & 0x80000000u) | 0x7f800000u);
    return r;
}

K_HD float k_round_to(KPrecision p, float x) {
    switch (p) {
    case K_PREC_TF32: return k_round_tf32(x);
    case K_PREC_BF16: return k_round_bf16(x);
    case K_PREC_FP16: return k_round_fp16(x);
    default: return x;
    }
}

#endif
