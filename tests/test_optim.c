/* tests/test_optim.c — Dassl's optimisers and schedule: SGD (momentum, weight decay, first-step
 * buffer) and AdamW (decoupled decay, bias correction) against hand-computed float64 values over
 * three steps; the per-epoch learning rates of protocol.md §4 (T = 10) and methods.md §1.7/§2.7
 * (T = 5, T = 10 AdamW, WARMUP_EPOCH 0); export/import of the state continues bit-exactly. */
#include <math.h>
#include <string.h>

#include "core/methods/registry.h"
#include "core/optim/optim.h"
#include "kernels/ops.h"
#include "tests/testlib.h"

#define N 5
static const float P0[N] = {0.5f, -0.25f, 0.0f, 1.5f, -2.0f};
static const float G[3][N] = {{0.1f, -0.2f, 0.3f, 0.0f, 1e-3f},
                              {-0.05f, 0.4f, 0.1f, 0.2f, -1e-3f},
                              {0.02f, 0.0f, -0.3f, 0.7f, 2e-3f}};
static const double LR[3] = {0.002, 0.002, 0.0015};

static TrainConfig cfg_of(const char *opt) {
    MethodConfig c;
    method_config_defaults(&c, method_kind_from_name("coop"), "base2new", "caltech101");
    strcpy(c.train.optim, opt);
    return c.train;
}

/* run 3 steps on the device; result in out */
static void run_steps(const char *opt, float *out, int split) {
    TrainConfig c = cfg_of(opt);
    Optimizer o;
    optim_init(&o, &c, N);
    float *p = k_alloc(N), *g = k_alloc(N);
    k_upload(p, P0, N);
    for (int s = 0; s < 3; s++) {
        if (split && s == 1) { /* checkpoint round trip after the first step */
            float st[2 * N];
            long steps = o.steps;
            optim_export(&o, st);
            optim_free(&o);
            optim_init(&o, &c, N);
            optim_import(&o, st, steps);
        }
        k_upload(g, G[s], N);
        optim_step(&o, p, g, LR[s]);
    }
    k_download(out, p, N);
    k_free(p), k_free(g);
    optim_free(&o);
}

static void test_sgd(void) {
    double p[N], buf[N];
    for (int i = 0; i < N; i++) p[i] = P0[i];
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < N; i++) {
            double g = G[s][i] + 5e-4 * p[i];
            buf[i] = s == 0 ? g : 0.9 * buf[i] + g;
            p[i] -= LR[s] * buf[i];
        }
    float got[N], ref[N], again[N];
    for (int i = 0; i < N; i++) ref[i] = (float)p[i];
    run_steps("sgd", got, 0);
    double err = 0;
    for (int i = 0; i < N; i++) err = fmax(err, fabs(got[i] - p[i]));
    printf("  SGD 3 steps: max abs err vs float64 %.2e\n", err);
    CHECK(err < 2e-7, "SGD differs from the hand computation by %g", err);
    run_steps("sgd", again, 1);
    CHECK(!memcmp(got, again, sizeof got), "SGD: export/import changes the trajectory");
    (void)ref;
}

static void test_adamw(void) {
    double p[N], m[N] = {0}, v[N] = {0}, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 5e-4;
    for (int i = 0; i < N; i++) p[i] = P0[i];
    for (int s = 0; s < 3; s++) {
        double bc1 = 1 - pow(b1, s + 1), bc2 = 1 - pow(b2, s + 1);
        for (int i = 0; i < N; i++) {
            double g = G[s][i];
            p[i] *= 1 - LR[s] * wd;
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            p[i] -= LR[s] / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + eps);
        }
    }
    float got[N], again[N];
    run_steps("adamw", got, 0);
    double err = 0;
    for (int i = 0; i < N; i++) err = fmax(err, fabs(got[i] - p[i]));
    printf("  AdamW 3 steps: max abs err vs float64 %.2e\n", err);
    CHECK(err < 1e-6, "AdamW differs from the hand computation by %g", err);
    CHECK(fabs(got[2] - p[2]) < 1e-7, "AdamW: element with g = 0 at step 1");
    run_steps("adamw", again, 1);
    CHECK(!memcmp(got, again, sizeof got), "AdamW: export/import changes the trajectory");
}

static void check_schedule(const char *name, TrainConfig c, const double *want, int n, double rel) {
    double worst = 0;
    for (int e = 0; e < n; e++) {
        double got = lr_at_epoch(&c, e), err = fabs(got - want[e]) / want[e];
        if (err > worst) worst = err;
        CHECK(err <= rel, "%s epoch %d: lr %.8g, expected %.8g", name, e, got, want[e]);
    }
    printf("  %-40s max rel err %.2e\n", name, worst);
}

static void test_schedule(void) {
    TrainConfig c = cfg_of("sgd");
    c.epochs = 10, c.lr = 0.002, c.warmup_epochs = 1, c.warmup_lr = 1e-5;
    /* protocol.md §4, printed to 5 significant digits */
    static const double coop10[] = {1e-5, 0.002, 0.0019511, 0.0018090, 0.0015878, 0.0013090,
                                    0.001, 0.00069098, 0.00041221, 0.00019098};
    check_schedule("CoOp/CoCoOp T=10 warm-up 1 (protocol §4)", c, coop10, 10, 5e-5);
    c.epochs = 5, c.lr = 0.0035;
    static const double maple5[] = {1e-5, 3.5e-3, 3.16578e-3, 2.29078e-3, 1.20922e-3};
    check_schedule("MaPLe T=5 (methods §1.7)", c, maple5, 5, 5e-5);
    c.epochs = 10, c.lr = 1e-3;
    static const double mmrl10[] = {1e-5, 1e-3, 9.7553e-4, 9.0451e-4, 7.9389e-4, 6.5451e-4,
                                    5.0e-4, 3.4549e-4, 2.0611e-4, 9.549e-5};
    check_schedule("MMRL T=10 (methods §2.7)", c, mmrl10, 10, 5e-5);
    c.epochs = 1, c.warmup_epochs = 0;
    static const double xd1[] = {1e-3};
    check_schedule("MMRL cross-dataset T=1 warm-up 0", c, xd1, 1, 1e-15);
    c.epochs = 4;
    static const double w0[] = {1e-3, 1e-3 * (1 + cos(M_PI / 4)) / 2, 5e-4,
                                1e-3 * (1 + cos(3 * M_PI / 4)) / 2};
    check_schedule("warm-up 0, T=4: lr(1+cos(pi e/T))/2", c, w0, 4, 1e-15);
}

static void test_bad_name(void) {
    TrainConfig c = cfg_of("rmsprop");
    Optimizer o;
    CHECK(optim_init(&o, &c, 3) == -1, "an unknown optimiser name is accepted");
}

int main(void) {
    k_init_cpu(1);
    test_sgd();
    test_adamw();
    test_schedule();
    test_bad_name();
    return test_finish("test_optim");
}
