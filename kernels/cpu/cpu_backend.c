/* kernels/cpu/cpu_backend.c — CPU backend state (the OpenMP thread count; OpenBLAS runs
 * single-threaded inside OpenMP regions, see cpu_matmul.c) and tensor memory: aligned
 * zero-filled allocation, fill/copy, host<->"device" transfers and the fp16/bf16 -> fp32
 * upload. On the CPU a device pointer is a host pointer. Like every function of kernels/cpu, these
 * are the cpu_* entries of the backend table (kernels/backend.h) that kernels/dispatch.c calls. */
#include <omp.h>     // defines: omp_get_num_procs, omp_set_num_threads, omp_get_max_threads
#include <stdlib.h>  // defines: posix_memalign, free

#include "base/half.h"  // defines: cg_f16_to_f32_bits
#include "kernels/cpu/cpu_blas.h"  // defines: cpu_blas_set_threads
#include "kernels/cpu/cpu_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "k_upload / k_upload_cast assume a little-endian host"
#endif

static int cpu_threads; /* 0 until k_init_cpu */

void cpu_k_init_cpu(int threads) {
    if (threads <= 0) threads = omp_get_num_procs();
    if (threads < 1) threads = 1;
    cpu_threads = threads;
    omp_set_num_threads(threads);
    /* one thread pool: the products split their work over the OpenMP threads and call OpenBLAS
     * single-threaded from each (cpu_matmul.c explains why) */
    cpu_blas_set_threads(1);
}

/* Ops used before k_init_cpu initialise with OpenMP's default thread count (OMP_NUM_THREADS or
 * all cores), so that OpenBLAS is never multithreaded inside the OpenMP regions. */
int k_threads(void) {
    if (cpu_threads <= 0) cpu_k_init_cpu(omp_get_max_threads());
    return cpu_threads;
}

/* ---- memory --------------------------------------------------------------------------------- */

float *cpu_k_alloc(size_t n) {
    if (n > (SIZE_MAX - 63) / sizeof(float))
        cg_fatal("k_alloc: %zu floats overflow the address space", n);
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    if (bytes == 0) bytes = 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes) != 0 || !p)
        cg_fatal("k_alloc: out of memory allocating %zu floats (%.1f MiB)", n,
                 (double)bytes / (1024.0 * 1024.0));
    /* zero in parallel: first touch places pages near the threads that will use them */
    char *c = p;
    #pragma omp parallel for schedule(static) if (bytes >= 4 * CPU_PAR_MIN)
    for (size_t off = 0; off < bytes; off += 4096) {
        size_t len = bytes - off < 4096 ? bytes - off : 4096;
        memset(c + off, 0, len);
    }
    return p;
}

void cpu_k_free(float *p) { free(p); }

void cpu_k_zero(float *p, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("k_zero", p);
    #pragma omp parallel for simd schedule(static) if (n >= 4 * CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) p[i] = 0.0f;
}

void cpu_k_fill(float *p, float value, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("k_fill", p);
    #pragma omp parallel for simd schedule(static) if (n >= 4 * CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) p[i] = value;
}

/* memcpy in parallel chunks (dst and src must not overlap) */
static void copy_floats(float *dst, const float *src, size_t n) {
    const size_t chunk = (size_t)1 << 16;
    if (n < 4 * CPU_PAR_MIN) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    size_t nchunks = (n + chunk - 1) / chunk;
    #pragma omp parallel for schedule(static)
    for (size_t c = 0; c < nchunks; c++) {
        size_t off = c * chunk, len = n - off < chunk ? n - off : chunk;
        memcpy(dst + off, src + off, len * sizeof(float));
    }
}

void cpu_k_copy(float *dst, const float *src, size_t n) {
    if (n == 0 || dst == src) return;
    CPU_CHECK_PTR("k_copy", dst);
    CPU_CHECK_PTR("k_copy", src);
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src, bytes = n * sizeof(float);
    if (d < s + bytes && s < d + bytes) {  /* overlapping ranges: let memmove handle it */
        memmove(dst, src, n * sizeof(float));
        return;
    }
    copy_floats(dst, src, n);
}

void cpu_k_upload(float *dst, const float *host_src, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("k_upload", dst);
    CPU_CHECK_PTR("k_upload", host_src);
    copy_floats(dst, host_src, n);
}

void cpu_k_download(float *host_dst, const float *src, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("k_download", host_dst);
    CPU_CHECK_PTR("k_download", src);
    copy_floats(host_dst, src, n);
}

/* ---- dtype conversion ------------------------------------------------------------------------ */

void cpu_k_upload_cast(float *dst, const void *host_src, KDtype dt, size_t n) {
    if (n == 0) return;
    CPU_CHECK_PTR("k_upload_cast", dst);
    CPU_CHECK_PTR("k_upload_cast", host_src);
    const unsigned char *s = host_src;
    switch (dt) {
    case K_F32:
        copy_floats(dst, host_src, n); /* memcpy: alignment of the source does not matter */
        return;
    case K_F16:
        #pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(s[2 * i] | (s[2 * i + 1] << 8));
            dst[i] = cpu_bits_to_float(cg_f16_to_f32_bits(h));
        }
        return;
    case K_BF16:
        #pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
        for (size_t i = 0; i < n; i++) {
            uint16_t b = (uint16_t)(s[2 * i] | (s[2 * i + 1] << 8));
            dst[i] = cpu_bits_to_float(cg_bf16_to_f32_bits(b));
        }
        return;
    }
    cg_fatal("k_upload_cast: dtype %d must be K_F32, K_F16 or K_BF16", (int)dt);
}

/* The CPU keeps no converted copies: a reduced-precision product rounds its operands on each
 * call (cpu_matmul.c), which costs O(m·k) against the product's O(n·m·k). */
void cpu_k_weights_frozen(const float *p, size_t n) {
    (void)p, (void)n;
}
