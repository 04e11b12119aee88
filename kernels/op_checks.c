/* kernels/op_checks.c — the backend-independent argument checks of kernels/op_checks.h. */
#include "kernels/op_checks.h"

#include "base/util.h"

void k_check_dims(const char *fn, int n, int k, int m) {
    if (n <= 0 || k <= 0 || m <= 0)
        cg_fatal("%s: n=%d k=%d m=%d must be positive", fn, n, k, m);
}

void k_check_layout(const char *fn, KWLayout layout) {
    if (layout != K_W_OUT_IN && layout != K_W_IN_OUT)
        cg_fatal("%s: layout %d must be K_W_OUT_IN (0) or K_W_IN_OUT (1)", fn, (int)layout);
}

void k_check_attn_shape(const char *fn, const KAttnShape *s) {
    if (!s) cg_fatal("%s: shape must not be NULL", fn);
    if (s->B <= 0 || s->Tq <= 0 || s->Tk <= 0 || s->heads <= 0 || s->dh <= 0)
        cg_fatal("%s: B=%d Tq=%d Tk=%d heads=%d dh=%d must be positive", fn, s->B, s->Tq,
                 s->Tk, s->heads, s->dh);
    int w = s->heads * s->dh;
    if (s->ld_q < w || s->ld_kv < w || s->ld_o < w)
        cg_fatal("%s: row strides ld_q=%d ld_kv=%d ld_o=%d must be >= heads*dh=%d", fn,
                 s->ld_q, s->ld_kv, s->ld_o, w);
    if (s->causal && s->q_pos)
        for (int i = 0; i < s->B * s->Tq; i++)
            if (s->q_pos[i] < 0)
                cg_fatal("%s: q_pos[%d]=%d must be >= 0", fn, i, s->q_pos[i]);
}
