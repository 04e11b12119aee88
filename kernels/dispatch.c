/* kernels/dispatch.c — the public op_* / k_* functions of kernels/ops.h: each calls the active
 * backend's implementation through a table of function pointers (kernels/backend.h). The CPU
 * table is active from the start, so programs that never choose a backend run on the CPU; the
 * CUDA table exists when the build found nvcc (CG_HAVE_CUDA). */
#include <stdio.h>   // defines: snprintf
#include <stdlib.h>  // defines: getenv, atoi
#include <string.h>  // defines: strcmp

#include "base/util.h"  // defines: cg_error_set
#include "kernels/backend.h"

#define K_ENTRY_CPU_V(name, params, args) .name = cpu_##name,
#define K_ENTRY_CPU_R(type, name, params, args) .name = cpu_##name,
static const KBackend cpu_backend = {
    .kind = K_BACKEND_CPU,
    .name = "cpu",
    K_OPS(K_ENTRY_CPU_V, K_ENTRY_CPU_R)
};

#ifdef CG_HAVE_CUDA
#define K_ENTRY_CUDA_V(name, params, args) .name = cuda_##name,
#define K_ENTRY_CUDA_R(type, name, params, args) .name = cuda_##name,
static const KBackend cuda_backend = {
    .kind = K_BACKEND_CUDA,
    .name = "cuda",
    K_OPS(K_ENTRY_CUDA_V, K_ENTRY_CUDA_R)
};
#endif

static const KBackend *active = &cpu_backend;

/* every public function of the table: a call through the active backend */
#define K_WRAP_V(name, params, args) void name params { active->name args; }
#define K_WRAP_R(type, name, params, args) type name params { return active->name args; }
K_OPS(K_WRAP_V, K_WRAP_R)

KBackendKind k_backend(void) { return active->kind; }

const char *k_backend_name(void) { return active->name; }

void k_init_cpu(int threads) {
    cpu_k_init_cpu(threads);
    active = &cpu_backend;
}

int k_init_cuda(int device) {
#ifdef CG_HAVE_CUDA
    if (device < 0) device = 0;
    if (cuda_init(device) != 0) return -1;
    active = &cuda_backend;
    return 0;
#else
    (void)device;
    cg_error_set("the CUDA backend is not built in (nvcc was not found when this program was "
                 "built)");
    return -1;
#endif
}

int k_init_auto(int threads, int device) {
    k_init_cpu(threads);
    (void)k_init_cuda(device); /* stays on the CPU when it fails; cg_error says why */
    return 0;
}

int k_init_named(const char *name, int threads, int device) {
    k_init_cpu(threads);
    if (!name || !*name || strcmp(name, "cpu") == 0) return 0;
    if (strcmp(name, "auto") == 0) return k_init_auto(threads, device);
    if (strcmp(name, "cuda") == 0) {
        if (k_init_cuda(device) == 0) return 0;
        char why[512]; /* cg_error's text, copied before it is rewritten */
        snprintf(why, sizeof why, "%s", cg_error());
        cg_error_set("CLIPGRID_BACKEND=cuda: %s", why);
        return -1;
    }
    cg_error_set("CLIPGRID_BACKEND=%s: must be cpu, cuda or auto", name);
    return -1;
}

void *k_cuda_stream(void) {
#ifdef CG_HAVE_CUDA
    if (active == &cuda_backend) return cuda_stream();
#endif
    return NULL;
}

int k_cuda_device(void) {
#ifdef CG_HAVE_CUDA
    if (active == &cuda_backend) return cuda_device();
#endif
    return -1;
}

/* ---- the products' precision: one setting for both backends, read through k_precision ---- */

const char *const K_PRECISION_NAMES[] = {"fp32", "tf32", "bf16", "fp16", NULL};
static KPrecision precision = K_PREC_FP32;

int k_set_matmul_precision(const char *name) {
    for (int i = 0; K_PRECISION_NAMES[i]; i++) {
        if (name && strcmp(name, K_PRECISION_NAMES[i]) == 0) {
            precision = (KPrecision)i;
            return 0;
        }
    }
    cg_error_set("matmul precision '%s' must be fp32, tf32, bf16 or fp16", name ? name : "(null)");
    return -1;
}

const char *k_matmul_precision(void) { return K_PRECISION_NAMES[precision]; }

KPrecision k_precision(void) { return precision; }
