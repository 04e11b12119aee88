/* tests/test_thread_invariance.c — every CPU op of the pretraining path gives the same bits on
 * 1, 2 and 3 threads (kernels/cpu: products cut into a grid of tiles that depends on the shape
 * only, LayerNorm's γ/β gradients summed over fixed row chunks, every other reduction per row,
 * per column block or in a fixed order). Shapes: the demo model's pretraining (batch 32, widths
 * 64: 544 vision rows, 2464 text rows, MLP 256) and a larger product above the tiling threshold.
 * A failure names the op and the number of differing elements. */
#include <stdlib.h>
#include <string.h>

#include "kernels/ops.h"
#include "tests/testlib.h"

enum { NOUT = 24 };
static float *outs[4][NOUT]; /* [threads][output] host copies */
static size_t lens[NOUT];
static const char *names[NOUT];
static int nout;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float *dev_rand(size_t n, float scale) {
    float *h = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
        h[i] = scale * ((float)((rng * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f - 0.5f);
    }
    float *d = k_alloc(n);
    k_upload(d, h, n);
    free(h);
    return d;
}

static void keep(int T, const char *name, const float *d, size_t n) {
    float *h = malloc(n * sizeof(float));
    k_download(h, d, n);
    outs[T][nout] = h, lens[nout] = n, names[nout] = name;
    nout++;
}

typedef struct { int n, k, m; } Shape;

/* the ops on fixed random inputs (the same for every thread count: rng is reset) */
static void run_ops(int T, Shape s) {
    rng = 0x2545F4914F6CDD1Dull;
    nout = 0;
    int n = s.n, k = s.k, m = s.m;
    float *x = dev_rand((size_t)n * k, 2), *w = dev_rand((size_t)m * k, 0.2f);
    float *b = dev_rand(m, 0.1f), *dy = dev_rand((size_t)n * m, 1);
    float *y = k_alloc((size_t)n * m), *dx = k_alloc((size_t)n * k);
    op_matmul(y, x, w, b, n, k, m, K_W_OUT_IN, 0);
    keep(T, "op_matmul OUT_IN", y, (size_t)n * m);
    op_matmul(y, x, w, NULL, n, k, m, K_W_IN_OUT, 1);
    keep(T, "op_matmul IN_OUT acc", y, (size_t)n * m);
    op_matmul_backward(dx, dy, w, n, k, m, K_W_OUT_IN, 0);
    keep(T, "op_matmul_backward", dx, (size_t)n * k);
    float *dw = k_alloc((size_t)m * k), *db = k_alloc(m);
    op_matmul_weight_grad(dw, db, dy, x, n, k, m, K_W_OUT_IN);
    op_matmul_weight_grad(dw, db, dy, x, n, k, m, K_W_IN_OUT);
    keep(T, "op_matmul_weight_grad dw", dw, (size_t)m * k);
    keep(T, "op_matmul_weight_grad db", db, m);
    op_dense_backward(dx, dw, db, dy, x, w, n, k, m, 1);
    keep(T, "op_dense_backward dw", dw, (size_t)m * k);
    keep(T, "op_dense_backward dx", dx, (size_t)n * k);
    /* LayerNorm over k, with γ/β gradients */
    float *g = dev_rand(k, 1), *be = dev_rand(k, 1), *mu = k_alloc(n), *rs = k_alloc(n);
    float *ln = k_alloc((size_t)n * k), *dg = k_alloc(k), *dbe = k_alloc(k);
    op_layernorm(ln, mu, rs, x, g, be, n, k, 1e-5f);
    op_layernorm_backward(dx, dg, dbe, ln, x, mu, rs, g, n, k, 1);
    keep(T, "op_layernorm_backward dx", dx, (size_t)n * k);
    keep(T, "op_layernorm_backward dgamma", dg, k);
    keep(T, "op_layernorm_backward dbeta", dbe, k);
    op_quickgelu_backward(dx, ln, x, (size_t)n * k, 1);
    keep(T, "op_quickgelu_backward", dx, (size_t)n * k);
    /* attention: batches of 32 rows, 2 heads, causal (the text tower) */
    int Tn = 32, B = n / Tn, d = k / 3 * 3 == k ? k / 3 : 16, h = 2;
    KAttnShape as = {.B = B, .Tq = Tn, .Tk = Tn, .heads = h, .dh = d / h, .ld_q = k, .ld_kv = k,
                     .ld_o = k, .causal = 1, .scale = 0.25f};
    float *o = k_alloc((size_t)B * Tn * k), *pr = k_alloc((size_t)B * h * Tn * Tn);
    float *dq = k_alloc((size_t)B * Tn * k);
    op_attention(o, pr, x, x + d, x + 2 * d, &as);
    op_attention_backward(dq, dq + d, dq + 2 * d, o, pr, x, x + d, x + 2 * d, &as, 0);
    keep(T, "op_attention_backward", dq, (size_t)B * Tn * k);
    /* features, logits, loss, batch sums, scatter-add, AdamW */
    float *nrm = k_alloc(n), *f = k_alloc((size_t)n * k);
    op_l2norm(f, nrm, x, n, k);
    op_l2norm_backward(dx, dq, f, nrm, n, k, 0);
    keep(T, "op_l2norm_backward", dx, (size_t)n * k);
    float *lg = k_alloc((size_t)n * 64), *dl = k_alloc((size_t)n * 64);
    int *lab = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) lab[i] = i % 64;
    op_matmul(lg, x, x, NULL, n, k, 64, K_W_OUT_IN, 0);
    float loss = (float)op_cross_entropy(dl, lg, lab, n, 64, 1.0f);
    float dot = (float)op_dot(dl, lg, (size_t)n * 64);
    float *sc = k_alloc(2);
    k_fill(sc, loss, 1), k_fill(sc + 1, dot, 1);
    keep(T, "op_cross_entropy loss, op_dot", sc, 2);
    keep(T, "op_cross_entropy dlogits", dl, (size_t)n * 64);
    float *sb = k_alloc((size_t)Tn * k);
    op_sum_batched(sb, x, (size_t)Tn * k, B, (size_t)Tn * k, 1);
    keep(T, "op_sum_batched", sb, (size_t)Tn * k);
    float *emb = k_alloc((size_t)100 * k);
    int *tok = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) tok[i] = (i * 7) % 100;
    op_scatter_add_rows(emb, x, tok, n, k);
    keep(T, "op_scatter_add_rows", emb, (size_t)100 * k);
    float *mm = k_alloc((size_t)m * k), *vv = k_alloc((size_t)m * k);
    op_adamw_step(w, mm, vv, dw, (size_t)m * k, 1e-3f, 0.9f, 0.98f, 1e-6f, 0.1f, 0.1f, 0.1f);
    keep(T, "op_adamw_step", w, (size_t)m * k);
    float *bufs[] = {x, w, b, dy, y, dx, dw, db, g, be, mu, rs, ln, dg, dbe, o, pr, dq,
                     nrm, f, lg, dl, sc, sb, emb, mm, vv};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) k_free(bufs[i]);
    free(lab), free(tok);
}

static void compare(Shape s) {
    for (int T = 1; T <= 3; T++) {
        k_init_cpu(T);
        run_ops(T, s);
    }
    for (int i = 0; i < nout; i++) {
        for (int T = 2; T <= 3; T++) {
            size_t diff = 0;
            for (size_t j = 0; j < lens[i]; j++)
                diff += memcmp(&outs[1][i][j], &outs[T][i][j], sizeof(float)) != 0;
            CHECK(diff == 0, "n=%d k=%d m=%d %s: %zu of %zu elements differ on 1 and %d threads",
                  s.n, s.k, s.m, names[i], diff, lens[i], T);
        }
        for (int T = 1; T <= 3; T++) free(outs[T][i]);
    }
    printf("n=%d k=%d m=%d: %d outputs compared on 1, 2 and 3 threads\n", s.n, s.k, s.m, nout);
}

int main(void) {
    const Shape shapes[] = {{544, 64, 256}, {2464, 64, 192}, {2464, 256, 64}, {1024, 384, 768}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) compare(shapes[i]);
    return test_finish("test_thread_invariance");
}
