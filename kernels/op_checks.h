/* kernels/op_checks.h — the argument checks every backend makes before a matrix product or an
 * attention call (the same fatal messages on the CPU and on the GPU), written once. */
#ifndef CLIPGRID_KERNELS_OP_CHECKS_H
#define CLIPGRID_KERNELS_OP_CHECKS_H

#include "kernels/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* n, k, m > 0 */
void k_check_dims(const char *fn, int n, int k, int m);
/* K_W_OUT_IN or K_W_IN_OUT */
void k_check_layout(const char *fn, KWLayout layout);
/* positive sizes, row strides >= heads·dh, non-negative query positions */
void k_check_attn_shape(const char *fn, const KAttnShape *s);

#ifdef __cplusplus
}
#endif

#endif
