/* tests/bench/bench_methods.c — one training step (forward, backward, SGD step) of CoOp and
 * CoCoOp with ViT-B/16 dimensions (random weights), 50 classes, at the published batch sizes
 * (CoOp 32, CoCoOp 1), next to the same step computed the way the official code computes it
 * (all 77 text rows, every class prompt per image for CoCoOp, no shared prefix) by
 * tests/reference/methods_bench_ref.py in the same run. Targets on the project's CPU: CoOp
 * >= 1.5x, CoCoOp >= 5x. Usage: bench_methods [THREADS (0: all)] [REPS (3)] [--no-ref]: the best
 * of REPS steps after a warm-up (CoCoOp's C step: of 3·REPS), with OMP_WAIT_POLICY=passive
 * unless set. Backend, precision and the reference's Python: tests/bench/bench_methods.h
 * (CLIPGRID_BACKEND=cuda: the reference runs with --device cuda, and with --half when
 * CLIPGRID_PRECISION is reduced); batch sizes BENCH_BATCH_COOP (32), BENCH_BATCH_COCOOP (1).
 * MaPLe, MuDPT and MMRL are in bench_methods_deep.c. Exit status 0: a benchmark reports, it does
 * not fail a build. */
#include <unistd.h>

#include "tests/bench/bench_methods.h"

#define REF "tests/reference/methods_bench_ref.py"
#define CLASSES 50

int main(int argc, char **argv) {
    /* The CPU is shared with other jobs: OpenMP threads that spin at barriers while their
     * partner is descheduled turn a step of 0.4 s into several seconds. libgomp reads the wait
     * policy at start-up, so set it and start again (the PyTorch child inherits it too). */
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
    }
    int with_ref = 1, pos[2] = {0, 3}, npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-ref")) with_ref = 0;
        else if (npos < 2) pos[npos++] = atoi(argv[i]);
    }
    BenchCtx b;
    bench_init(&b, pos[0], pos[1]);
    printf("bench_methods: ViT-B/16 dimensions, random weights, %d threads, best of %d steps\n",
           b.threads, b.reps);
    MethodConfig coop, cocoop;
    method_config_defaults(&coop, method_kind_from_name("coop"), "base2new", "caltech101");
    method_config_defaults(&cocoop, method_kind_from_name("cocoop"), "base2new", "caltech101");
    int bc = bench_batch("BENCH_BATCH_COOP", 32), bk = bench_batch("BENCH_BATCH_COCOOP", 1);
    BenchTime none = {NAN, NAN};
    BenchTime ms = bench_method_ms(&b, coop, bc, CLASSES);
    bench_report("coop", bc, CLASSES, ms,
                 with_ref ? bench_reference_ms(&b, REF, "coop", bc, CLASSES) : none, 1.5);
    /* a CoCoOp step is short here: more repetitions for a stable best */
    ms = bench_method_ms_reps(&b, cocoop, bk, CLASSES, 3 * b.reps);
    bench_report("cocoop", bk, CLASSES, ms,
                 with_ref ? bench_reference_ms(&b, REF, "cocoop", bk, CLASSES) : none,
                 5.0);
    bench_free(&b);
    return 0;
}
