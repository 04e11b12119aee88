/* tests/bench/bench_methods_deep.c — one training step (forward, loss, backward, optimiser
 * step) of MaPLe, MuDPT and MMRL with ViT-B/16 dimensions (random weights, core/gen/clip_random.h)
 * at the published batch size 4 (BENCH_BATCH_DEEP overrides) with 50 classes (Caltech101's first 50 class names, the
 * published defaults of each method: MaPLe depth 9, MuDPT depth 9, MMRL layers 6–12 with
 * AdamW), in ms, next to the same step computed the way the official code computes it in
 * PyTorch (tests/reference/methods_deep_bench_ref.py, run from here so both figures come from
 * the same run and the same prompts' end-of-text positions). Target: ≥ 2.4× faster.
 * Both sides report wall-clock ms and process CPU ms (all threads) of their fastest step. Run it
 * on an otherwise idle machine: other jobs on the same cores slow both sides unevenly (spinning
 * OpenMP threads), and OMP_WAIT_POLICY=passive serialises the CPU backend's thread pool.
 * Backend ($CLIPGRID_BACKEND), precision ($CLIPGRID_PRECISION), the reference's Python and its
 * --device/--half: tests/bench/bench_methods.h. Not a test: it asserts nothing about speed.
 *   bench_methods_deep [threads (0 = all)] [reps (2)] [--no-ref] [--methods maple,mudpt,mmrl] */
#include "core/methods/zeroshot.h"
#include "tests/bench/bench_methods.h"

#define N_CLASSES 50
#define MAX_BATCH 64
#define VOCAB_PATH "data/clip/bpe_simple_vocab_16e6.txt.gz"

static int BATCH = 4;

static const char *const NAMES[N_CLASSES] = {
    "face", "leopard", "motorbike", "accordion", "airplane", "anchor", "ant", "barrel", "bass",
    "beaver", "binocular", "bonsai", "brain", "brontosaurus", "buddha", "butterfly", "camera",
    "cannon", "car_side", "ceiling_fan", "cellphone", "chair", "chandelier", "cougar_body",
    "cougar_face", "crab", "crayfish", "crocodile", "crocodile_head", "cup", "dalmatian",
    "dollar_bill", "dolphin", "dragonfly", "electric_guitar", "elephant", "emu", "euphonium",
    "ewer", "ferry", "flamingo", "flamingo_head", "garfield", "gerenuk", "gramophone",
    "grand_piano", "hawksbill", "headphone", "hedgehog", "helicopter"};

/* ms of the fastest of `reps` steps after one warm-up step; *cpu_ms its process CPU time */
static double bench_method(const ClipModel *clip, const Tokenizer *tok, MethodKind kind,
                           const float *images, const int *labels, int reps, double *cpu_ms) {
    MethodEnv env = {.clip = clip, .tok = tok, .seed = 1};
    method_config_defaults(&env.cfg, kind, "base2new", "caltech101");
    env.cfg.kind = kind;
    snprintf(env.dataset, sizeof env.dataset, "caltech101");
    Method *m = method_create(&env);
    if (!m || method_set_classes(m, NAMES, N_CLASSES, "caltech101"))
        cg_fatal("%s: %s", method_name(kind), cg_error());
    Optimizer o;
    if (optim_init(&o, &env.cfg.train, m->params.n)) cg_fatal("%s", cg_error());
    double best = 1e30, best_cpu = 1e30;
    bench_sync(images);
    for (int r = 0; r < reps + 1; r++) {
        double t = cg_now(), c = bench_cpu_now();
        if (train_step(m, &o, images, labels, BATCH, BATCH, env.cfg.train.lr, NULL) != 0)
            cg_fatal("%s", cg_error());
        bench_sync(m->params.data);
        t = cg_now() - t, c = bench_cpu_now() - c;
        if (r > 0 && t < best) best = t;
        if (r > 0 && c < best_cpu) best_cpu = c;
    }
    *cpu_ms = 1000 * best_cpu;
    printf("  %-6s %zu learnable values, batch %d, %d classes: %.1f ms per step (CPU %.1f ms)\n",
           method_name(kind), m->params.n, BATCH, N_CLASSES, 1000 * best, *cpu_ms);
    fflush(stdout);
    optim_free(&o);
    method_free(m);
    return 1000 * best;
}

/* runs the PyTorch reference; fills ref_ms[kind], ref_cpu[kind] from its "<name>_ms X CPU"
 * lines */
static void run_reference(int threads, int reps, const char *methods, const Tokenizer *tok,
                          double ref_ms[METHOD_COUNT], double ref_cpu[METHOD_COUNT]) {
    ClassPrompts p;
    if (prompts_build(&p, tok, "a photo of a {}.", NAMES, N_CLASSES, TOKENIZER_CONTEXT)) cg_fatal("%s", cg_error());
    char cmd[2048];
    int len = snprintf(cmd, sizeof cmd,
                       "%s tests/reference/methods_deep_bench_ref.py --threads %d --reps %d "
                       "--classes %d --batch %d --methods %s %s --eot ", bench_python(),
                       threads, reps, N_CLASSES, BATCH, methods, bench_ref_options());
    for (int c = 0; c < N_CLASSES; c++)
        len += snprintf(cmd + len, sizeof cmd - len, "%s%d", c ? "," : "", p.eot[c]);
    prompts_free(&p);
    FILE *f = popen(cmd, "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char name[32];
        double ms, cpu;
        if (sscanf(line, "%31[a-z]_ms %lf %lf", name, &ms, &cpu) == 3) {
            int k = method_kind_from_name(name);
            if (k >= 0) ref_ms[k] = ms, ref_cpu[k] = cpu;
        } else {
            printf("  reference: %s", line);
        }
    }
    pclose(f);
}

int main(int argc, char **argv) {
    int threads = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 0;
    int reps = argc > 2 && argv[2][0] != '-' ? atoi(argv[2]) : 2;
    int with_ref = 1;
    const char *methods = "maple,mudpt,mmrl";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-ref")) with_ref = 0;
        if (!strcmp(argv[i], "--methods") && i + 1 < argc) methods = argv[++i];
    }
    BATCH = bench_batch("BENCH_BATCH_DEEP", 4);
    if (BATCH > MAX_BATCH) cg_fatal("BENCH_BATCH_DEEP %d: at most %d", BATCH, MAX_BATCH);
    bench_backend_init(threads);
    Tokenizer *tok = tokenizer_load(VOCAB_PATH);
    if (!tok) cg_fatal("%s", cg_error());
    ClipConfig cfg;
    ClipModel clip;
    if (clip_config_from_arch(&cfg, "ViT-B/16") || clip_random_model(&clip, &cfg, 1))
        cg_fatal("%s", cg_error());
    size_t n = (size_t)BATCH * 3 * cfg.image_res * cfg.image_res;
    float *h = cg_malloc(n * sizeof(float)), *images = k_alloc(n);
    clip_random_fill_host(h, n, "bench.methods.images", 1, 0.0, 1.0);
    k_upload(images, h, n);
    free(h);
    int labels[MAX_BATCH];
    const int first4[4] = {3, 17, 42, 8}; /* then shifted by 4 per further 4 images */
    for (int i = 0; i < BATCH; i++) labels[i] = (first4[i % 4] + 4 * (i / 4)) % N_CLASSES;
    printf("bench_methods_deep: ViT-B/16 random weights, %d threads, fastest of %d steps\n",
           k_threads(), reps);
    double ms[METHOD_COUNT] = {0}, cpu[METHOD_COUNT] = {0};
    double ref[METHOD_COUNT] = {0}, ref_cpu[METHOD_COUNT] = {0};
    const MethodKind kinds[3] = {method_kind_from_name("maple"), method_kind_from_name("mudpt"), method_kind_from_name("mmrl")};
    for (int i = 0; i < 3; i++)
        if (strstr(methods, method_name(kinds[i])))
            ms[kinds[i]] = bench_method(&clip, tok, kinds[i], images, labels, reps, &cpu[kinds[i]]);
    k_free(images);
    clip_model_free(&clip);
    if (with_ref) {
        printf("--- the official computation in PyTorch, same machine, %d threads %s\n", k_threads(),
               bench_ref_options());
        fflush(stdout);
        run_reference(k_threads(), reps, methods, tok, ref, ref_cpu);
    }
    printf("method  clipgrid ms  PyTorch ms  speed-up | CPU ms: clipgrid  PyTorch  speed-up"
           "  (target >= 2.4x)\n");
    for (int i = 0; i < 3; i++) {
        MethodKind k = kinds[i];
        if (ms[k] <= 0) continue;
        if (ref[k] > 0)
            printf("%-7s %11.1f %11.1f  %7.2fx |        %9.1f %8.1f  %7.2fx\n", method_name(k), ms[k],
                   ref[k], ref[k] / ms[k], cpu[k], ref_cpu[k], ref_cpu[k] / cpu[k]);
        else printf("%-7s %11.1f %11s  -\n", method_name(k), ms[k], "n/a");
    }
    tokenizer_free(tok);
    return 0;
}
