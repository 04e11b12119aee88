/* core/methods/method_deep.h — what MaPLe, MuDPT and MMRL (core/methods/method_maple.c, method_mudpt.c,
 * method_mmrl.c) share besides their skeleton (core/methods/prompted.h): initialising learnable
 * tensors from the run's random streams (normal, uniform, constant, copies, word embeddings),
 * and a few small tensor helpers. */
#ifndef CLIPGRID_CORE_METHOD_DEEP_H
#define CLIPGRID_CORE_METHOD_DEEP_H

#include "core/model/clip_tower.h"
#include "core/methods/cos_head.h"
#include "core/methods/method.h"
#include "core/methods/method_impl.h"
#include "core/methods/zeroshot.h"

/* ---- initial values (host draws from cg_rng streams keyed by seed and tensor name) --------- */

void deep_init_normal(Method *m, const char *name, double std);
void deep_init_uniform(Method *m, const char *name, double bound);  /* U(−bound, bound) */
void deep_init_const(Method *m, const char *name, float value);
void deep_init_copy(Method *m, const char *dst, const char *src);
/* rows 1..n of the token embeddings of `phrase` (CoOp's context initialisation); −1 with cg_error */
int deep_init_words(Method *m, const char *name, const char *phrase, int n);
/* declare a tensor by name and shape (up to 3 dims; trailing zeros end the list) */
void deep_declare(Method *m, const char *name, int d0, int d1, int d2);
/* PyTorch's default nn.Linear initialisation bound 1/sqrt(fan_in) */
double deep_linear_bound(int fan_in);

/* ---- helpers ------------------------------------------------------------------------------ */

/* y (+)= alpha·x over n floats, through the ops (scratch copy) */
void deep_axpy(float *y, float alpha, const float *x, size_t n);
/* Σ_i x[i]·y[i] over n floats (device), as a double on the host */
double deep_dot(const float *x, const float *y, size_t n);
/* one number as a 0-d record */
void deep_record_scalar(Method *m, const char *name, double v);
/* a device tensor as a record with up to 3 dims (trailing zeros end the list) */
void deep_record(Method *m, const char *name, const float *dev, int d0, int d1, int d2);
/* the logits of a device [B,C] tensor into host memory */
void deep_logits_to_host(float *host, const float *dev, int B, int C);

#endif
