/* kernels/cuda/cuda_backend.cu — CUDA backend state (device, one stream, the cuBLAS handle) and
 * tensor memory: a caching allocator over cudaMalloc (freed blocks are kept and handed out
 * again, so per-step allocations do not reach cudaMalloc), zero/fill/copy, host<->device
 * transfers and the fp16/bf16 -> fp32 upload. No managed memory. */
#include <pthread.h>  // defines: pthread_mutex_t
#include <stdint.h>
#include <stdlib.h>   // defines: getenv, realloc
#include <string.h>   // defines: strcmp

#include "kernels/cuda/cuda_common.cuh"

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
    /* the products' precision: fp32 unless CLIPGRID_MATMUL says otherwise */
    const char *mm = getenv("CLIPGRID_MATMUL");
    if (mm && *mm && cuda_set_matmul_precision(mm) != 0) return -1;
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

/* ---- precision of the products ------------------------------------------------------------
 * Storage stays fp32 everywhere; cuBLAS's compute type decides the products' arithmetic: fp32
 * (exact fp32, the default), or fp32 with inputs it may round to tf32, bf16 or fp16 for the
 * tensor cores (accumulation in fp32). LayerNorm, softmax and the loss are always fp32. */

static const struct {
    const char *name;
    cublasComputeType_t type;
} g_precisions[] = {
    {"fp32", CUBLAS_COMPUTE_32F},
    {"tf32", CUBLAS_COMPUTE_32F_FAST_TF32},
    {"bf16", CUBLAS_COMPUTE_32F_FAST_16BF},
    {"fp16", CUBLAS_COMPUTE_32F_FAST_16F},
};
static int g_precision = 0; /* index into g_precisions */

cublasComputeType_t cu_compute_type(void) { return g_precisions[g_precision].type; }

extern "C" int cuda_set_matmul_precision(const char *name) {
    for (int i = 0; i < (int)(sizeof g_precisions / sizeof g_precisions[0]); i++) {
        if (name && strcmp(name, g_precisions[i].name) == 0) {
            g_precision = i;
            return 0;
        }
    }
    cg_error_set("matmul precision '%s' must be fp32, tf32, bf16 or fp16", name ? name : "(null)");
    return -1;
}

extern "C" const char *cuda_matmul_precision(void) { return g_precisions[g_precision].name; }

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

extern "C" void cuda_k_free(float *p) { block_free(p, "k_free"); }

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

/* ---- dtype conversion: the same bit operations as the CPU backend ------------------------ */

/* IEEE binary16 bits -> fp32, exact for every input (subnormals, ±0, ±inf, NaN payload) */
static __device__ float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f) return __uint_as_float(sign | 0x7f800000u | (mant << 13));
    if (exp != 0) return __uint_as_float(sign | ((exp + 112u) << 23) | (mant << 13));
    return __uint_as_float(sign | __float_as_uint((float)mant * 0x1p-24f));
}

static __global__ void cast_f16_kernel(float *dst, const uint16_t *src, size_t n) {
    CU_GRID_STRIDE(i, n) dst[i] = f16_to_f32(src[i]);
}

static __global__ void cast_bf16_kernel(float *dst, const uint16_t *src, size_t n) {
    CU_GRID_STRIDE(i, n) dst[i] = __uint_as_float((uint32_t)src[i] << 16);
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
