/* runner/cli_common.c — what the subcommands share: backend set-up and default paths. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "kernels/ops.h"
#include "runner/cli.h"
#include "runner/env.h"

/* CPU threads from the argument or CLIPGRID_THREADS; the compute backend from CLIPGRID_BACKEND
 * (cpu, the default; cuda, fatal when no GPU is usable; auto: the GPU when one is usable) and
 * CLIPGRID_DEVICE (runner/env.h). A GPU backend is named on stderr. */
void cli_init_backend(int threads) {
    const RunEnv *env = run_env();
    if (threads <= 0) threads = env->threads;
    if (k_init_named(env->backend, threads, env->device) != 0) cg_fatal("%s", cg_error());
    if (k_backend() == K_BACKEND_CUDA)
        fprintf(stderr, "clipgrid: backend cuda on GPU %d, products in %s\n", k_cuda_device(),
                k_matmul_precision());
    else if (strcmp(env->backend, "auto") == 0)
        fprintf(stderr, "clipgrid: backend cpu (CUDA not usable: %s)\n", cg_error());
}

const char *cli_repo_file(const char *rel, char *buf, size_t cap) {
    if (access(rel, R_OK) == 0) return rel;
    /* the program lives in REPO/build/clipgrid: try REPO/rel */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(buf, cap, "%s/../%s", exe, rel);
        if (access(buf, R_OK) == 0) return buf;
    }
    return rel;
}

const char *cli_default_vocab(void) {
    static char path[PATH_MAX + 64];
    if (run_env()->vocab) return run_env()->vocab;
    return cli_repo_file("data/clip/bpe_simple_vocab_16e6.txt.gz", path, sizeof path);
}
