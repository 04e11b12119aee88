/* base/half.h — decoding of the 16-bit float formats to fp32 bits: IEEE binary16 (fp16) and bfloat16,
 * exact for every input (subnormals, ±0, ±inf, NaN payloads). The one definition for the CPU
 * backend, the CUDA kernels (__host__ __device__ under nvcc) and the safetensors reader/writer. */
#ifndef CLIPGRID_BASE_HALF_H
#define CLIPGRID_BASE_HALF_H

#include <stdint.h>

#ifdef __CUDACC__
#define CG_HD __host__ __device__ static inline
#else
#define CG_HD static inline
#endif

CG_HD uint32_t cg_f16_to_f32_bits(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f) return sign | 0x7f800000u | (mant << 13);       /* inf / NaN */
    if (exp != 0) return sign | ((exp + 112u) << 23) | (mant << 13); /* normal: 127 − 15 */
    if (mant == 0) return sign;                                      /* ±0 */
    /* subnormal mant·2^−24: normalise (2^−14 has biased fp32 exponent 113) */
    uint32_t e = 113u;
    while (!(mant & 0x400u)) mant <<= 1, e--;
    return sign | (e << 23) | ((mant & 0x3ffu) << 13);
}

CG_HD uint32_t cg_bf16_to_f32_bits(uint16_t h) { return (uint32_t)h << 16; }

#endif
