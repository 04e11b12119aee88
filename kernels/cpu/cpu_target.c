/* kernels/cpu/cpu_target.c — the instruction-set check at start. The build targets a CPU level
 * (Makefile ARCH: -march=x86-64-v3 by default, the build machine's own with NATIVE=1), and the
 * compiler may use every extension of that level anywhere. Before main (a constructor, linked
 * into every program through -Wl,--undefined=k_cpu_target_check) this asks the running CPU for
 * each extension the build assumed (the compiler's __AVX2__, __FMA__, … macros) and, when one is
 * missing, names them, the build's target and the ways out, and exits with status 70 instead of
 * dying later with SIGILL. The check itself is compiled for the x86-64 baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef CG_BUILD_ARCH
#define CG_BUILD_ARCH "the compiler's default"
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BASELINE __attribute__((target("arch=x86-64")))

/* the extensions the build assumed that this CPU lacks, as " avx2 fma"; "" when none */
BASELINE static void missing_(char *out, size_t n) {
    size_t len = 0;
    out[0] = 0;
    __builtin_cpu_init();
#define NEED(f)                                                              \
    if (!__builtin_cpu_supports(f) && len + sizeof " " f < n) {              \
        len += (size_t)snprintf(out + len, n - len, " %s", f);               \
    }
#ifdef __POPCNT__
    NEED("popcnt")
#endif
#ifdef __SSE4_2__
    NEED("sse4.2")
#endif
#ifdef __AVX__
    NEED("avx")
#endif
#ifdef __AVX2__
    NEED("avx2")
#endif
#ifdef __FMA__
    NEED("fma")
#endif
#ifdef __BMI__
    NEED("bmi")
#endif
#ifdef __BMI2__
    NEED("bmi2")
#endif
#ifdef __AVX512F__
    NEED("avx512f")
#endif
#ifdef __AVX512CD__
    NEED("avx512cd")
#endif
#ifdef __AVX512VL__
    NEED("avx512vl")
#endif
#ifdef __AVX512BW__
    NEED("avx512bw")
#endif
#ifdef __AVX512DQ__
    NEED("avx512dq")
#endif
#undef NEED
}

BASELINE __attribute__((constructor(101))) void k_cpu_target_check(void) {
    char lacks[160];
    missing_(lacks, sizeof lacks);
    if (!lacks[0]) return;
    char host[64] = "this machine";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    fprintf(stderr,
            "clipgrid: this program was built for %s, but the CPU of %s lacks:%s. Rebuild on "
            "this machine with `make NATIVE=1`, or for an older level with e.g. "
            "`make ARCH=-march=x86-64-v2` (slower CPU kernels).\n",
            CG_BUILD_ARCH, host, lacks);
    _exit(70);
}
#else
/* another architecture: the compiler's default target, nothing to check */
void k_cpu_target_check(void) {}
#endif
