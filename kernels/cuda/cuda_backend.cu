/* kernels/cuda/cuda_backend.cu — CUDA backend state (device, one stream, the cuBLAS handle) and
 * tensor memory: a caching allocator over cudaMalloc (freed blocks are kept and handed out
 * again, so per-step allocations do not reach cudaMalloc), zero/fill/copy, host<->device
 * transfers and the fp16/bf16 -> fp32 upload. No managed memory. */
#include <pthread.h>  // defines: pthread_mutex_t
#include <stdint.h>
#include <stdlib.h>   // defines: getenv, realloc

#include <cuda_bf16.h>  // defines: __nv_bfloat16, __float2bfloat16_rn
#include <cuda_fp16.h>  // defines: __half, __float2half_rn

#include "base/half.h"  // defines: cg_f16_to_f32_bits
#include "kernels/cuda/cuda_common.cuh"
#include "kernels/precision.h"  // defines: k_round_tf32

static struct {
    int ready, device;
    cudaStream_t stream;
    cublasHandle_t blas;
} g_cu = {0, -1, NULL, NULL};

cudaStream_t cu_stream(void) { return g_cu.stream; }
cublasHandle_t cu_blas(void) { return g_cu.blas; }

extern "C" int cuda_device(void) { return g_cu.ready ? g_cu.device : -1; }
extern "C" void *cuda_stream(void) { return (void *)g_cu.stream; }

/* Returns 0, or −1 with cg_error when no driver or GPU is usable; fatal errors past that point
 * (a GPU that is present but fails) abort with the library's message. */
extern "C" int cuda_init(int device) {
    if (g_cu.ready) {
        if (device == g_cu.device) return 0;
        cg_error_set("CUDA backend already initialised on GPU %d, cannot switch to GPU %d",
                     g_cu.device, device);
        return -1;
    }
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError(); /* clear the error for later calls */
        cg_error_set("no usable CUDA driver or GPU: cudaGetDeviceCount: %s (%s)",
                     cudaGetErrorString(e), cudaGetErrorName(e));
        return -1;
    }
    if (count == 0) {
        cg_error_set("no CUDA GPU visible (cudaGetDeviceCount = 0)");
        return -1;
    }
    if (device < 0 || device >= count) {
        cg_error_set("GPU %d requested but %d GPU%s visible (CUDA_VISIBLE_DEVICES=%s)", device,
                     count, count == 1 ? " is" : "s are",
                     getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES") : "unset");
        return -1;
    }
    e = cudaSetDevice(device);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        cg_error_set("cudaSetDevice(%d): %s (%s)", device, cudaGetErrorString(e),
                     cudaGetErrorName(e));
        return -1;
    }
    CUDA_CHECK(cudaStreamCreateWithFlags(&g_cu.stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasCreate(&g_cu.blas));
    CUBLAS_CHECK(cublasSetStream(g_cu.blas, g_cu.stream));
    g_cu.device = device;
    g_cu.ready = 1;
    return 0;
}

/* ---- the caching allocator ------------------------------------------------------------------
 * Every block ever obtained from cudaMalloc is listed with its size and whether it is in use.
 * An allocation takes the smallest free block of at least the rounded size and at most twice
 * it, else a new cudaMalloc; when cudaMalloc runs out of memory the free blocks go back to the
 * driver and it is tried once more. Linear scans: a run has at most a few thousand blocks. */

typedef struct {
    void *ptr;
    size_t bytes;
    int in_use;
} CuBlock;

static CuBlock *g_blocks;
static size_t g_nblocks, g_capblocks;
static pthread_mutex_t g_mem_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t round_bytes(size_t bytes) {
    if (bytes == 0) bytes = 1;
    return (bytes + 255) & ~(size_t)255;
}

static void release_free_blocks(void) {
    /* a freed block may still be read by queued work: let the stream finish first (cudaFree
     * synchronises too, but that is not what this code should rest on) */
    CUDA_CHECK(cudaStreamSynchronize(g_cu.stream));
    size_t keep = 0;
    for (size_t i = 0; i < g_nblocks; i++) {
        if (g_blocks[i].in_use) {
            g_blocks[keep++] = g_blocks[i];
        } else {
            CUDA_CHECK(cudaFree(g_blocks[i].ptr)); /* synchronises the device first */
        }
    }
    g_nblocks = keep;
}

static void *block_alloc(size_t want, const char *who) {
    size_t bytes = round_bytes(want);
    pthread_mutex_lock(&g_mem_lock);
    CuBlock *best = NULL;
    for (size_t i = 0; i < g_nblocks; i++) {
        CuBlock *b = &g_blocks[i];
        if (!b->in_use && b->bytes >= bytes && b->bytes / 2 <= bytes &&
            (!best || b->bytes < best->bytes))
            best = b;
    }
    if (best) {
        best->in_use = 1;
        pthread_mutex_unlock(&g_mem_lock);
        return best->ptr;
    }
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        release_free_blocks();
        e = cudaMalloc(&p, bytes);
    }
    if (e != cudaSuccess) {
        size_t free_b = 0, total_b = 0;
        (void)cudaMemGetInfo(&free_b, &total_b);
        cg_fatal("%s: cudaMalloc of %zu bytes (%.1f MiB) on GPU %d failed: %s (%s); %.1f of "
                 "%.1f MiB free",
                 who, bytes, bytes / 1048576.0, g_cu.device, cudaGetErrorString(e),
                 cudaGetErrorName(e), free_b / 1048576.0, total_b / 1048576.0);
    }
    if (g_nblocks == g_capblocks) {
        g_capblocks = g_capblocks ? 2 * g_capblocks : 256;
        g_blocks = (CuBlock *)realloc(g_blocks, g_capblocks * sizeof *g_blocks);
        if (!g_blocks) cg_fatal("%s: out of host memory for the block table", who);
    }
    g_blocks[g_nblocks++] = CuBlock{p, bytes, 1};
    pthread_mutex_unlock(&g_mem_lock);
    return p;
}

static void block_free(void *p, const char *who) {
    if (!p) return;
    pthread_mutex_lock(&g_mem_lock);
    for (size_t i = 0; i < g_nblocks; i++) {
        if (g_blocks[i].ptr == p) {
            if (!g_blocks[i].in_use) {
                pthread_mutex_unlock(&g_mem_lock);
                cg_fatal("%s: device pointer %p freed twice", who, p);
            }
            g_blocks[i].in_use = 0;
            pthread_mutex_unlock(&g_mem_lock);
            return;
        }
    }
    pthread_mutex_unlock(&g_mem_lock);
    cg_fatal("%s: %p is not a pointer returned by k_alloc on the CUDA backend", who, p);
}

void *cu_scratch_alloc(size_t bytes) { return block_alloc(bytes, "cuda scratch"); }
void cu_scratch_free(void *p) { block_free(p, "cuda scratch"); }

int *cu_upload_ints(const int *host, size_t n) {
    int *d = (int *)cu_scratch_alloc(n * sizeof(int));
    /* from pageable memory: returns once the host data is staged, so `host` may change after */
    CUDA_CHECK(cudaMemcpyAsync(d, host, n * sizeof(int), cudaMemcpyHostToDevice, g_cu.stream));
    return d;
}

/* ---- the k_* memory functions ------------------------------------------------------------- */

extern "C" float *cuda_k_alloc(size_t n) {
    if (n > (SIZE_MAX - 255) / sizeof(float))
        cg_fatal("k_alloc: %zu floats overflow the address space", n);
    float *p = (float *)block_alloc(n * sizeof(float), "k_alloc");
    CUDA_CHECK(cudaMemsetAsync(p, 0, n * sizeof(float), g_cu.stream));
    return p;
}

static void frozen_drop(const void *block);

extern "C" void cuda_k_free(float *p) {
    frozen_drop(p);
    block_free(p, "k_free");
}

extern "C" void cuda_k_zero(float *p, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("k_zero", p);
    CUDA_CHECK(cudaMemsetAsync(p, 0, n * sizeof(float), g_cu.stream));
}

static __global__ void fill_kernel(float *p, float value, size_t n) {
    CU_GRID_STRIDE(i, n) p[i] = value;
}

extern "C" void cuda_k_fill(float *p, float value, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("k_fill", p);
    fill_kernel<<<cu_blocks(n), CU_THREADS, 0, g_cu.stream>>>(p, value, n);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_k_copy(float *dst, const float *src, size_t n) {
    if (n == 0 || dst == src) return;
    CU_CHECK_PTR("k_copy", dst);
    CU_CHECK_PTR("k_copy", src);
    size_t bytes = n * sizeof(float);
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    if (d < s + bytes && s < d + bytes) { /* overlapping ranges: through a scratch copy */
        void *tmp = cu_scratch_alloc(bytes);
        CUDA_CHECK(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, g_cu.stream));
        CUDA_CHECK(cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, g_cu.stream));
        cu_scratch_free(tmp);
        return;
    }
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, g_cu.stream));
}

extern "C" void cuda_k_upload(float *dst, const float *host_src, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("k_upload", dst);
    CU_CHECK_PTR("k_upload", host_src);
    CUDA_CHECK(cudaMemcpyAsync(dst, host_src, n * sizeof(float), cudaMemcpyHostToDevice,
                               g_cu.stream));
    CUDA_CHECK(cudaStreamSynchronize(g_cu.stream)); /* the caller may free host_src at once */
}

extern "C" void cuda_k_download(float *host_dst, const float *src, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("k_download", host_dst);
    CU_CHECK_PTR("k_download", src);
    CUDA_CHECK(cudaMemcpyAsync(host_dst, src, n * sizeof(float), cudaMemcpyDeviceToHost,
                               g_cu.stream));
    CUDA_CHECK(cudaStreamSynchronize(g_cu.stream));
}

/* ---- dtype conversion: the CPU backend's bit operations (base/half.h) --------------------- */

static __global__ void cast_f16_kernel(float *dst, const uint16_t *src, size_t n) {
    CU_GRID_STRIDE(i, n) dst[i] = __uint_as_float(cg_f16_to_f32_bits(src[i]));
}

static __global__ void cast_bf16_kernel(float *dst, const uint16_t *src, size_t n) {
    CU_GRID_STRIDE(i, n) dst[i] = __uint_as_float(cg_bf16_to_f32_bits(src[i]));
}

extern "C" void cuda_k_upload_cast(float *dst, const void *host_src, KDtype dt, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("k_upload_cast", dst);
    CU_CHECK_PTR("k_upload_cast", host_src);
    if (dt == K_F32) {
        cuda_k_upload(dst, (const float *)host_src, n);
        return;
    }
    if (dt != K_F16 && dt != K_BF16)
        cg_fatal("k_upload_cast: dtype %d must be K_F32, K_F16 or K_BF16", (int)dt);
    /* the raw 16-bit words (little-endian host and device) to scratch, then widen on the GPU */
    uint16_t *raw = (uint16_t *)cu_scratch_alloc(n * sizeof(uint16_t));
    CUDA_CHECK(cudaMemcpyAsync(raw, host_src, n * sizeof(uint16_t), cudaMemcpyHostToDevice,
                               g_cu.stream));
    if (dt == K_F16)
        cast_f16_kernel<<<cu_blocks(n), CU_THREADS, 0, g_cu.stream>>>(dst, raw, n);
    else
        cast_bf16_kernel<<<cu_blocks(n), CU_THREADS, 0, g_cu.stream>>>(dst, raw, n);
    CUDA_CHECK_LAUNCH();
    cu_scratch_free(raw);
    CUDA_CHECK(cudaStreamSynchronize(g_cu.stream)); /* as k_upload: host_src is free after */
}

/* ---- conversion to the products' precision ------------------------------------------------ */

static __global__ void to_tf32_kernel(float *dst, const float *src, size_t n) {
    CU_GRID_STRIDE(i, n) dst[i] = k_round_tf32(src[i]);
}

static __global__ void to_bf16_kernel(__nv_bfloat16 *dst, const float *src, size_t n) {
    CU_GRID_STRIDE(i, n) dst[i] = __float2bfloat16_rn(src[i]);
}

static __global__ void to_fp16_kernel(__half *dst, const float *src, size_t n) {
    CU_GRID_STRIDE(i, n) dst[i] = __float2half_rn(src[i]);
}

void cu_convert(void *dst, const float *src, size_t n, KPrecision p) {
    if (n == 0) return;
    if (p == K_PREC_TF32)
        to_tf32_kernel<<<cu_blocks(n), CU_THREADS, 0, g_cu.stream>>>((float *)dst, src, n);
    else if (p == K_PREC_BF16)
        to_bf16_kernel<<<cu_blocks(n), CU_THREADS, 0, g_cu.stream>>>((__nv_bfloat16 *)dst, src, n);
    else if (p == K_PREC_FP16)
        to_fp16_kernel<<<cu_blocks(n), CU_THREADS, 0, g_cu.stream>>>((__half *)dst, src, n);
    else
        cg_fatal("cu_convert: precision %d is not tf32, bf16 or fp16", (int)p);
    CUDA_CHECK_LAUNCH();
}

/* ---- frozen weights: ranges declared with k_weights_frozen, each with its converted copies
 * (index KPrecision; fp32 needs none), made on first use and freed with the allocation that
 * holds the range. A model declares one range (its arena), so the lists stay short. -------- */

typedef struct {
    const float *base;
    size_t n;
    const void *block;  /* the k_alloc allocation holding the range */
    void *copy[4];
} FrozenRange;

static FrozenRange *g_frozen;
static size_t g_nfrozen, g_capfrozen;
static pthread_mutex_t g_frozen_lock = PTHREAD_MUTEX_INITIALIZER;

/* the allocation containing p, or NULL */
static const void *block_of(const void *p) {
    const void *found = NULL;
    pthread_mutex_lock(&g_mem_lock);
    for (size_t i = 0; i < g_nblocks && !found; i++) {
        const char *b = (const char *)g_blocks[i].ptr;
        if (g_blocks[i].in_use && (const char *)p >= b && (const char *)p < b + g_blocks[i].bytes)
            found = b;
    }
    pthread_mutex_unlock(&g_mem_lock);
    return found;
}

extern "C" void cuda_k_weights_frozen(const float *p, size_t n) {
    if (n == 0) return;
    CU_CHECK_PTR("k_weights_frozen", p);
    const void *block = block_of(p);
    if (!block) cg_fatal("k_weights_frozen: %p is not inside a k_alloc allocation", (void *)p);
    pthread_mutex_lock(&g_frozen_lock);
    if (g_nfrozen == g_capfrozen) {
        g_capfrozen = g_capfrozen ? 2 * g_capfrozen : 8;
        g_frozen = (FrozenRange *)realloc(g_frozen, g_capfrozen * sizeof *g_frozen);
        if (!g_frozen) cg_fatal("k_weights_frozen: out of host memory");
    }
    g_frozen[g_nfrozen++] = FrozenRange{p, n, block, {NULL, NULL, NULL, NULL}};
    pthread_mutex_unlock(&g_frozen_lock);
}

const void *cu_frozen_copy(const float *w, size_t n, KPrecision p) {
    const void *out = NULL;
    const size_t eb = p == K_PREC_TF32 ? 4 : 2; /* bytes per converted element */
    pthread_mutex_lock(&g_frozen_lock);
    for (size_t i = 0; i < g_nfrozen && !out; i++) {
        FrozenRange *r = &g_frozen[i];
        if (w < r->base || w + n > r->base + r->n) continue;
        if (!r->copy[p]) {
            r->copy[p] = cu_scratch_alloc(r->n * eb);
            cu_convert(r->copy[p], r->base, r->n, p);
        }
        out = (const char *)r->copy[p] + (size_t)(w - r->base) * eb;
    }
    pthread_mutex_unlock(&g_frozen_lock);
    return out;
}

/* forget the ranges inside `block` (about to be freed) and free their copies */
static void frozen_drop(const void *block) {
    pthread_mutex_lock(&g_frozen_lock);
    size_t keep = 0;
    for (size_t i = 0; i < g_nfrozen; i++) {
        if (g_frozen[i].block != block) {
            g_frozen[keep++] = g_frozen[i];
            continue;
        }
        for (int c = 0; c < 4; c++)
            if (g_frozen[i].copy[c]) cu_scratch_free(g_frozen[i].copy[c]);
    }
    g_nfrozen = keep;
    pthread_mutex_unlock(&g_frozen_lock);
}
